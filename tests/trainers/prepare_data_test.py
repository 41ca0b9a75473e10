"""Tests for trainers.prepare_data and the binaries' error handling."""

import os
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import pytest

from trainers import prepare_data

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_main_prepares_once(tmp_path, capsys):
  flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(image_size=32, group_size=2,
                           train_groups_per_type=1, test_groups_per_type=1,
                           data_dir=str(tmp_path), workers=1):
    prepare_data.main([])
    first = capsys.readouterr().out
    prepare_data.main([])
    second = capsys.readouterr().out
  assert "train_intrinsic: 1 groups" in first
  assert "Already prepared" in second


@pytest.mark.parametrize("module,arguments,message", [
    ("trainers.prepare_data", ["--image_size=16"],
     "image_size must be an integer in [32, 256] pixels, got 16"),
    ("trainers.prepare_data", ["--elevation_range=40,-40"], "low > high"),
    ("trainers.render_preview", ["--face_model=bfm:/none.mat"],
     "'/none.mat' (from 'bfm:/none.mat') does not exist"),
    ("trainers.render_preview", ["--group_size=1"],
     "group_size must be an integer >= 2"),
])
def test_bad_input_is_one_clear_line(tmp_path, module, arguments, message):
  result = subprocess.run(
      [sys.executable, "-m", module, f"--data_dir={tmp_path}",
       f"--output={tmp_path}/x.png", *arguments] if module.endswith("preview")
      else [sys.executable, "-m", module, f"--data_dir={tmp_path}",
            *arguments],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=120, check=False)
  assert result.returncode == 2
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("error: ")
  assert message in last_line
  assert "Traceback" not in result.stderr
  assert not list(tmp_path.iterdir())  # Nothing was written.
