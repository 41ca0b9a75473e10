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


def _pixels_near(path, rgb, tolerance=40) -> int:
  """How many pixels of the PNG are within `tolerance` of colour `rgb`."""
  image = np.asarray(Image.open(path).convert("RGB"), np.int32)
  return int(np.sum(np.abs(image - np.array(rgb)).max(axis=-1) < tolerance))


# matplotlib's default colours C0 (blue) and C3 (red), and C0 at the
# scatter's alpha 0.4 on white.
_BLUE, _RED = (31, 119, 180), (214, 39, 40)
_PALE_BLUE = (165, 201, 225)


def test_scatter_draws_one_panel_per_factor_and_the_fit_in_red(tmp_path):
  x = np.linspace(-90, 90, 50)
  panel = {"factor": "azimuth", "latent": 0, "truth": x, "inferred": x / 45,
           "r2": 0.99}
  figures.factor_scatter(str(tmp_path / "fit.png"),
                         [dict(panel, curve=(x, x / 45))], "model")
  figures.factor_scatter(str(tmp_path / "plain.png"), [panel], "model")
  figures.factor_scatter(str(tmp_path / "two.png"), [panel, panel], "model")
  one = Image.open(tmp_path / "plain.png").size
  two = Image.open(tmp_path / "two.png").size
  assert two[1] == one[1] and two[0] == pytest.approx(2 * one[0], rel=0.02)
  # The test images are blue dots; the calibration curve is drawn in red
  # only when there is one.
  assert _pixels_near(tmp_path / "plain.png", _PALE_BLUE) > 100
  assert _pixels_near(tmp_path / "fit.png", _RED) > 100
  assert _pixels_near(tmp_path / "plain.png", _RED) < 5


def test_error_curves_draw_each_curve_in_its_style(tmp_path):
  curves = [{"label": "dcign", "x": [10, 20, 30], "y": [0.01, 0.02, 0.015],
             "style": "C0o-"},
            {"label": "vae", "x": [10, 20, 30], "y": [0.03, 0.04, 0.05],
             "style": "C3o-"}]
  figures.error_curves(str(tmp_path / "both.png"),
                       [{"factor": "azimuth", "curves": curves}], "errors")
  figures.error_curves(str(tmp_path / "one.png"),
                       [{"factor": "azimuth", "curves": curves[:1]}], "e")
  assert _pixels_near(tmp_path / "both.png", _BLUE) > 50
  assert _pixels_near(tmp_path / "both.png", _RED) > 50
  assert _pixels_near(tmp_path / "one.png", _RED) < 5


def test_degree_labels():
  assert figures.degree_labels([-30, 0]) == ["-30°", "+0°"]
  assert figures.degree_labels([15], [1.234]) == ["+15°\nz=+1.2"]
  assert figures.degree_labels([-90, 90], [0.0412, -0.0398]) == [
      "-90°\nz=+0.041", "+90°\nz=-0.04"]
