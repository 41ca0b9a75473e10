"""Tests for the export.explore binary: its refusals, before any work."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_binary_refuses_an_unknown_preset():
  result = subprocess.run(
      [sys.executable, "-m", "export.explore", "--preset=faces_65"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=300, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert "Unknown preset 'faces_65'; known presets: faces_64" in (
      result.stderr.strip().splitlines()[-1])
