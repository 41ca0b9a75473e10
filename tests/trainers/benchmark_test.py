"""Tests for trainers.benchmark (figures are not checked, only produced)."""

import os
import subprocess
import sys

from trainers import benchmark

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_rates_are_positive():
  assert benchmark.render_rate(32, seconds=0.05) > 0
  assert benchmark.group_rate(32, seconds=0.05) > 0


def test_main_prints_a_row_per_size():
  result = subprocess.run(
      [sys.executable, "-m", "trainers.benchmark", "--what=render",
       "--image_sizes=32,48", "--seconds=0.05", "--prepare_groups_per_type=1",
       "--prepare_workers=1"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=300, check=True)
  rows = [line.split() for line in result.stdout.splitlines()
          if line.strip().endswith("min")]
  assert [row[0] for row in rows] == ["32px", "48px"]
  for row in rows:
    assert all(float(value) > 0 for value in row[1:5])


def test_export_benchmark_prints_every_runtime_and_the_targets():
  result = subprocess.run(
      [sys.executable, "-m", "trainers.benchmark", "--what=export",
       "--image_sizes=32", "--seconds=0.01"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split() for line in result.stdout.splitlines()
          if line.startswith("  32px")]
  runtimes = {(row[1], " ".join(row[2:4]) if row[2] == "TFLite" else row[2],
               row[-5] if row[2] == "TFLite" else row[3]) for row in rows}
  for model in ("encoder", "decoder"):
    for runtime in ("SavedModel", "TFLite float32", "TFLite float16",
                    "TFLite dynamic", "TFLite int8"):
      for threads in ("1", "2"):
        assert (model, runtime, threads) in runtimes, (model, runtime)
  targets = [line for line in result.stdout.splitlines()
             if "target" in line]
  assert len(targets) == 2 + 4
  assert all(line.rstrip().endswith(("PASS", "MISS")) for line in targets)
