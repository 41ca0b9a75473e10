"""Tests for dcign_tf.serving_client: the requests it builds go through stand-ins of
TF Serving's REST and gRPC APIs (tests/export/conftest.py) into the real
SavedModels, and the replies it parses match the model."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from dcign_tf import configs
from dcign_tf import model as model_lib
from dcign_tf import serving
from dcign_tf import serving_client

NETWORK = configs.NetworkConfig(
    image_size=16, latent_size=5, encoder_filters=(4, 4),
    encoder_kernels=(3, 3), decoder_filters=(4,), decoder_kernels=(3, 3),
    padding="same")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
  model = model_lib.DCIGN(NETWORK, seed=0).build_for_images()
  root = tmp_path_factory.mktemp("client")
  for name, module in (("encoder", serving.EncoderModule(model)),
                       ("decoder", serving.DecoderModule(model))):
    serving.export_version(module, module.signatures(), str(root / name))
  return str(root), model


def _images(count=3):
  images = np.random.default_rng(0).uniform(size=(count, 16, 16, 1))
  return (np.round(images * 255) / 255).astype(np.float32)


def _png(image):
  buffer = io.BytesIO()
  Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(
      buffer, format="PNG")
  return buffer.getvalue()


def test_rest_bodies_follow_the_two_forms():
  latents = np.arange(6, dtype=np.float32).reshape(2, 3)
  rows = serving_client.rest_body({"latents": latents})
  assert rows == {"instances": [{"latents": [0.0, 1.0, 2.0]},
                                {"latents": [3.0, 4.0, 5.0]}]}
  columns = serving_client.rest_body({"latents": latents}, form="inputs",
                                     signature_name="serving_default")
  assert columns == {"signature_name": "serving_default",
                     "inputs": {"latents": latents.tolist()}}
  blobs = serving_client.rest_body({"image_bytes": [b"\x89PNG", b"\xff\xd8"]})
  assert blobs["instances"][1] == {"image_bytes": {
      "b64": base64.b64encode(b"\xff\xd8").decode()}}
  with pytest.raises(ValueError, match="Unknown REST form 'rows'"):
    serving_client.rest_body({"latents": latents}, form="rows")
  with pytest.raises(ValueError, match="same batch size"):
    serving_client.rest_body({"a": latents, "b": latents[:1]})


def test_rest_urls_and_reply_parsing():
  assert serving_client.rest_url("localhost:8501", "decoder") == (
      "http://localhost:8501/v1/models/decoder:predict")
  assert serving_client.rest_url("https://host/", "encoder", 3) == (
      "https://host/v1/models/encoder/versions/3:predict")
  rows = serving_client.parse_rest_reply({"predictions": [
      {"mean": [1, 2], "stddev": [3, 4]}, {"mean": [5, 6], "stddev": [7, 8]}]})
  np.testing.assert_array_equal(rows["mean"], [[1, 2], [5, 6]])
  columns = serving_client.parse_rest_reply({"outputs": {"images": [[0.5]]}})
  np.testing.assert_array_equal(columns["images"], [[0.5]])
  with pytest.raises(ValueError, match="refused the request: bad shape"):
    serving_client.parse_rest_reply({"error": "bad shape"})


@pytest.mark.parametrize("form", serving_client.REST_FORMS)
def test_rest_client_against_the_rest_api(export_dir, rest_server, form):
  root, model = export_dir
  images = _images()
  rest = serving_client.RestClient(rest_server(root), form=form)
  encoded = rest.encode(images)
  loc, log_variance = (np.asarray(t) for t in model.encoder(images))
  np.testing.assert_allclose(encoded["mean"], loc, atol=1e-5)
  np.testing.assert_allclose(encoded["stddev"], np.exp(0.5 * log_variance),
                             atol=1e-5)
  rendered = rest.render(loc)["images"]
  np.testing.assert_allclose(rendered, np.asarray(model.decode(loc)),
                             atol=1e-5)
  assert rendered.shape == (3, 16, 16, 1)


def test_rest_client_sends_image_files_as_b64(export_dir, rest_server,
                                              tmp_path):
  root, model = export_dir
  images = _images(2)
  paths = []
  for i, image in enumerate(images):
    paths.append(tmp_path / f"face{i}.png")
    paths[-1].write_bytes(_png(image))
  encoded = serving_client.RestClient(rest_server(root)).encode_image_files(paths)
  np.testing.assert_allclose(encoded["mean"],
                             np.asarray(model.encoder(images)[0]), atol=1e-5)


def test_rest_client_reports_refusals(export_dir, rest_server):
  rest = serving_client.RestClient(rest_server(export_dir[0]))
  with pytest.raises(ValueError, match=r"(?s)answered 400: .*not compatible"):
    rest.render(np.zeros((1, 4), np.float32))
  with pytest.raises(ValueError, match="Cannot reach TF Serving"):
    serving_client.RestClient("127.0.0.1:9", timeout=5).render(np.zeros((1, 5)))


def test_grpc_requests_carry_the_tensors():
  request = serving_client.grpc_request("encoder", {"image_bytes": [b"a", b"bc"]},
                                        "encode_image_bytes", version=2)
  assert request.model_spec.name == "encoder"
  assert request.model_spec.signature_name == "encode_image_bytes"
  assert request.model_spec.version.value == 2
  assert list(request.inputs["image_bytes"].string_val) == [b"a", b"bc"]
  latents = np.ones((2, 5), np.float32)
  proto = serving_client.grpc_request("decoder", {"latents": latents}).inputs[
      "latents"]
  assert [d.size for d in proto.tensor_shape.dim] == [2, 5]


def test_grpc_client_against_a_prediction_service(export_dir, grpc_server,
                                                  tmp_path):
  root, model = export_dir
  images = _images(2)
  stub = serving_client.GrpcClient(grpc_server(root))
  try:
    encoded = stub.encode(images)
    loc = np.asarray(model.encoder(images)[0])
    np.testing.assert_allclose(encoded["mean"], loc, atol=1e-5)
    np.testing.assert_allclose(stub.render(loc)["images"],
                               np.asarray(model.decode(loc)), atol=1e-5)
    path = tmp_path / "face.png"
    path.write_bytes(_png(images[0]))
    np.testing.assert_allclose(stub.encode_image_files([path])["mean"],
                               loc[:1], atol=1e-5)
  finally:
    stub.close()
