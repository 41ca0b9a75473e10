"""Tests for trainers.prepare_data and the binaries' error handling."""

from absl import flags
from absl.testing import flagsaver
import pytest

from trainers import prepare_data

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


_BAD_INPUT = {
    "trainers.prepare_data": [
        (["--image_size=16"],
         "image_size must be an integer in [32, 256] pixels, got 16"),
        (["--elevation_range=40,-40"], "low > high")],
    "trainers.render_preview": [
        (["--face_model=bfm:/none.mat"],
         "'/none.mat' (from 'bfm:/none.mat') does not exist"),
        (["--group_size=1"], "group_size must be an integer >= 2")],
}


@pytest.mark.parametrize("module", sorted(_BAD_INPUT))
def test_bad_input_is_one_clear_line(tmp_path, binary_cases, module):
  extra = ([f"--output={tmp_path}/x.png"] if module.endswith("preview")
           else [])
  results = binary_cases(module, [
      [f"--data_dir={tmp_path}", *extra, *arguments]
      for arguments, _ in _BAD_INPUT[module]])
  for (arguments, message), result in zip(_BAD_INPUT[module], results):
    assert result["status"] == 2, (arguments, result["stderr"][-2000:])
    last_line = result["stderr"].strip().splitlines()[-1]
    assert last_line.startswith("error: "), arguments
    assert message in last_line, arguments
    assert "Traceback" not in result["stderr"], arguments
  assert not list(tmp_path.iterdir())  # Nothing was written.
