"""Tests of the trainers.face_mask_model binary."""

import os
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _binary(*arguments, cwd=None):
  return subprocess.run([sys.executable, "-m", "trainers.face_mask_model",
                         *arguments], capture_output=True, text=True,
                        check=False, cwd=cwd, env={
                            **os.environ, "PYTHONPATH": REPO_ROOT})


def test_binary_writes_a_model_and_says_how_to_train_on_it(tmp_path):
  output = tmp_path / "models" / "mask.npz"
  result = _binary(f"--output={output}", "--num_heads=6", "--shape_modes=3",
                   "--albedo_modes=2")
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"Train on it: --face_model=npz:{output}" in result.stdout
  with np.load(output) as data:
    assert data["shape_basis"].shape[0] == 3
    assert data["albedo_basis"].shape[0] == 2


_BAD_INPUT = [
    (["--output=mask.npz", "--num_heads=4", "--shape_modes=2",
      "--albedo_modes=2"], "--output=mask.npz exists"),
    (["--output=new.npz", "--num_heads=4"], "shape_modes must be in [1, 3]"),
    (["--output=new.mat", "--num_heads=4", "--shape_modes=2",
      "--albedo_modes=2"], "must end in .npz")]


def test_binary_refuses_bad_input_before_writing(tmp_path, binary_cases):
  (tmp_path / "mask.npz").write_bytes(b"mine")
  results = binary_cases("trainers.face_mask_model",
                         [arguments for arguments, _ in _BAD_INPUT],
                         cwd=tmp_path)
  for (arguments, message), result in zip(_BAD_INPUT, results):
    assert result["status"] == 2, (arguments, result["stderr"][-2000:])
    assert message in result["stderr"].strip().splitlines()[-1], arguments
  assert (tmp_path / "mask.npz").read_bytes() == b"mine"
  assert [p.name for p in tmp_path.iterdir()] == ["mask.npz"]
