"""Tests for dcign_tf.preset_files: finding, checking and reading presets."""

import os
import shutil

import numpy as np
import pytest

from dcign_tf import preset_files


def _copy_of(name, tmp_path):
  shutil.copytree(os.path.join(preset_files.PRESETS_DIR, name),
                  tmp_path / name)
  return str(tmp_path)


def test_the_package_ships_faces_64_within_the_size_limit():
  assert "faces_64" in preset_files.names()
  preset = preset_files.open_preset("faces_64")
  for file_name in preset_files.FILES:
    assert os.path.getsize(preset.file(file_name)) <= (
        preset_files.MAX_FILE_BYTES)
  description = preset.json(preset_files.DESCRIPTION_FILE)
  assert "trainers.train" in description["command"]
  assert description["weights_dtype"] == "float16"


def test_unknown_preset_lists_the_known_ones():
  with pytest.raises(preset_files.PresetError,
                     match=r"Unknown preset 'faces_65'; known presets: "
                     r".*faces_64"):
    preset_files.open_preset("faces_65")


@pytest.mark.parametrize("file_name", preset_files.FILES)
def test_a_corrupted_file_is_named(tmp_path, file_name):
  directory = _copy_of("faces_64", tmp_path)
  path = os.path.join(directory, "faces_64", file_name)
  data = bytearray(open(path, "rb").read())
  data[len(data) // 2] ^= 0x01  # One bit.
  open(path, "wb").write(bytes(data))
  with pytest.raises(preset_files.PresetError,
                     match=f"corrupted: .*{file_name} has SHA-256"):
    preset_files.open_preset("faces_64", directory)


def test_a_missing_file_is_named(tmp_path):
  directory = _copy_of("faces_64", tmp_path)
  os.remove(os.path.join(directory, "faces_64", preset_files.METRICS_FILE))
  with pytest.raises(preset_files.PresetError,
                     match=r"incomplete: .*metrics.json is missing"):
    preset_files.open_preset("faces_64", directory)


def test_a_malformed_checksum_line_is_refused(tmp_path):
  directory = _copy_of("faces_64", tmp_path)
  path = os.path.join(directory, "faces_64", preset_files.CHECKSUMS_FILE)
  with open(path, "a") as stream:
    stream.write("not a checksum line\n")
  with pytest.raises(preset_files.PresetError, match="is not '<sha256>"):
    preset_files.open_preset("faces_64", directory)


def test_checksums_match_sha256sum_format(tmp_path):
  (tmp_path / "a.txt").write_bytes(b"abc")
  preset_files.write_checksums(str(tmp_path), files=("a.txt",))
  # SHA-256("abc"), FIPS 180-2's first example.
  assert (tmp_path / "SHA256SUMS").read_text() == (
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  "
      "a.txt\n")


class _Variable:

  def __init__(self, shape, path):
    self.shape, self.path, self.dtype = shape, path, "float32"
    self.value = None

  def assign(self, value):
    self.value = value


def test_weights_round_trip_in_order_as_float16(tmp_path):
  values = [("a/kernel", np.array([[0.1, -2.5], [3.0, 1e-3]])),
            ("a/bias", np.array([7.0]))]
  folder = tmp_path / "p"
  folder.mkdir()
  preset_files.write_weights(str(folder / preset_files.WEIGHTS_FILE), values)
  preset = preset_files.Preset("p", str(folder), {})
  read = preset.weights()
  assert [name for name, _ in read] == ["a/kernel", "a/bias"]
  np.testing.assert_array_equal(
      read[0][1], values[0][1].astype(np.float16).astype(np.float32))
  variables = [_Variable((2, 2), "k"), _Variable((1,), "b")]
  preset_files.assign_weights(preset, variables)
  np.testing.assert_array_equal(variables[1].value, [7.0])
  with pytest.raises(preset_files.PresetError, match="holds 2 variables"):
    preset_files.assign_weights(preset, variables[:1])
  with pytest.raises(preset_files.PresetError, match=r"shape \(1,\)"):
    preset_files.assign_weights(preset, [_Variable((2, 2), "k"),
                                         _Variable((2,), "b")])


def test_digest_names_the_contents():
  one = preset_files.Preset("p", "", {"a": "1" * 64, "b": "2" * 64})
  other = preset_files.Preset("p", "", {"a": "1" * 64, "b": "3" * 64})
  assert one.digest != other.digest and len(one.digest) == 64
