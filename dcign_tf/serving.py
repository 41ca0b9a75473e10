"""Encoder and decoder as self-contained SavedModels for TF Serving.

A trained DC-IGN is served as two models: the encoder (an image to its
graphics code) and the decoder (a graphics code to an image). Each is a
`tf.Module` whose signatures hold every check and every preprocessing step
in the graph, so TF Serving, or any TensorFlow process, runs them without
dcign_tf.

TF Serving loads every numeric folder under a model's base path as soon as
it appears, so `export_version` writes to a hidden sibling and renames it
into place: a version folder is either complete or absent.
"""

import json
import os
import shutil
import tempfile
from typing import Optional

import numpy as np
import tensorflow as tf

from dcign_tf import losses
from dcign_tf import luma
from dcign_tf import polyphase

ENCODER = "encoder"
DECODER = "decoder"
METADATA_FILE = "dcign.json"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


class EncoderModule(tf.Module):
  """Images -> posterior mean and standard deviation of the graphics code.

  Signatures:
    serving_default: images float32 [batch, S, S, C] in [0, 1] ->
      {"mean", "stddev"} float32 [batch, N].
    encode_image_bytes: image_bytes string [batch] (PNG or JPEG, any size,
      colour or gray) -> the same outputs; decoding, conversion to the
      model's channels and resizing happen in the graph.

  `on_device` (a saved function, not a signature) is serving_default without
  the value checks, which TFLite has no ops for: export.tflite converts it.
  """

  def __init__(self, model):
    super().__init__(name="dcign_encoder")
    self.encoder = model.encoder
    network = model.network
    self.image_size = int(network.image_size)
    self.channels = int(network.channels)
    self.latent_size = int(network.latent_size)
    spec = tf.TensorSpec([None, self.image_size, self.image_size,
                          self.channels], tf.float32, name="images")
    self.serving_default = tf.function(
        lambda images: self._encode(self._check_images(images)),
        input_signature=[spec])
    # Any rank in the signature: TF Serving feeds a request's shape as it
    # is, and a [None] spec would let the graph optimiser assume rank 1
    # where a single string (rank 0) arrives. _encode_image_bytes checks.
    self.encode_image_bytes = tf.function(
        self._encode_image_bytes,
        input_signature=[tf.TensorSpec(None, tf.string,
                                       name="image_bytes")])
    self.on_device = tf.function(self._encode, input_signature=[spec])

  def signatures(self) -> dict:
    return {"serving_default": self.serving_default,
            "encode_image_bytes": self.encode_image_bytes}

  def _check_images(self, images):
    # The signature's static shape is not checked when a loaded SavedModel
    # is called (a wrong rank would reach the convolutions, which abort the
    # process); EnsureShape checks it at run time, naming both shapes.
    images = tf.ensure_shape(images, [None, self.image_size, self.image_size,
                                      self.channels])
    flat = tf.reshape(images, [-1])
    checks = [
        tf.debugging.assert_all_finite(flat, message=(
            "images must not hold NaN or Inf")),
        tf.debugging.Assert(
            tf.reduce_all((flat >= 0.0) & (flat <= 1.0) |
                          tf.math.is_nan(flat), axis=0),
            ["image values must lie in [0, 1], got min and max",
             tf.reduce_min(flat, axis=0), tf.reduce_max(flat, axis=0)]),
    ]
    with tf.control_dependencies(checks):
      return tf.identity(images)

  def _encode(self, images):
    loc, log_variance = self.encoder(images)
    return {"mean": tf.identity(loc, name="mean"),
            "stddev": tf.exp(0.5 * log_variance, name="stddev")}

  def _decode_one(self, data):
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    if self.channels == 1:
      # luma.BT601_WEIGHTS sum to exactly 1 (tf.image.rgb_to_grayscale's
      # to 0.9999, which darkens a gray image by 1e-4).
      image = tf.reduce_sum(image * tf.constant(luma.BT601_WEIGHTS),
                            axis=-1, keepdims=True)
    image = tf.image.resize(image, [self.image_size, self.image_size],
                            method="area", antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)

  def _encode_image_bytes(self, image_bytes):
    # One string is a batch of one; more than one dimension is refused.
    checks = [tf.debugging.assert_less_equal(
        tf.rank(image_bytes), 1, message="image_bytes must be one encoded "
        "image or a 1-D batch of them [batch]")]
    with tf.control_dependencies(checks):
      batch = tf.reshape(image_bytes, [-1])
    images = tf.map_fn(
        self._decode_one, batch,
        fn_output_signature=tf.TensorSpec(
            [self.image_size, self.image_size, self.channels], tf.float32))
    return self._encode(images)

  def warmup_inputs(self) -> list:
    """(signature, inputs) pairs for TF Serving's warm-up records."""
    return [("serving_default", {"images": np.full(
        (1, self.image_size, self.image_size, self.channels), 0.5,
        np.float32)})]


class DecoderModule(tf.Module):
  """Graphics codes -> images.

  Signature serving_default: latents float32 [batch, N] -> {"images"}
  float32 [batch, S, S, C] in [0, 1]. `on_device`, for TFLite, is the same
  without the finiteness check and with each upsampling + convolution stage
  computed at the low resolution (`polyphase`: equal up to float rounding,
  about 3x fewer multiply-adds for the paper's network).
  """

  def __init__(self, model):
    super().__init__(name="dcign_decoder")
    self.decoder = model.decoder
    self.likelihood = model.likelihood
    self.latent_size = int(model.network.latent_size)
    spec = tf.TensorSpec([None, self.latent_size], tf.float32,
                         name="latents")
    self.serving_default = tf.function(self._checked_decode,
                                       input_signature=[spec])
    self.on_device = tf.function(self._decode_on_device,
                                 input_signature=[spec])

  def signatures(self) -> dict:
    return {"serving_default": self.serving_default}

  def _decode_on_device(self, latents):
    return {"images": tf.identity(
        losses.pixels(polyphase.decode(self.decoder, latents),
                      self.likelihood), name="images")}

  def _decode(self, latents):
    return {"images": tf.identity(
        losses.pixels(self.decoder(latents), self.likelihood), name="images")}

  def _checked_decode(self, latents):
    # Checked at run time: see EncoderModule._check_images.
    latents = tf.ensure_shape(latents, [None, self.latent_size])
    check = tf.debugging.assert_all_finite(latents, message=(
        "latents must not hold NaN or Inf"))
    with tf.control_dependencies([check]):
      return self._decode(tf.identity(latents))

  def warmup_inputs(self) -> list:
    return [("serving_default",
             {"latents": np.zeros((1, self.latent_size), np.float32)})]


def warmup_records(model_name: str, requests: list) -> list:
  """TF Serving warm-up records: serialized PredictionLogs, one per
  (signature, {input name: array}) request, for
  assets.extra/tf_serving_warmup_requests."""
  # Imported here: only exports need TF Serving's protos.
  from tensorflow_serving.apis import model_pb2  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  records = []
  for signature, inputs in requests:
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(
        name=model_name, signature_name=signature))
    for name, value in inputs.items():
      request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request))
    records.append(log.SerializeToString())
  return records


def existing_versions(base: str) -> list:
  """The integer version folders under a model's base path, ascending."""
  if not os.path.isdir(base):
    return []
  return sorted(int(name) for name in os.listdir(base)
                if name.isdigit() and os.path.isdir(os.path.join(base, name)))


def next_version(base: str) -> int:
  versions = existing_versions(base)
  return versions[-1] + 1 if versions else 1


def check_version(base: str, version) -> str:
  """The folder of a new `version` under `base`; raises if it is not a
  positive integer or already exists."""
  if isinstance(version, bool) or int(version) != version or version < 1:
    raise ValueError(f"A version must be an integer >= 1, got {version!r}.")
  final = os.path.join(base, str(int(version)))
  if os.path.exists(final):
    raise ValueError(f"Version {version} already exists at {final}; versions "
                     "are never overwritten (omit --version to take the next "
                     "one).")
  return final


STAGING_PREFIX = ".tmp-"


def remove_abandoned_staging(base: str):
  """Removes staging folders left by exports that were killed: their names
  hold the writing process's id, and that process no longer exists."""
  if not os.path.isdir(base):
    return
  for name in os.listdir(base):
    if not name.startswith(STAGING_PREFIX):
      continue
    pid = name[len(STAGING_PREFIX):].split("-")[0]
    if pid.isdigit() and not _process_exists(int(pid)):
      shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def _process_exists(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def stage_version(module: tf.Module, signatures: dict, base: str,
                  metadata: Optional[dict] = None,
                  warmup: Optional[list] = None) -> str:
  """Writes `module` as a complete SavedModel in a hidden staging folder
  under `base` (TF Serving ignores non-numeric names) and returns it;
  `publish` renames it into place.

  Args:
    module: the tf.Module to save.
    signatures: signature name -> concrete function or tf.function.
    base: the model's base path (TF Serving's `base_path`).
    metadata: written as assets/dcign.json, for clients.
    warmup: serialized PredictionLogs (see `warmup_records`), written as
      assets.extra/tf_serving_warmup_requests.
  """
  os.makedirs(base, exist_ok=True)
  remove_abandoned_staging(base)
  staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                             dir=base)
  try:
    assets = os.path.join(staging, "assets")
    os.makedirs(assets, exist_ok=True)
    if metadata is not None:
      with open(os.path.join(assets, METADATA_FILE), "w") as stream:
        json.dump(metadata, stream, indent=2, sort_keys=True)
    tf.saved_model.save(module, staging, signatures=signatures)
    if warmup:
      os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
      with tf.io.TFRecordWriter(os.path.join(staging, WARMUP_FILE)) as writer:
        for record in warmup:
          writer.write(record)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  return staging


def publish(staging: str, final: str):
  """Renames a staged SavedModel to its version folder (atomic: one
  rename within the base path)."""
  if os.path.exists(final):
    shutil.rmtree(staging, ignore_errors=True)
    raise ValueError(f"Version folder {final} appeared during the export; "
                     "versions are never overwritten.")
  os.rename(staging, final)


def export_version(module: tf.Module, signatures: dict, base: str,
                   version: Optional[int] = None,
                   metadata: Optional[dict] = None,
                   warmup: Optional[list] = None) -> str:
  """Writes `module` as SavedModel version `version` (default: the next one)
  under `base`, atomically; never overwrites an existing version. See
  `stage_version` for the arguments. Returns the version folder."""
  final = check_version(base, next_version(base) if version is None
                        else version)
  publish(stage_version(module, signatures, base, metadata, warmup), final)
  return final


def complete_version(export_dir: str, names=(ENCODER, DECODER)):
  """The newest version present for every model of `names` (None when
  there is none): an export killed between its renames leaves a newer
  encoder without its decoder, which must not be served."""
  common = None
  for name in names:
    versions = set(existing_versions(os.path.join(export_dir, name)))
    common = versions if common is None else common & versions
  return max(common) if common else None


def models_config(export_dir: str, names=(ENCODER, DECODER),
                  version=None) -> str:
  """TF Serving's model_config_list (text proto) serving every model; with
  `version`, each model serves exactly that version (a complete pair)."""
  policy = ("" if version is None else
            "    model_version_policy {\n"
            f"      specific {{ versions: {int(version)} }}\n"
            "    }\n")
  entries = []
  for name in names:
    entries.append(
        "  config {\n"
        f"    name: \"{name}\"\n"
        f"    base_path: \"{os.path.abspath(os.path.join(export_dir, name))}\"\n"
        "    model_platform: \"tensorflow\"\n" + policy +
        "  }\n")
  return "model_config_list {\n" + "".join(entries) + "}\n"
