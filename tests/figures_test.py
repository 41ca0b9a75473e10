"""Tests for dcign_tf.figures: each writes a PNG of the expected layout."""

import numpy as np
import pytest
from PIL import Image

from dcign_tf import figures


def test_image_grid_writes_a_labelled_png(tmp_path):
  rows = [np.full((3, 8, 8), v, np.float32) for v in (0.0, 1.0)]
  path = str(tmp_path / "grid.png")
  figures.image_grid(path, rows, ["a", "b"], ["x", "y", "z"], "title")
  picture = np.asarray(Image.open(path).convert("L"))
  assert picture.shape[0] > 100 and picture.shape[1] > 100
  # Both the black and the white cells were drawn.
  assert picture.min() < 20 and picture.max() > 235
  with pytest.raises(ValueError, match="Row 0 has 3 images for 2"):
    figures.image_grid(path, rows, ["a", "b"], ["x", "y"], "title")


def test_scatter_and_curves_write_pngs(tmp_path):
  x = np.linspace(-90, 90, 50)
  figures.factor_scatter(str(tmp_path / "s.png"), [
      {"factor": "azimuth", "latent": 0, "truth": x, "inferred": x / 45,
       "curve": (x, x / 45), "r2": 0.99}], "model")
  figures.error_curves(str(tmp_path / "e.png"), [
      {"factor": "azimuth", "curves": [{"label": "m", "x": [10, 20],
                                        "y": [0.01, 0.02]}]}], "errors")
  for name in ("s.png", "e.png"):
    assert Image.open(tmp_path / name).size[0] > 200


def test_degree_labels():
  assert figures.degree_labels([-30, 0]) == ["-30°", "+0°"]
  assert figures.degree_labels([15], [1.234]) == ["+15°\nz=+1.2"]
