"""Requests to TF Serving for the exported encoder and decoder, and their
replies, over REST (JSON) and gRPC (PredictRequest).

  client = RestClient("localhost:8501")
  code = client.encode_image_files(["face.png"])["mean"]   # [1, N]
  images = client.render(code)["images"]                   # [1, S, S, 1]

Nothing here needs dcign_tf or a model: only NumPy, and for gRPC
tensorflow-serving-api's protos and grpcio. The request builders and reply
parsers are plain functions so that they can be checked without a server.

REST (https://www.tensorflow.org/tfx/serving/api_rest) accepts two forms:
"instances" (row form: one entry per example, each a {input: value} object)
and "inputs" (columnar form: {input: batched value}). Binary inputs, such as
the encoder's image_bytes, are sent as {"b64": base64 text}. Row-form replies
hold "predictions" (a list with one {output: value} per example), columnar
ones "outputs" ({output: batched value}).
"""

import base64
import json
from typing import Optional
import urllib.error
import urllib.request

import numpy as np

ENCODER = "encoder"
DECODER = "decoder"
REST_FORMS = ("instances", "inputs")


def _jsonable(value):
  """A REST value: bytes as {"b64": ...}, arrays as nested lists."""
  if isinstance(value, (bytes, bytearray)):
    return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
  if isinstance(value, (list, tuple)):
    return [_jsonable(item) for item in value]
  if isinstance(value, np.ndarray):
    if value.dtype.kind in "SO":
      return [_jsonable(item) for item in value.tolist()]
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


def _batch_size(inputs: dict) -> int:
  sizes = {name: len(value) for name, value in inputs.items()}
  if len(set(sizes.values())) != 1:
    raise ValueError(f"Every input needs the same batch size, got {sizes}.")
  return next(iter(sizes.values()))


def rest_body(inputs: dict, form: str = "instances",
              signature_name: Optional[str] = None) -> dict:
  """The JSON body of a REST predict request.

  Args:
    inputs: input name -> batched value (NumPy array, or a list of bytes
      for string inputs).
    form: "instances" (row form) or "inputs" (columnar form).
    signature_name: None for serving_default.
  """
  if form not in REST_FORMS:
    raise ValueError(f"Unknown REST form {form!r}; allowed: "
                     f"{', '.join(REST_FORMS)}.")
  if not inputs:
    raise ValueError("A request needs at least one input.")
  body = {}
  if signature_name:
    body["signature_name"] = signature_name
  if form == "inputs":
    body["inputs"] = {name: _jsonable(value) for name, value in inputs.items()}
  else:
    count = _batch_size(inputs)
    body["instances"] = [{name: _jsonable(value[i])
                          for name, value in inputs.items()}
                         for i in range(count)]
  return body


def rest_url(server: str, model: str, version: Optional[int] = None,
             verb: str = "predict") -> str:
  """http://SERVER/v1/models/MODEL[/versions/N]:predict"""
  if "://" not in server:
    server = "http://" + server
  path = f"/v1/models/{model}"
  if version is not None:
    path += f"/versions/{int(version)}"
  return f"{server.rstrip('/')}{path}:{verb}"


def parse_rest_reply(body: dict) -> dict:
  """{output name: np.ndarray} from a REST predict reply (either form)."""
  if "error" in body:
    raise ValueError(f"TF Serving refused the request: {body['error']}")
  if "outputs" in body:
    outputs = body["outputs"]
    if not isinstance(outputs, dict):  # A single unnamed output.
      return {"output": np.asarray(outputs, np.float32)}
    return {name: np.asarray(value, np.float32)
            for name, value in outputs.items()}
  if "predictions" in body:
    rows = body["predictions"]
    if rows and isinstance(rows[0], dict):
      return {name: np.asarray([row[name] for row in rows], np.float32)
              for name in rows[0]}
    return {"output": np.asarray(rows, np.float32)}
  raise ValueError("A REST predict reply holds 'predictions' or 'outputs'; "
                   f"got keys {sorted(body)}.")


def grpc_request(model: str, inputs: dict, signature_name: str =
                 "serving_default", version: Optional[int] = None):
  """A tensorflow_serving PredictRequest for `inputs` (name -> batch)."""
  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import predict_pb2
  import tensorflow as tf
  # pylint: enable=g-import-not-at-top
  _batch_size(inputs)
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = signature_name
  if version is not None:
    request.model_spec.version.value = int(version)
  for name, value in inputs.items():
    if isinstance(value, (list, tuple)):  # bytes
      value = np.asarray(value, dtype=object)
    request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
  return request


def parse_grpc_reply(response) -> dict:
  """{output name: np.ndarray} from a PredictResponse."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return {name: tf.make_ndarray(proto)
          for name, proto in response.outputs.items()}


def image_file_bytes(paths) -> list:
  return [open(path, "rb").read() for path in paths]


class RestClient:
  """The encoder and decoder behind one TF Serving REST endpoint."""

  def __init__(self, server: str = "localhost:8501", form: str = "instances",
               version: Optional[int] = None, timeout: float = 60.0):
    if form not in REST_FORMS:
      raise ValueError(f"Unknown REST form {form!r}; allowed: "
                       f"{', '.join(REST_FORMS)}.")
    self.server, self.form = server, form
    self.version, self.timeout = version, timeout

  def predict(self, model: str, inputs: dict,
              signature_name: Optional[str] = None) -> dict:
    url = rest_url(self.server, model, self.version)
    data = json.dumps(rest_body(inputs, self.form, signature_name)).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"})
    try:
      with urllib.request.urlopen(request, timeout=self.timeout) as reply:
        return parse_rest_reply(json.load(reply))
    except urllib.error.HTTPError as error:
      try:
        message = json.load(error).get("error", error.reason)
      except ValueError:
        message = error.reason
      raise ValueError(f"{url} answered {error.code}: {message}") from None
    except urllib.error.URLError as error:
      raise ValueError(f"Cannot reach TF Serving at {url}: "
                       f"{error.reason}") from None

  def encode(self, images: np.ndarray) -> dict:
    """images [B, S, S, C] in [0, 1] -> {"mean", "stddev"} [B, N]."""
    return self.predict(ENCODER, {"images": np.asarray(images, np.float32)})

  def encode_image_files(self, paths) -> dict:
    """PNG or JPEG files -> {"mean", "stddev"}; decoding and resizing
    happen in the server's graph."""
    return self.predict(ENCODER, {"image_bytes": image_file_bytes(paths)},
                        signature_name="encode_image_bytes")

  def render(self, latents: np.ndarray) -> dict:
    """latents [B, N] -> {"images": [B, S, S, C]}."""
    return self.predict(DECODER,
                        {"latents": np.asarray(latents, np.float32)})


class GrpcClient:
  """The same over gRPC (port 8500 by default)."""

  def __init__(self, server: str = "localhost:8500",
               version: Optional[int] = None, timeout: float = 60.0):
    # pylint: disable=g-import-not-at-top
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc
    # pylint: enable=g-import-not-at-top
    self.channel = grpc.insecure_channel(server)
    self.stub = prediction_service_pb2_grpc.PredictionServiceStub(
        self.channel)
    self.version, self.timeout = version, timeout

  def predict(self, model: str, inputs: dict,
              signature_name: str = "serving_default") -> dict:
    request = grpc_request(model, inputs, signature_name, self.version)
    return parse_grpc_reply(self.stub.Predict(request, timeout=self.timeout))

  def encode(self, images: np.ndarray) -> dict:
    return self.predict(ENCODER, {"images": np.asarray(images, np.float32)})

  def encode_image_files(self, paths) -> dict:
    return self.predict(ENCODER, {"image_bytes": image_file_bytes(paths)},
                        "encode_image_bytes")

  def render(self, latents: np.ndarray) -> dict:
    return self.predict(DECODER,
                        {"latents": np.asarray(latents, np.float32)})

  def close(self):
    self.channel.close()
