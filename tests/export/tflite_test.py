"""Tests for dcign_tf.tflite and dcign_tf.tflite_export / export.tflite."""

import os
import subprocess
import sys

import numpy as np
import pytest

from dcign_tf import tflite
from dcign_tf import tflite_export

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def exported(tiny_export):
  return tiny_export


def _run(path, **kwargs):
  return tflite_export.convert(path, samples=8, representative_samples=8,
                               workers=1, **kwargs)


@pytest.mark.parametrize("name", ["encoder", "decoder"])
def test_float32_matches_the_saved_model(exported, name):
  report = _run(exported[name])
  assert report["output"] == os.path.join(
      os.path.dirname(os.path.dirname(exported[name])), "tflite",
      f"{name}_v1_none.tflite")
  assert os.path.getsize(report["output"]) == report["bytes"]
  for error in report["errors"].values():
    assert error["max_abs_error"] <= 1e-4
  # The written file, run again, gives the SavedModel's outputs.
  model = tflite_export.exported_model(exported[name])
  inputs, _ = tflite_export.model_inputs(model, "test", 5, workers=1)
  expected = tflite_export.saved_model_outputs(model, inputs)
  runner = tflite.Runner(open(report["output"], "rb").read(), num_threads=2)
  assert set(runner(inputs)) == set(expected)
  for key, value in runner(inputs).items():
    np.testing.assert_allclose(value, expected[key], atol=1e-4)
  # The batch can change between calls.
  assert runner(inputs[:1])[key].shape[0] == 1


def test_quantized_variants_stay_close(exported):
  sizes = {}
  for quantize in ("float16", "dynamic", "int8"):
    report = _run(exported["decoder"], quantize=quantize)
    sizes[quantize] = report["bytes"]
    error = report["errors"]["images"]
    assert error["max_abs_error"] <= (2 / 255 if quantize == "float16"
                                      else 0.15), quantize
    assert error["psnr_db"] > 20
  float32 = _run(exported["decoder"], quantize="none", overwrite=True)
  assert sizes["float16"] < float32["bytes"]


def test_int8_decoder_calibrates_on_the_encoders_codes(exported):
  model = tflite_export.exported_model(exported["decoder"])
  codes, description = tflite_export.model_inputs(model, "train", 8, workers=1)
  assert description.startswith("codes of 8 train renders")
  assert codes.shape == (8, 6)
  images, description = tflite_export.model_inputs(
      tflite_export.exported_model(exported["encoder"]), "test", 8, workers=1)
  assert images.shape == (8, 32, 32, 1) and "test renders" in description


def test_a_conversion_outside_tolerance_writes_nothing(exported, tmp_path,
                                                       monkeypatch):
  monkeypatch.setitem(tflite.TOLERANCES, "float16", 0.0)
  output = tmp_path / "decoder.tflite"
  with pytest.raises(tflite.ConversionError,
                     match=r"'images' differs .* allowed maximum for float16"):
    _run(exported["decoder"], quantize="float16", output=str(output))
  assert not os.listdir(tmp_path)


def test_psnr_and_compare_closed_forms():
  expected = np.array([0.0, 1.0, 0.0, 1.0])
  actual = expected + np.array([0.1, -0.1, 0.1, -0.1])
  # MSE 0.01 against a peak of 1: 20 dB.
  assert tflite.psnr(expected, actual) == pytest.approx(20.0)
  assert tflite.psnr(expected, expected) == float("inf")
  # Against a peak of 2 the same error is 10 log10(4 / 0.01) dB.
  assert tflite.psnr(expected, actual, peak=2.0) == pytest.approx(
      10 * np.log10(400))
  errors = tflite.compare({"x": expected}, {"x": actual})
  assert errors["x"]["max_abs_error"] == pytest.approx(0.1)
  with pytest.raises(ValueError, match=r"lacks the outputs \['y'\]"):
    tflite.compare({"y": expected}, {"x": actual})


def test_bad_requests(exported, tmp_path):
  with pytest.raises(ValueError, match="--quantize='int4' is not one of"):
    tflite_export.check_request(exported["decoder"], "int4", None, False)
  with pytest.raises(ValueError, match="no saved_model.pb"):
    tflite_export.check_request(str(tmp_path), "none", None, False)
  existing = tmp_path / "there.tflite"
  existing.write_bytes(b"keep me")
  with pytest.raises(ValueError, match="exists; pass --overwrite"):
    tflite_export.check_request(exported["decoder"], "none", str(existing),
                                False)
  assert existing.read_bytes() == b"keep me"
  with pytest.raises(ValueError, match="Unknown quantization"):
    tflite.convert(exported["decoder"], "int4")


def test_binary_prints_errors_and_size(exported, tmp_path):
  output = tmp_path / "encoder_f16.tflite"
  result = subprocess.run(
      [sys.executable, "-m", "export.tflite",
       f"--saved_model={exported['encoder']}", "--quantize=float16",
       f"--output={output}", "--samples=4", "--workers=1"], cwd=REPO,
      env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
      timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "KiB, float16" in result.stdout
  assert "mean: max abs error" in result.stdout and "PSNR" in result.stdout
  assert output.exists()
  again = subprocess.run(
      [sys.executable, "-m", "export.tflite",
       f"--saved_model={exported['encoder']}", "--quantize=float16",
       f"--output={output}"], cwd=REPO,
      env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
      timeout=300, check=False)
  assert again.returncode == 2
  assert again.stderr.strip().splitlines()[-1].startswith(
      f"error: {output} exists")


_PRESET_BAD_INPUT = [
    (["--saved_model=OUT/decoder/1"],
     "--preset=faces_64 and --saved_model=OUT/decoder/1 exclude each other"),
    (["--output=x.tflite"], "--output names one file"),
]


def test_binary_preset_bad_input(binary_cases):
  results = binary_cases("export.tflite", [
      ["--preset=faces_64", *extra] for extra, _ in _PRESET_BAD_INPUT])
  for (extra, message), result in zip(_PRESET_BAD_INPUT, results):
    assert result["status"] == 2, (extra, result["stderr"][-2000:])
    assert message in result["stderr"].strip().splitlines()[-1], extra
