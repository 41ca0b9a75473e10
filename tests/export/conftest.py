"""Stand-ins for TF Serving: its REST and gRPC predict APIs in front of
SavedModels loaded in the test process, converting requests and replies as
https://www.tensorflow.org/tfx/serving/api_rest and the PredictionService
proto specify. (The server itself cannot be installed here.)"""

import base64
import concurrent.futures
import http.server
import json
import os
import re
import threading

import pytest
import tensorflow as tf

from dcign_tf import saved_model_export
from dcign_tf import trainer


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory, tiny_config):
  """A model trained 2 steps at 32 px with 6 latents and exported: the
  paths export.saved_model returns (encoder, decoder, models_config)."""
  root = tmp_path_factory.mktemp("tiny_export")
  model_dir = str(root / "model")
  trainer.run(tiny_config(model_dir), verbose=0)
  return saved_model_export.export(model_dir, str(root / "export"),
                                   calibration_groups_per_type=2, workers=1)


_URL = re.compile(r"^/v1/models/(\w+)(?:/versions/(\d+))?:predict$")


def _rest_value(value):
  """A REST JSON value as a tensor: {"b64": ...} objects become bytes."""
  if isinstance(value, dict) and set(value) == {"b64"}:
    return base64.b64decode(value["b64"])
  if isinstance(value, list):
    return [_rest_value(item) for item in value]
  return value


def _tensor(value):
  value = _rest_value(value)
  if isinstance(value, list) and value and isinstance(value[0], bytes):
    return tf.constant(value, tf.string)
  return tf.constant(value, tf.float32)


class Models:
  """Loaded SavedModels by (name, version) from export_dir/<name>/<N>."""

  def __init__(self, export_dir):
    self.export_dir = export_dir
    self._loaded = {}

  def signature(self, name, version, signature_name):
    base = os.path.join(self.export_dir, name)
    if version is None:
      version = max(int(v) for v in os.listdir(base) if v.isdigit())
    key = (name, int(version))
    if key not in self._loaded:
      self._loaded[key] = tf.saved_model.load(os.path.join(base,
                                                           str(version)))
    return self._loaded[key].signatures[signature_name or "serving_default"]


def rest_predict(models, name, version, body):
  """TF Serving's REST predict: (status, reply body)."""
  try:
    signature = models.signature(name, version, body.get("signature_name"))
    if "instances" in body:
      rows = body["instances"]
      names = list(rows[0])
      inputs = {key: _tensor([row[key] for row in rows]) for key in names}
    else:
      inputs = {key: _tensor(value) for key, value in body["inputs"].items()}
    outputs = {key: value.numpy() for key, value in
               signature(**inputs).items()}
  except (KeyError, ValueError, TypeError, tf.errors.OpError) as error:
    return 400, {"error": str(error)}
  if "instances" in body:
    count = len(next(iter(outputs.values())))
    return 200, {"predictions": [
        {key: value[i].tolist() for key, value in outputs.items()}
        for i in range(count)]}
  return 200, {"outputs": {key: value.tolist()
                           for key, value in outputs.items()}}


@pytest.fixture
def rest_server():
  """rest_server(export_dir) -> "127.0.0.1:PORT", serving REST predict."""
  servers = []

  def start(export_dir):
    models = Models(export_dir)

    class Handler(http.server.BaseHTTPRequestHandler):

      def do_POST(self):  # pylint: disable=invalid-name
        match = _URL.match(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, reply = (rest_predict(models, match.group(1), match.group(2),
                                      body) if match else
                         (404, {"error": f"no route {self.path}"}))
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def log_message(self, *args):
        del args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
    return f"127.0.0.1:{server.server_address[1]}"

  yield start
  for server in servers:
    server.shutdown()


@pytest.fixture
def grpc_server():
  """grpc_server(export_dir) -> "127.0.0.1:PORT", a PredictionService."""
  import grpc
  from tensorflow_serving.apis import predict_pb2
  from tensorflow_serving.apis import prediction_service_pb2_grpc
  servers = []

  def start(export_dir):
    models = Models(export_dir)

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):

      def Predict(self, request, context):  # pylint: disable=invalid-name
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        signature = models.signature(spec.name, version, spec.signature_name)
        inputs = {key: tf.constant(tf.make_ndarray(proto))
                  for key, proto in request.inputs.items()}
        try:
          outputs = signature(**inputs)
        except tf.errors.OpError as error:
          context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
        reply = predict_pb2.PredictResponse()
        reply.model_spec.CopyFrom(spec)
        for key, value in outputs.items():
          reply.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return reply

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servers.append(server)
    return f"127.0.0.1:{port}"

  yield start
  for server in servers:
    server.stop(None)
