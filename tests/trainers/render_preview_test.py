"""Tests for trainers.render_preview."""

import numpy as np
from absl import flags
from absl.testing import flagsaver
from PIL import Image
import pytest

from dcign_tf.data import groups
from trainers import render_preview


def test_preview_sheet_has_one_row_per_group_and_every_type():
  source = groups.GroupSource(image_size=32, group_size=4)
  sheet = np.asarray(render_preview.preview_sheet(source, groups_per_type=2))
  # 8 rows (2 per type) of 4 images, 32 px with 2 px gaps, plus labels.
  assert sheet.shape == (2 + 8 * 34, 96 + 2 + 4 * 34)
  for row in range(8):
    top = 2 + row * 34
    tile = sheet[top:top + 32, 98:130]
    assert tile.max() > 0  # Every row holds a rendered face.
  with pytest.raises(ValueError, match="groups_per_type must be >= 1"):
    render_preview.preview_sheet(source, groups_per_type=0)


def test_main_writes_the_png(tmp_path):
  flags.FLAGS.mark_as_parsed()
  output = str(tmp_path / "sheet.png")
  with flagsaver.flagsaver(image_size=32, group_size=3, groups_per_type=1,
                           output=output):
    render_preview.main([])
  picture = Image.open(output)
  assert picture.size == (96 + 2 + 3 * 34, 2 + 4 * 34)


def test_main_refuses_an_output_under_a_file_before_rendering(tmp_path,
                                                              monkeypatch):
  flags.FLAGS.mark_as_parsed()
  (tmp_path / "notes").write_text("a file where a folder is needed")
  rendered = []
  monkeypatch.setattr(render_preview, "preview_sheet",
                      lambda *args: rendered.append(args))
  with flagsaver.flagsaver(image_size=32, group_size=3, groups_per_type=1,
                           output=str(tmp_path / "notes" / "sheet.png")):
    with pytest.raises(ValueError, match="its folder cannot be created, "
                       ".*notes is a file"):
      render_preview.main([])
  assert not rendered
