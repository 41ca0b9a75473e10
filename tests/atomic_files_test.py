"""Tests for dcign_tf.atomic_files."""

import json
import os

import pytest

from dcign_tf import atomic_files


def test_write_json_atomically_replaces_the_file_and_leaves_no_temporary(
    tmp_path):
  path = str(tmp_path / "metrics.json")
  atomic_files.write_json_atomically(path, {"b": 1, "a": [1, 2]})
  atomic_files.write_json_atomically(path, {"a": 3})
  with open(path) as stream:
    assert json.load(stream) == {"a": 3}
  assert os.listdir(tmp_path) == ["metrics.json"]


def test_publish_folder_replaces_the_earlier_folder_whole(tmp_path):
  out = tmp_path / "report"
  out.mkdir()
  (out / "old.txt").write_text("old")

  def fill(staging):
    with open(os.path.join(staging, "new.txt"), "w") as stream:
      stream.write("new")
    return 7

  assert atomic_files.publish_folder(str(out), fill) == 7
  assert sorted(os.listdir(out)) == ["new.txt"]
  assert sorted(os.listdir(tmp_path)) == ["report"]


def test_a_failing_fill_leaves_the_earlier_folder_byte_identical(tmp_path):
  out = tmp_path / "report"
  out.mkdir()
  (out / "old.txt").write_bytes(b"\x00old")

  def fill(staging):
    with open(os.path.join(staging, "half.txt"), "w") as stream:
      stream.write("half")
    raise RuntimeError("disk full")

  with pytest.raises(RuntimeError, match="disk full"):
    atomic_files.publish_folder(str(out), fill)
  assert sorted(os.listdir(out)) == ["old.txt"]
  assert (out / "old.txt").read_bytes() == b"\x00old"
  assert sorted(os.listdir(tmp_path)) == ["report"]


def test_check_output_file_accepts_new_folders_and_refuses_the_impossible(
    tmp_path):
  atomic_files.check_output_file(str(tmp_path / "a" / "b" / "out.png"), "out")
  assert not (tmp_path / "a").exists()  # Checking creates nothing.
  (tmp_path / "file").write_text("x")
  with pytest.raises(ValueError, match=r"--out=.*file/out.png: its folder "
                     "cannot be created, .*file is a file"):
    atomic_files.check_output_file(str(tmp_path / "file" / "out.png"), "out")
  with pytest.raises(ValueError, match="--sheet=.* is a folder"):
    atomic_files.check_output_file(str(tmp_path), "sheet")
