"""Tests for export.preset: a trained model dir written as a preset."""

import os
import subprocess
import sys

from dcign_tf import model as model_lib
from dcign_tf import preset_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _binary(*args):
  return subprocess.run([sys.executable, "-m", "export.preset", *args],
                        cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
                        capture_output=True, text=True, timeout=300,
                        check=False)


def test_binary_writes_a_preset_that_loads(tiny_export, tmp_path):
  model_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
      tiny_export["encoder"]))), "model")
  output = tmp_path / "presets"
  result = _binary(f"--model_dir={model_dir}", "--name=tiny",
                   f"--output_dir={output}", "--description=two steps")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "sha256sum -c SHA256SUMS" in result.stdout
  preset = preset_files.open_preset("tiny", str(output))
  assert "--name=tiny" in preset.json(
      preset_files.DESCRIPTION_FILE)["command"]
  model = model_lib.DCIGN.from_preset("tiny", str(output))
  assert model.network.image_size == 32


def test_binary_needs_a_name(tmp_path):
  result = _binary(f"--model_dir={tmp_path}", f"--output_dir={tmp_path}/o")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == "error: --name is required."
  assert not (tmp_path / "o").exists()
