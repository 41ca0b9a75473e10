"""Tests for explorer_page: the Gradio page, driven over HTTP on 127.0.0.1
by gradio_client, and the choice of the models it serves."""

import os
import socket

import numpy as np
import pytest
from PIL import Image

from dcign_tf import explorer as explorer_lib
from dcign_tf import explorer_page
from dcign_tf import pretrained


def _free_port():
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


@pytest.mark.slow
def test_the_running_app_serves_a_rerender(tmp_path):
  """Four requests to the app's one endpoint, on the loopback only."""
  gradio_client = pytest.importorskip("gradio_client")
  explorer = explorer_lib.Explorer(
      pretrained.tflite_files("faces_64", "float16"))
  app = explorer_page.build_app(explorer, gallery_size=4)
  port = _free_port()
  app.launch(server_name="127.0.0.1", server_port=port,
             prevent_thread_lock=True, quiet=True)
  try:
    client = gradio_client.Client(f"http://127.0.0.1:{port}/",
                                  verbose=False)
    face = tmp_path / "face.png"
    face.write_bytes(explorer.test_images(1)[0])
    offsets = [0.0] * len(explorer.spreads)
    path, notes = client.predict(
        gradio_client.handle_file(str(face)), explorer_lib.SAVED_MODEL, 30.0,
        0.0, 0.0, *offsets, api_name="/rerender")
    shown = np.asarray(Image.open(path).convert("L"))
    scale = explorer_page.DISPLAY_SCALE
    assert shown.shape == (64 * scale, 64 * scale)
    expected, _ = explorer.render(
        explorer_lib.SAVED_MODEL, face.read_bytes(),
        {"azimuth": 30.0, "elevation": 0.0, "light": 0.0})
    np.testing.assert_allclose(shown[::scale, ::scale] / 255.0, expected,
                               atol=1 / 255 + 1e-6)
    assert notes.startswith("The encoder reads: azimuth")
    # Past the calibrated range: clamped, and the page says so.
    _, notes = client.predict(
        gradio_client.handle_file(str(face)), explorer_lib.TFLITE_FLOAT16,
        90.0, 0.0, 0.0, *offsets, api_name="/rerender")
    assert "outside the calibrated range" in notes and "clamped" in notes
    # Not an image: a message, and the app keeps serving.
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    path, notes = client.predict(
        gradio_client.handle_file(str(text)), explorer_lib.SAVED_MODEL, 0.0,
        0.0, 0.0, *offsets, api_name="/rerender")
    assert path is None and "is not an image this app can read" in notes
    path, _ = client.predict(
        gradio_client.handle_file(str(face)), explorer_lib.SAVED_MODEL, 0.0,
        0.0, 0.0, *offsets, api_name="/rerender")
    assert os.path.exists(path)
  finally:
    app.close()


@pytest.mark.parametrize("kwargs,message", [
    ({}, "Give exactly one of --preset, --model_dir and --export_dir; got "
         "none"),
    ({"preset": "faces_64", "model_dir": "m"},
     "got --preset=faces_64, --model_dir=m"),
])
def test_exactly_one_source(kwargs, message):
  arguments = {"preset": None, "model_dir": None, "export_dir": None,
               **kwargs}
  with pytest.raises(ValueError, match=message):
    explorer_page.explorer_source(**arguments)


def test_a_model_dir_without_export(tmp_path):
  with pytest.raises(ValueError, match="has no export; run python -m "
                     "export.saved_model"):
    explorer_page.explorer_source(None, str(tmp_path), None)
  with pytest.raises(ValueError, match="holds no complete export"):
    explorer_page.explorer_source(None, None, str(tmp_path))
