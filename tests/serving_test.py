"""Tests for dcign_tf.serving: SavedModels that run without dcign_tf."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcign_tf import configs
from dcign_tf import model as model_lib
from dcign_tf import serving

NETWORK = configs.NetworkConfig(
    image_size=16, latent_size=5, encoder_filters=(4, 4),
    encoder_kernels=(3, 3), decoder_filters=(4,), decoder_kernels=(3, 3),
    padding="same")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  model = model_lib.DCIGN(NETWORK, mirror_odd_factors=("azimuth",),
                          seed=0).build_for_images()
  root = tmp_path_factory.mktemp("export")
  encoder = serving.EncoderModule(model)
  decoder = serving.DecoderModule(model)
  paths = {
      "encoder": serving.export_version(
          encoder, encoder.signatures(), str(root / "encoder"),
          metadata={"image_size": 16},
          warmup=serving.warmup_records("encoder", encoder.warmup_inputs())),
      "decoder": serving.export_version(
          decoder, decoder.signatures(), str(root / "decoder"),
          warmup=serving.warmup_records("decoder", decoder.warmup_inputs())),
  }
  return model, root, paths


_FRESH = r"""
import json, sys
import numpy as np
import tensorflow as tf
request = json.load(open(sys.argv[1]))
encoder = tf.saved_model.load(request["encoder"])
decoder = tf.saved_model.load(request["decoder"])
images = tf.constant(request["images"], tf.float32)
encoded = encoder.signatures["serving_default"](images=images)
decoded = decoder.signatures["serving_default"](latents=encoded["mean"])
from_bytes = encoder.signatures["encode_image_bytes"](
    image_bytes=tf.constant([bytes.fromhex(request["png"])]))
assert not any(name.startswith("dcign_tf") for name in sys.modules)
json.dump({"mean": encoded["mean"].numpy().tolist(),
           "stddev": encoded["stddev"].numpy().tolist(),
           "images": decoded["images"].numpy().tolist(),
           "bytes_mean": from_bytes["mean"].numpy().tolist()},
          open(sys.argv[2], "w"))
"""


def _png(image):
  buffer = io.BytesIO()
  Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(
      buffer, format="PNG")
  return buffer.getvalue()


def test_saved_models_match_the_model_in_a_process_without_dcign_tf(
    exported, tmp_path):
  model, _, paths = exported
  images = np.random.default_rng(0).uniform(size=(3, 16, 16, 1)).astype(
      np.float32)
  # Quantised to 8 bits so that the PNG path sees the same pixels.
  images = np.round(images * 255) / 255
  request = tmp_path / "request.json"
  request.write_text(json.dumps({**paths, "images": images.tolist(),
                                 "png": _png(images[0]).hex()}))
  script = tmp_path / "fresh.py"
  script.write_text(_FRESH)
  environment = {key: value for key, value in os.environ.items()
                 if key != "PYTHONPATH"}
  subprocess.run([sys.executable, str(script), str(request),
                  str(tmp_path / "reply.json")], cwd=str(tmp_path),
                 env=environment, check=True, capture_output=True,
                 timeout=300)
  reply = json.loads((tmp_path / "reply.json").read_text())
  loc, log_variance = (np.asarray(t) for t in model.encoder(images))
  np.testing.assert_allclose(reply["mean"], loc, atol=1e-5)
  np.testing.assert_allclose(reply["stddev"], np.exp(0.5 * log_variance),
                             atol=1e-5)
  np.testing.assert_allclose(reply["images"], np.asarray(model.decode(loc)),
                             atol=1e-5)
  np.testing.assert_allclose(reply["bytes_mean"][0], loc[0], atol=1e-5)


@pytest.mark.parametrize("images", [
    np.zeros((2, 16, 16), np.float32),
    np.zeros((2, 8, 8, 1), np.float32),
    np.zeros((1, 16, 16, 3), np.float32),
])
def test_encoder_signature_refuses_other_shapes(exported, images):
  encoder = tf.saved_model.load(exported[2]["encoder"])
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"not compatible with expected shape \[\?,16,16,1\]"):
    encoder.signatures["serving_default"](images=tf.constant(images))


@pytest.mark.parametrize("images,message", [
    (np.full((1, 16, 16, 1), 1.5, np.float32), r"in \[0, 1\]"),
    (np.full((1, 16, 16, 1), np.nan, np.float32), "NaN or Inf"),
])
def test_encoder_refuses_bad_values(exported, images, message):
  encoder = tf.saved_model.load(exported[2]["encoder"])
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    encoder.signatures["serving_default"](images=tf.constant(images))


def test_decoder_and_bytes_refuse_bad_input(exported):
  decoder = tf.saved_model.load(exported[2]["decoder"])
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"\[2,4\] is not compatible with expected shape \[\?,5\]"):
    decoder.signatures["serving_default"](latents=tf.zeros([2, 4]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
    decoder.signatures["serving_default"](
        latents=tf.constant([[np.inf, 0, 0, 0, 0]], tf.float32))
  encoder = tf.saved_model.load(exported[2]["encoder"])
  with pytest.raises(tf.errors.InvalidArgumentError):
    encoder.signatures["encode_image_bytes"](
        image_bytes=tf.constant([b"not an image"]))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="image_bytes must be one encoded image or a 1-D "
                     "batch of them"):
    encoder.signatures["encode_image_bytes"](
        image_bytes=tf.constant([[b"a", b"b"]]))


def test_one_image_string_is_a_batch_of_one(exported):
  # A columnar REST request for one image sends a string, not a list.
  encoder = tf.saved_model.load(exported[2]["encoder"])
  stream = io.BytesIO()
  Image.fromarray(np.full((20, 20), 128, np.uint8)).save(stream, "PNG")
  signature = encoder.signatures["encode_image_bytes"]
  single = signature(image_bytes=tf.constant(stream.getvalue()))["mean"]
  batch = signature(image_bytes=tf.constant([stream.getvalue()]))["mean"]
  assert single.shape == (1, 5)
  np.testing.assert_array_equal(single.numpy(), batch.numpy())


def test_versions_count_up_and_are_never_overwritten(exported):
  model, root, paths = exported
  assert paths["encoder"].endswith(os.path.join("encoder", "1"))
  assert json.loads(open(os.path.join(
      paths["encoder"], "assets", serving.METADATA_FILE)).read()) == {
          "image_size": 16}
  decoder = serving.DecoderModule(model)
  signatures = {"serving_default": decoder.serving_default}
  second = serving.export_version(decoder, signatures, str(root / "decoder"))
  assert second.endswith(os.path.join("decoder", "2"))
  with pytest.raises(ValueError, match="Version 1 already exists"):
    serving.export_version(decoder, signatures, str(root / "decoder"), 1)
  with pytest.raises(ValueError, match="integer >= 1, got 0"):
    serving.export_version(decoder, signatures, str(root / "decoder"), 0)
  assert serving.existing_versions(str(root / "decoder")) == [1, 2]
  assert not [n for n in os.listdir(root / "decoder") if n.startswith(".")]


def test_models_config_serves_both(tmp_path):
  text = serving.models_config(str(tmp_path))
  assert text.count("config {") == 2
  assert f'base_path: "{tmp_path}/encoder"' in text
  assert 'model_platform: "tensorflow"' in text
  assert "model_version_policy" not in text  # The newest of each.


def test_models_config_pins_the_newest_complete_pair(tmp_path):
  for name, versions in (("encoder", (1, 2, 3)), ("decoder", (1, 2))):
    for version in versions:
      (tmp_path / name / str(version)).mkdir(parents=True)
  # An export killed between its renames left encoder/3 alone.
  assert serving.complete_version(str(tmp_path)) == 2
  text = serving.models_config(str(tmp_path), version=2)
  assert text.count("specific { versions: 2 }") == 2
  # The text proto parses as TF Serving's ModelServerConfig would read it.
  assert text.count("{") == text.count("}")
  assert serving.complete_version(str(tmp_path / "none")) is None


def test_saved_model_cli_lists_the_signatures(exported):
  paths = exported[2]
  shown = {}
  for name in ("encoder", "decoder"):
    shown[name] = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli",
         "show", "--dir", paths[name], "--all"], capture_output=True,
        text=True, check=True, timeout=300).stdout
  encoder, decoder = shown["encoder"], shown["decoder"]
  assert "signature_def['serving_default']" in encoder
  assert "signature_def['encode_image_bytes']" in encoder
  assert "inputs['images'] tensor_info:" in encoder
  assert "shape: (-1, 16, 16, 1)" in encoder
  assert "inputs['image_bytes'] tensor_info:" in encoder
  assert "outputs['mean'] tensor_info:" in encoder
  assert "outputs['stddev'] tensor_info:" in encoder
  assert "shape: (-1, 5)" in encoder
  assert "inputs['latents'] tensor_info:" in decoder
  assert "outputs['images'] tensor_info:" in decoder
  assert "shape: (-1, 5)" in decoder and "shape: (-1, 16, 16, 1)" in decoder
  # The TFLite function is saved on the object, not as a signature.
  assert "on_device" not in encoder.split("Concrete Functions")[0]


def test_warmup_records_are_requests_the_signatures_accept(exported):
  from tensorflow_serving.apis import prediction_log_pb2
  for name, path in exported[2].items():
    records = list(tf.data.TFRecordDataset(
        os.path.join(path, serving.WARMUP_FILE)).as_numpy_iterator())
    assert records, name
    loaded = tf.saved_model.load(path)
    for record in records:
      log = prediction_log_pb2.PredictionLog.FromString(record)
      request = log.predict_log.request
      assert request.model_spec.name == name
      signature = loaded.signatures[request.model_spec.signature_name]
      inputs = {key: tf.constant(tf.make_ndarray(value))
                for key, value in request.inputs.items()}
      outputs = signature(**inputs)
      assert all(np.all(np.isfinite(v)) for v in outputs.values())


def test_a_linear_mean_decoder_serves_its_means_clipped_to_pixels():
  model = model_lib.DCIGN(NETWORK, likelihood="gaussian_linear",
                          seed=0).build_for_images()
  decoder = serving.DecoderModule(model)
  # Large codes drive some means outside [0, 1].
  latents = tf.constant(np.random.default_rng(0).normal(
      scale=300.0, size=(4, NETWORK.latent_size)), tf.float32)
  means = model.decode_logits(latents).numpy()
  assert means.min() < 0 or means.max() > 1
  expected = np.clip(means, 0.0, 1.0)
  np.testing.assert_allclose(model.decode(latents).numpy(), expected,
                             atol=1e-6)
  served = decoder.serving_default(latents)["images"].numpy()
  np.testing.assert_allclose(served, expected, atol=1e-5)
  on_device = decoder.on_device(latents)["images"].numpy()
  np.testing.assert_allclose(on_device, expected, atol=1e-4)
