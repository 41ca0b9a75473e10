"""Tests for trainers.benchmark and the benchmark library modules."""

import itertools
import os
import subprocess
import sys

import pytest

from dcign_tf import configs
from dcign_tf import flops
from dcign_tf import train_benchmark
from dcign_tf import render_benchmark

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _ticks():
  """A clock that reads 0, 1, 2, ... seconds, one tick per reading."""
  return itertools.count().__next__


def test_timed_rate_counts_images_over_the_clocks_seconds():
  calls = []
  step = lambda: calls.append(1) or 7
  # Readings: start 0; 1 < 2.5 and 2 < 2.5 run two steps; 3 ends; 4 divides.
  assert render_benchmark.timed_rate(step, 2.5, _ticks()) == 14 / 4
  assert len(calls) == 3  # One warm-up step, not counted.


def test_render_and_group_rates_count_their_images():
  # A render step draws 10 images; a group step one group of 20.
  assert render_benchmark.render_rate(32, 1.5, clock=_ticks()) == 10 / 3
  assert render_benchmark.group_rate(32, 1.5, clock=_ticks()) == 20 / 3


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


def test_training_flops_are_counted_from_the_layers():
  network = configs.NetworkConfig(
      image_size=16, latent_size=6, encoder_filters=(4,), encoder_kernels=(3,),
      decoder_filters=(), decoder_kernels=(3,), padding="same")
  # Encoder conv 16x16x(3x3x1 -> 4), two heads from 8x8x4, the decoder's
  # linear layer to 8x8x4 and its image-making conv of the upsampled map,
  # computed at 8x8 padded to 10x10 as a matmul from 4 channels to 4 phases
  # of 3x3 taps; multiply-adds count 2 FLOPs.
  forward = (2 * 16 * 16 * 9 * 4 + 2 * 2 * 8 * 8 * 4 * 6 + 2 * 6 * 8 * 8 * 4
             + 2 * 10 * 10 * 4 * 4 * 9)
  assert flops.forward_flops_per_image(network) == forward
  # Upsampled first: the matmul runs at every pixel of the padded 16x16 map.
  direct = forward - 2 * 10 * 10 * 4 * 4 * 9 + 2 * 18 * 18 * 4 * 9
  assert flops.forward_flops_per_image(network, phases=False) == direct
  # Weight gradients cost a forward pass, input gradients one more but for
  # the first layer, whose input (the image) needs none.
  assert train_benchmark.training_flops_per_image(network) == (
      3 * forward - 2 * 16 * 16 * 9 * 4)


_ALLOCATES = r"""
import subprocess, sys, time
block = bytearray(200 * 2**20)
child = subprocess.Popen([sys.executable, "-c",
    "import time; b = bytearray(150 * 2**20); time.sleep(2)"])
time.sleep(1.5)
print("done", flush=True)
child.wait()
"""


def test_peak_memory_covers_the_process_tree():
  # The same two processes without the allocations: what interpreters take
  # on this machine, whatever it is.
  idle = _ALLOCATES.replace("200 * 2**20", "0").replace("150 * 2**20", "0")
  status, lines, peak = train_benchmark.peak_tree_rss(
      [sys.executable, "-c", _ALLOCATES], poll_seconds=0.1)
  idle_status, _, idle_peak = train_benchmark.peak_tree_rss(
      [sys.executable, "-c", idle], poll_seconds=0.1)
  assert status == 0 and idle_status == 0 and lines == ["done"]
  # Parent 200 MiB + child 150 MiB, both alive at once.
  assert (peak - idle_peak) / 2**20 == pytest.approx(350, rel=0.15)


def test_matmul_rate_is_flops_over_the_fastest_call():
  # Every clock reading advances a quarter second: each call takes 0.25 s.
  readings = (0.25 * i for i in itertools.count())
  rate = train_benchmark.matmul_rate(size=64, seconds=0,
                                     clock=readings.__next__)
  assert rate == 2 * 64**3 / 0.25


def test_train_benchmark_prints_every_variant_and_the_targets():
  result = subprocess.run(
      [sys.executable, "-m", "trainers.benchmark", "--what=train",
       "--presets=tiny", "--variants=float32,xla", "--steps=1",
       "--quick_rss_steps=0", "--seconds=0.2", "--matmul_seconds=0.1",
       "--matmul_size=256"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split() for line in result.stdout.splitlines()
          if line.startswith("tiny ")]
  assert [row[1] for row in rows] == ["float32", "xla"]
  for row in rows:
    assert all(float(value) > 0 for value in row[2:7])
    # The share is the step's FLOP rate over the matmul's.
    assert float(row[7].rstrip("%")) == pytest.approx(
        100 * float(row[5]) / float(row[6]), abs=1)
  assert "peak GFLOP/s of a 256 x 256 matmul" in result.stdout
  assert "Input pipeline alone, tiny (32 px, prepared data)" in result.stdout
  assert "Peak resident memory, tiny preset" in result.stdout
  targets = result.stdout.split("Targets:")[1].strip().splitlines()
  assert any("GPU" in line for line in targets)
  assert all(line.rstrip().endswith(("PASS", "MISS", "NOT MEASURED"))
             for line in targets)


def test_train_benchmark_names_a_bad_preset():
  result = subprocess.run(
      [sys.executable, "-m", "trainers.benchmark", "--what=train",
       "--presets=huge"], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 2
  assert "Unknown preset 'huge'; allowed: paper, small, tiny" in result.stderr


def test_check_request_names_what_measures_nothing():
  with pytest.raises(ValueError, match="Unknown variant 'fp8'; allowed: "
                     "float32, xla"):
    train_benchmark.check_request(["tiny"], ["fp8"], 1, 0)
  with pytest.raises(ValueError, match="--steps must be >= 1 and "
                     "--quick_rss_steps >= 0, got 0 and 0"):
    train_benchmark.check_request(["tiny"], ["xla"], 0, 0)
  with pytest.raises(ValueError, match="--matmul_size must be >= 1, got 0"):
    train_benchmark.check_request(["tiny"], ["xla"], 1, 0, matmul_size=0)
