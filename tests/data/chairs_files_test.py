"""Tests for dcign_tf.data.chairs_files: finding, naming, indexing and
reading the 3D chairs renders, from a folder and from a tar, on tiny renders
in the real layout."""

import io
import math
import os
import tarfile

from PIL import Image
import pytest

from dcign_tf.data import chairs_files

CHAIR_A = "1a6f615e8b1b5ae4dbbc9440457e303e"
CHAIR_B = "2b90701386f1813052db1dda4db2ccce"


def _png(grey: int, size: int = 8) -> bytes:
  buffer = io.BytesIO()
  Image.new("L", (size, size), grey).save(buffer, format="PNG")
  return buffer.getvalue()


def _write_folder(manual_dir) -> dict:
  """rendered_chairs/<chair>/renders/ with two renders per chair, junk
  beside them and a file beside the chair folders; returns filename ->
  PNG bytes of the renders."""
  written = {}
  root = os.path.join(manual_dir, chairs_files.RAW_FOLDER)
  for chair, grey in ((CHAIR_A, 10), (CHAIR_B, 200)):
    renders = os.path.join(root, chair, chairs_files.RENDERS_FOLDER)
    os.makedirs(renders)
    for number, (elevation, azimuth) in enumerate(((20, 0), (30, 11))):
      name = f"image_{number:03d}_p{elevation:03d}_t{azimuth:03d}_r096.png"
      data = _png(grey + number)
      with open(os.path.join(renders, name), "wb") as stream:
        stream.write(data)
      written[f"{chairs_files.RAW_FOLDER}/{chair}/renders/{name}"] = data
    with open(os.path.join(renders, ".DS_Store"), "wb") as stream:
      stream.write(b"junk")
  with open(os.path.join(root, "all_chair_names.mat"), "wb") as stream:
    stream.write(b"MATLAB")
  return written


def test_the_folder_is_preferred_to_the_tar(tmp_path):
  written = _write_folder(tmp_path)
  assert written
  with tarfile.open(tmp_path / chairs_files.RAW_TAR, "w") as archive:
    archive.add(tmp_path / chairs_files.RAW_FOLDER,
                arcname=chairs_files.RAW_FOLDER)
  found = chairs_files.check_manual_dir(tmp_path)
  assert found == chairs_files.RawSource(
      str(tmp_path / chairs_files.RAW_FOLDER), is_tar=False)
  os.rename(tmp_path / chairs_files.RAW_FOLDER, tmp_path / "moved")
  assert chairs_files.check_manual_dir(tmp_path).is_tar


def test_a_manual_dir_without_the_data_names_what_it_holds(tmp_path):
  (tmp_path / "chairs.zip").write_bytes(b"")
  with pytest.raises(ValueError, match="holds neither 'rendered_chairs.tar' "
                     r"nor 'rendered_chairs/' \(it holds: chairs.zip\)"):
    chairs_files.check_manual_dir(tmp_path)
  with pytest.raises(ValueError, match="does not exist"):
    chairs_files.check_manual_dir(tmp_path / "missing")


def test_render_names_give_their_labels():
  render = chairs_files.parse_render(CHAIR_A, "image_031_p030_t348_r096.png")
  assert render == chairs_files.Render(
      filename=f"rendered_chairs/{CHAIR_A}/renders/image_031_p030_t348_r096.png",
      chair_name=CHAIR_A, number=31, elevation=30, azimuth=348, distance=96)
  assert chairs_files.parse_render(CHAIR_A, "._image_000.png") is None
  assert chairs_files.parse_render(CHAIR_A, "notes.txt") is None
  with pytest.raises(ValueError, match="does not follow the render pattern"):
    chairs_files.parse_render(CHAIR_A, "image_000_p020.png")


@pytest.mark.parametrize("as_tar", [False, True])
def test_index_and_read_give_every_render_once(tmp_path, as_tar):
  written = _write_folder(tmp_path / "raw")
  if as_tar:
    with tarfile.open(tmp_path / chairs_files.RAW_TAR, "w") as archive:
      archive.add(tmp_path / "raw" / chairs_files.RAW_FOLDER,
                  arcname=chairs_files.RAW_FOLDER)
    source = chairs_files.check_manual_dir(tmp_path)
  else:
    source = chairs_files.check_manual_dir(tmp_path / "raw")
  index = chairs_files.index_renders(source)
  assert sorted(index.renders) == sorted(written)
  assert index.chair_labels == {CHAIR_A: 0, CHAIR_B: 1}
  assert index.elevation_labels == {20: 0, 30: 1}
  read = dict((render.filename, data) for render, data in
              chairs_files.read_renders(source, index, {CHAIR_B}))
  assert read == {name: data for name, data in written.items()
                  if CHAIR_B in name}


def test_a_folder_without_renders_is_refused(tmp_path):
  os.makedirs(tmp_path / chairs_files.RAW_FOLDER / CHAIR_A / "renders")
  source = chairs_files.check_manual_dir(tmp_path)
  with pytest.raises(ValueError, match="No renders were found"):
    chairs_files.index_renders(source)


def test_render_to_array_crops_composites_and_resizes():
  buffer = io.BytesIO()
  image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
  image.paste((50, 50, 50, 255), (10, 10, 30, 30))
  image.save(buffer, format="PNG")
  array = chairs_files.render_to_array(buffer.getvalue(), "z.png", 16)
  assert array.shape == (16, 16, 1) and array.dtype.name == "uint8"
  # Transparent corners become the renders' white; the square stays grey.
  assert array[0, 0, 0] == 255
  assert abs(int(array[8, 8, 0]) - 50) <= 2


def test_a_file_that_is_not_a_tar_is_rejected(tmp_path):
  (tmp_path / chairs_files.RAW_TAR).write_bytes(b"not a tar" * 100)
  with pytest.raises(ValueError, match="is not a tar archive"):
    chairs_files.check_manual_dir(str(tmp_path))


def test_azimuth_classes_of_the_real_azimuths():
  # Whole degrees as in the real names: 31 steps of 360/31, truncated.
  real = [int(step * 360 / 31) for step in range(31)]
  assert [chairs_files.azimuth_class(a) for a in real] == list(range(31))
  assert chairs_files.azimuth_class(360) == 0
  assert chairs_files.azimuth_class(math.nextafter(0, -1)) == 0


def test_render_to_array_rejects_other_images():
  buffer = io.BytesIO()
  Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
  with pytest.raises(ValueError, match="'x.png' is a JPEG image, not a PNG"):
    chairs_files.render_to_array(buffer.getvalue(), "x.png", 32)
  buffer = io.BytesIO()
  Image.new("I;16", (8, 8)).save(buffer, format="PNG")
  with pytest.raises(ValueError, match="'y.png' has Pillow mode 'I;16'"):
    chairs_files.render_to_array(buffer.getvalue(), "y.png", 32)
