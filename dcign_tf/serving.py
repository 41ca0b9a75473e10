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

import tensorflow as tf

ENCODER = "encoder"
DECODER = "decoder"
METADATA_FILE = "dcign.json"


class EncoderModule(tf.Module):
  """Images -> posterior mean and standard deviation of the graphics code.

  Signatures:
    serving_default: images float32 [batch, S, S, C] in [0, 1] ->
      {"mean", "stddev"} float32 [batch, N].
    encode_image_bytes: image_bytes string [batch] (PNG or JPEG, any size,
      colour or gray) -> the same outputs; decoding, conversion to the
      model's channels and resizing happen in the graph.
  """

  def __init__(self, model):
    super().__init__(name="dcign_encoder")
    self.encoder = model.encoder
    network = model.network
    self.image_size = int(network.image_size)
    self.channels = int(network.channels)
    self.latent_size = int(network.latent_size)

  def _check_images(self, images):
    wanted = tf.constant([self.image_size, self.image_size, self.channels])
    # Reductions over a flat view: they hold whatever the rank.
    flat = tf.reshape(images, [-1])
    rank_ok = tf.equal(tf.rank(images), 4)
    # Padded to 4 entries, the shape can be compared whatever the rank.
    padded = tf.concat([tf.shape(images), [-1, -1, -1, -1]], 0)[:4]
    size_ok = rank_ok & tf.reduce_all(tf.equal(padded[1:], wanted))
    checks = [
        tf.debugging.Assert(size_ok, [
            f"images must be [batch, {self.image_size}, {self.image_size}, "
            f"{self.channels}] (rank 4), got shape", tf.shape(images)]),
        tf.debugging.assert_all_finite(flat, message=(
            "images must not hold NaN or Inf")),
        tf.debugging.Assert(
            tf.reduce_all((flat >= 0.0) & (flat <= 1.0) |
                          tf.math.is_nan(flat), axis=0),
            ["image values must lie in [0, 1], got min and max",
             tf.reduce_min(flat, axis=0), tf.reduce_max(flat, axis=0)]),
    ]
    with tf.control_dependencies(checks):
      return tf.ensure_shape(tf.identity(images), [None, self.image_size,
                                                   self.image_size,
                                                   self.channels])

  def _encode(self, images):
    loc, log_variance = self.encoder(images)
    return {"mean": tf.identity(loc, name="mean"),
            "stddev": tf.exp(0.5 * log_variance, name="stddev")}

  # Any rank is accepted so that a wrong one reaches the checks (and the
  # caller) as a clear error rather than as a failure inside the network.
  @tf.function(input_signature=[tf.TensorSpec(None, tf.float32,
                                              name="images")])
  def serving_default(self, images):
    return self._encode(self._check_images(images))

  def _decode_one(self, data):
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    if self.channels == 1:
      image = tf.image.rgb_to_grayscale(image)
    image = tf.image.resize(image, [self.image_size, self.image_size],
                            method="area", antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string,
                                              name="image_bytes")])
  def encode_image_bytes(self, image_bytes):
    images = tf.map_fn(
        self._decode_one, image_bytes,
        fn_output_signature=tf.TensorSpec(
            [self.image_size, self.image_size, self.channels], tf.float32))
    return self._encode(images)


class DecoderModule(tf.Module):
  """Graphics codes -> images.

  Signature serving_default: latents float32 [batch, N] -> {"images"}
  float32 [batch, S, S, C] in [0, 1].
  """

  def __init__(self, model):
    super().__init__(name="dcign_decoder")
    self.decoder = model.decoder
    self.latent_size = int(model.network.latent_size)

  @tf.function(input_signature=[tf.TensorSpec(None, tf.float32,
                                              name="latents")])
  def serving_default(self, latents):
    shape = tf.shape(latents)
    padded = tf.concat([shape, [-1, -1]], 0)[:2]
    shape_ok = tf.equal(tf.size(shape), 2) & tf.equal(padded[1],
                                                      self.latent_size)
    checks = [
        tf.debugging.Assert(shape_ok, [
            f"latents must be [batch, {self.latent_size}], got shape",
            shape]),
        tf.debugging.assert_all_finite(latents, message=(
            "latents must not hold NaN or Inf")),
    ]
    with tf.control_dependencies(checks):
      logits = self.decoder(tf.ensure_shape(tf.identity(latents),
                                            [None, self.latent_size]))
    return {"images": tf.sigmoid(logits, name="images")}


def existing_versions(base: str) -> list:
  """The integer version folders under a model's base path, ascending."""
  if not os.path.isdir(base):
    return []
  return sorted(int(name) for name in os.listdir(base)
                if name.isdigit() and os.path.isdir(os.path.join(base, name)))


def next_version(base: str) -> int:
  versions = existing_versions(base)
  return versions[-1] + 1 if versions else 1


def export_version(module: tf.Module, signatures: dict, base: str,
                   version: Optional[int] = None,
                   metadata: Optional[dict] = None) -> str:
  """Writes `module` as SavedModel version `version` (default: the next one)
  under `base`, atomically; never overwrites an existing version.

  Args:
    module: the tf.Module to save.
    signatures: signature name -> concrete function or tf.function.
    base: the model's base path (TF Serving's `base_path`).
    version: a positive integer not yet used under `base`.
    metadata: written as assets/dcign.json, for clients.

  Returns:
    The version folder.
  """
  if version is None:
    version = next_version(base)
  if isinstance(version, bool) or int(version) != version or version < 1:
    raise ValueError(f"A version must be an integer >= 1, got {version!r}.")
  final = os.path.join(base, str(int(version)))
  if os.path.exists(final):
    raise ValueError(f"Version {version} already exists at {final}; versions "
                     "are never overwritten (omit --version to take the next "
                     "one).")
  os.makedirs(base, exist_ok=True)
  # A hidden, non-numeric sibling: TF Serving ignores it until the rename.
  staging = tempfile.mkdtemp(prefix=".tmp-", dir=base)
  try:
    assets = os.path.join(staging, "assets")
    os.makedirs(assets, exist_ok=True)
    if metadata is not None:
      with open(os.path.join(assets, METADATA_FILE), "w") as stream:
        json.dump(metadata, stream, indent=2, sort_keys=True)
    tf.saved_model.save(module, staging, signatures=signatures)
    os.rename(staging, final)
  finally:
    if os.path.exists(staging):
      shutil.rmtree(staging)
  return final


def models_config(export_dir: str, names=(ENCODER, DECODER)) -> str:
  """TF Serving's model_config_list (text proto) serving every model."""
  entries = []
  for name in names:
    entries.append(
        "  config {\n"
        f"    name: \"{name}\"\n"
        f"    base_path: \"{os.path.abspath(os.path.join(export_dir, name))}\"\n"
        "    model_platform: \"tensorflow\"\n"
        "  }\n")
  return "model_config_list {\n" + "".join(entries) + "}\n"
