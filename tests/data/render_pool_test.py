"""Tests for dcign_tf.data.render_pool."""

import os
import subprocess
import sys

import pytest

from dcign_tf.data import render_pool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_PROBE = '''
import sys


def tensorflow_loaded(_):
  return "tensorflow" in sys.modules
'''

# A binary's shape: TensorFlow imported at the top of the main module.
_MAIN = '''
import sys
import tensorflow
import probe
from dcign_tf.data import render_pool

if __name__ == "__main__":
  with render_pool.worker_pool(2) as pool:
    print("workers", pool.map(probe.tensorflow_loaded, [0, 1]))
  print("main", "tensorflow" in sys.modules, __file__.endswith("main.py"))
'''


def test_workers_start_without_the_parents_tensorflow(tmp_path):
  (tmp_path / "probe.py").write_text(_PROBE)
  (tmp_path / "main.py").write_text(_MAIN)
  result = subprocess.run(
      [sys.executable, str(tmp_path / "main.py")], cwd=str(tmp_path),
      env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"},
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "workers [False, False]" in result.stdout
  # The main module is whole again after the workers started.
  assert "main True True" in result.stdout


def test_one_worker_renders_in_process():
  with render_pool.worker_pool(1) as pool:
    assert pool is None


def test_negative_workers_are_refused():
  with pytest.raises(ValueError, match="workers must be >= 0, got -3"):
    with render_pool.worker_pool(-3):
      pass
