"""Tests for dcign_tf.explorer: the explorer's computations, checked
against closed forms and against export.rerender's re-render."""

import io

import numpy as np
import pytest
from PIL import Image

from dcign_tf import explorer as explorer_lib
from dcign_tf import pretrained
from dcign_tf import rerender

METADATA = {
    "factor_latents": {"azimuth": 0, "light": 2},
    "calibration": {
        "azimuth": {"degrees": [-80.0, 0.0, 80.0],
                    "latent_values": [-2.0, 0.0, 1.0]},
        "light": {"degrees": [-60.0, 60.0], "latent_values": [1.0, -1.0]},
    },
    "ranges": {"azimuth": [-90.0, 90.0], "light": [-90.0, 90.0]},
}


def _png(tmp_path, size=(16, 16), name="face.png"):
  path = tmp_path / name
  Image.new("L", size, 128).save(path)
  return str(path)


def test_read_upload_accepts_an_image(tmp_path):
  path = _png(tmp_path)
  assert explorer_lib.read_upload(path) == open(path, "rb").read()


@pytest.mark.parametrize("content,message", [
    (b"hello", "notes.png is not an image this app can read"),
    (None, "No image was uploaded"),
])
def test_read_upload_refuses_what_is_not_an_image(tmp_path, content,
                                                 message):
  path = tmp_path / "notes.png"
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(ValueError, match=message):
    explorer_lib.read_upload(str(path) if content is not None else None)


def test_read_upload_refuses_a_damaged_image(tmp_path):
  data = open(_png(tmp_path, (64, 64)), "rb").read()
  (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
  with pytest.raises(ValueError, match="cut.png is a damaged image"):
    explorer_lib.read_upload(str(tmp_path / "cut.png"))


def test_read_upload_refuses_over_20_megapixels(tmp_path):
  path = _png(tmp_path, (5000, 4001), "big.png")  # 20.005 MP.
  with pytest.raises(ValueError, match=r"5000 x 4001 = 20.0 megapixels; "
                     "the limit is 20"):
    explorer_lib.read_upload(path)


def test_slider_ranges_and_limits():
  assert explorer_lib.slider_ranges(METADATA) == {
      "azimuth": (-80.0, 80.0), "light": (-60.0, 60.0)}
  assert explorer_lib.slider_limits(METADATA) == {
      "azimuth": (-90.0, 90.0), "light": (-90.0, 90.0)}


def test_clamp_angles_says_what_it_clamped():
  kept, notes = explorer_lib.clamp_angles(METADATA,
                                          {"azimuth": 85.0, "light": 10.0})
  assert kept == {"azimuth": 80.0, "light": 10.0}
  assert notes == ["azimuth 85 deg is outside the calibrated range "
                   "[-80.0, 80.0]; clamped to 80.0."]
  with pytest.raises(ValueError, match="no calibrated latent for 'elevation'"):
    explorer_lib.clamp_angles(METADATA, {"elevation": 0.0})


def test_read_angles_inverts_the_calibration():
  # Latent 0 = 0.5 is azimuth 40 on the 0 -> 80 deg piece (0 -> 1); latent
  # 2 = -0.5 is light 30 (1 at -60 deg to -1 at 60 deg).
  code = np.array([[0.5, 9.0, -0.5]])
  readings = explorer_lib.read_angles(METADATA, code)
  assert readings["azimuth"] == pytest.approx(40.0, abs=0.25)
  assert readings["light"] == pytest.approx(30.0, abs=0.25)


def test_intrinsic_latents_are_the_widest_non_extrinsic_ones():
  rng = np.random.default_rng(0)
  codes = rng.standard_normal((500, 5)) * np.array([9.0, 1.0, 8.0, 3.0, 2.0])
  chosen = explorer_lib.intrinsic_latents(METADATA, codes, count=2)
  assert [index for index, _ in chosen] == [3, 4]
  assert chosen[0][1] == pytest.approx(3.0, rel=0.1)


@pytest.fixture(scope="module")
def preset_explorer():
  export_dir = pretrained.tflite_files("faces_64", "float16")
  return explorer_lib.Explorer(export_dir)


@pytest.mark.slow
@pytest.mark.parametrize("backend", explorer_lib.BACKENDS)
def test_render_equals_export_rerender(preset_explorer, backend):
  data = preset_explorer.test_images(2)[1]
  image, notes = preset_explorer.render(backend, data, {"azimuth": 30.0})
  assert not notes
  expected = rerender.rerender(preset_explorer.backend(backend),
                               preset_explorer.metadata, data,
                               {"azimuth": 30.0})["image"]
  np.testing.assert_allclose(image, expected, atol=1e-5)
  # The float16 decoder draws the same face.
  other, _ = preset_explorer.render(explorer_lib.BACKENDS[0], data,
                                    {"azimuth": 30.0})
  assert np.max(np.abs(image - other)) < 2 / 255


@pytest.mark.slow
def test_render_moves_intrinsic_latents_by_their_spread(preset_explorer):
  images = preset_explorer.test_images(6)
  chosen = preset_explorer.choose_intrinsic_sliders(images, count=2)
  latent, spread = chosen[0]
  data = images[0]
  backend = explorer_lib.SAVED_MODEL
  moved, notes = preset_explorer.render(backend, data, {}, {latent: 5.0})
  assert notes == [f"z{latent + 1} offset 5 is outside [-3, 3]; clamped "
                   "to 3."]
  code = preset_explorer.encode(backend, data).copy()
  code[0, latent] += 3.0 * spread
  expected = preset_explorer.backend(backend).render(code)[0, ..., 0]
  np.testing.assert_allclose(moved, expected, atol=1e-5)
  with pytest.raises(ValueError, match="has no slider"):
    preset_explorer.render(backend, data, {}, {chosen[1][0] + 100: 1.0})


def test_png_bytes_round_trip():
  image = np.linspace(0, 1, 16).reshape(4, 4)
  decoded = np.asarray(Image.open(io.BytesIO(
      explorer_lib.png_bytes(image))))
  np.testing.assert_array_equal(decoded, np.round(image * 255))
