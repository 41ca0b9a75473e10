"""Tests for dcign_tf.rerender / export.rerender."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dcign_tf import rerender as rerender_lib
from dcign_tf import tflite_export

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

METADATA = {
    "factor_latents": {"azimuth": 0, "light": 2},
    "calibration": {
        "azimuth": {"degrees": [90.0, -90.0, 0.0],
                    "latent_values": [2.0, -1.0, 0.0]},
        "light": {"degrees": [-60.0, 60.0], "latent_values": [1.0, -1.0]},
    },
}


@pytest.fixture(scope="module")
def export_dir(tiny_export):
  return os.path.dirname(os.path.dirname(tiny_export["encoder"]))


def _face_png(size=32):
  ramp = np.linspace(0, 255, size * size).reshape(size, size)
  buffer = io.BytesIO()
  Image.fromarray(ramp.astype(np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def test_target_latents_interpolate_the_calibration():
  # Points sorted by degrees: (-90, -1), (0, 0), (90, 2).
  assert rerender_lib.target_latents(METADATA, {"azimuth": 45.0}) == {0: 1.0}
  assert rerender_lib.target_latents(METADATA, {"azimuth": -45.0,
                                                "light": 30.0}) == {
                                                    0: -0.5, 2: -0.5}
  with pytest.raises(ValueError, match=r"--azimuth=120 is outside the "
                     r"calibrated range \[-90.0, 90.0\]"):
    rerender_lib.target_latents(METADATA, {"azimuth": 120.0})
  with pytest.raises(ValueError, match="no calibrated latent for 'elevation'"
                     "; it has: azimuth, light"):
    rerender_lib.target_latents(METADATA, {"elevation": 10.0})


def test_rerender_sets_only_the_target_latent(export_dir):
  version, metadata = rerender_lib.read_metadata(export_dir)
  assert version == 1
  backend = rerender_lib.SavedModelBackend(export_dir, version)
  degrees = float(np.mean(metadata["calibration"]["azimuth"]["degrees"]))
  result = rerender_lib.rerender(backend, metadata, _face_png(),
                                 {"azimuth": degrees})
  index = metadata["factor_latents"]["azimuth"]
  changed = np.flatnonzero(result["new_code"][0] != result["code"][0])
  assert set(changed) <= {index}
  assert result["new_code"][0, index] == pytest.approx(
      rerender_lib.target_latents(metadata, {"azimuth": degrees})[index])
  assert result["image"].shape == (32, 32)
  np.testing.assert_allclose(result["image"],
                             backend.render(result["new_code"])[0, ..., 0])


def test_tflite_and_rest_backends_agree_with_the_saved_models(
    export_dir, rest_server):
  tflite_export.convert(os.path.join(export_dir, "encoder", "1"), samples=4,
                        workers=1)
  tflite_export.convert(os.path.join(export_dir, "decoder", "1"), samples=4,
                        workers=1)
  _, metadata = rerender_lib.read_metadata(export_dir, 1)
  degrees = float(np.mean(metadata["calibration"]["light"]["degrees"]))
  png = _face_png()
  results = [rerender_lib.rerender(backend, metadata, png, {"light": degrees})
             for backend in (
                 rerender_lib.SavedModelBackend(export_dir, 1),
                 rerender_lib.TfliteBackend(export_dir, 1, "none", 32),
                 rerender_lib.RestBackend(rest_server(export_dir)))]
  for other in results[1:]:
    np.testing.assert_allclose(other["image"], results[0]["image"],
                               atol=1e-4)


def _binary(*args):
  return subprocess.run([sys.executable, "-m", "export.rerender", *args],
                        cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
                        capture_output=True, text=True, timeout=300,
                        check=False)


def test_binary_writes_the_rerender_and_a_sheet(export_dir, tmp_path):
  image = tmp_path / "face.png"
  image.write_bytes(_face_png(48))  # Any size: the graph resizes it.
  _, metadata = rerender_lib.read_metadata(export_dir)
  degrees = float(np.mean(metadata["calibration"]["azimuth"]["degrees"]))
  out, sheet = tmp_path / "new.png", tmp_path / "sheet.png"
  result = _binary(f"--export_dir={export_dir}", f"--image={image}",
                   f"--azimuth={degrees}", f"--out={out}", f"--sheet={sheet}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "azimuth" in result.stdout and "z1:" in result.stdout
  assert Image.open(out).size == (32, 32)
  assert Image.open(sheet).size == (96, 32)


_BAD_INPUT = [
    ([], "Give at least one of --azimuth"),
    (["--azimuth=500"], "--azimuth=500 is outside the calibrated range"),
    (["--azimuth=0", "--image=/nowhere.png"], "--image=/nowhere.png does "
     "not exist"),
    (["--azimuth=0", "--tflite=int8"], "convert it first"),
    (["--azimuth=0", "--tflite=int4"], "--tflite=int4 is not one of none"),
    (["--azimuth=0", "--image=NOT_IMAGE"], "is not a PNG or JPEG image"),
]


def test_binary_bad_input_is_one_line_and_writes_nothing(
    export_dir, tmp_path, binary_cases):
  image = tmp_path / "face.png"
  image.write_bytes(_face_png())
  not_image = tmp_path / "notes.png"
  not_image.write_text("not a picture")
  cases = [[f"--export_dir={export_dir}", f"--image={image}",
            f"--out={tmp_path / f'new{index}.png'}",
            *(a.replace("NOT_IMAGE", str(not_image)) for a in arguments)]
           for index, (arguments, _) in enumerate(_BAD_INPUT)]
  results = binary_cases("export.rerender", cases)
  for index, ((arguments, message), result) in enumerate(
      zip(_BAD_INPUT, results)):
    assert result["status"] == 2, (arguments, result["stderr"][-2000:])
    assert message in result["stderr"].strip().splitlines()[-1], arguments
    assert not (tmp_path / f"new{index}.png").exists(), arguments


def test_binary_keeps_an_existing_output(export_dir, tmp_path):
  image = tmp_path / "face.png"
  image.write_bytes(_face_png())
  out = tmp_path / "new.png"
  out.write_bytes(b"keep")
  result = _binary(f"--export_dir={export_dir}", f"--image={image}",
                   "--azimuth=0", f"--out={out}")
  assert result.returncode == 2 and "exists; pass --overwrite" in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith("error: ")
  assert "Traceback" not in result.stderr
  assert out.read_bytes() == b"keep"


def test_binary_rerenders_a_test_render_of_the_preset(tmp_path):
  """What a user can run straight after `pip install`: no training."""
  out, sheet = tmp_path / "new.png", tmp_path / "sheet.png"
  result = _binary("--preset=faces_64", "--test_image=0", "--azimuth=30",
                   f"--out={out}", f"--sheet={sheet}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "azimuth 30 deg" in result.stdout
  assert Image.open(out).size == (64, 64)
  assert Image.open(sheet).size == (192, 64)
  face = np.asarray(Image.open(out), np.float32) / 255
  assert face.std() > 0.1  # A head on black, not a blank image.


_PRESET_BAD_INPUT = [
    (["--preset=faces_64", "--export_dir=x", "--test_image=0"],
     "--preset=faces_64 and --export_dir=x exclude each other"),
    (["--preset=faces_65", "--test_image=0"],
     "Unknown preset 'faces_65'; known presets: faces_64"),
    (["--preset=faces_64", "--image=a.png", "--test_image=0"],
     "--image=a.png and --test_image=0 exclude each other"),
    (["--preset=faces_64", "--test_image=100"],
     "--test_image must be in [0, 99], got 100"),
    (["--preset=faces_64", "--test_image=0", "--server=localhost:1"],
     "--preset runs the models in this process"),
]


def test_binary_preset_bad_input(tmp_path, binary_cases):
  results = binary_cases("export.rerender", [
      [*arguments, "--azimuth=0", f"--out={tmp_path / f'new{index}.png'}"]
      for index, (arguments, _) in enumerate(_PRESET_BAD_INPUT)])
  for (arguments, message), result in zip(_PRESET_BAD_INPUT, results):
    assert result["status"] == 2, (arguments, result["stderr"][-2000:])
    assert message in result["stderr"].strip().splitlines()[-1], arguments
  assert not list(tmp_path.iterdir())
