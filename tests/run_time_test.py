"""Tests for dcign_tf.run_time."""

import datetime

import pytest

from dcign_tf import run_time


def test_format_duration():
  assert run_time.format_duration(42) == "42 s"
  assert run_time.format_duration(12 * 60) == "12 min"
  assert run_time.format_duration(3.4 * 3600) == "3.4 h"


def _run(step_seconds, first_step=0, last_step=1000, **kwargs):
  said, now = [], [0.0]
  timer = run_time.StepTimer(
      first_step, last_step, skip=2, measure=5,
      say=lambda text, flush: said.append(text), clock=lambda: now[0],
      wall_clock=lambda: datetime.datetime(2026, 1, 1, 12, 0), **kwargs)
  for step, seconds in zip(range(first_step + 1, last_step + 1),
                           step_seconds):
    now[0] += seconds
    timer.step_done(step)
  return timer, said


def test_the_median_of_the_timed_steps_makes_the_estimate():
  # Two slow first steps (tracing) are skipped; one outlier among the five
  # timed ones does not move the median.
  timer, said = _run([30.0, 5.0, 2.0, 2.0, 9.0, 2.0, 2.0, 2.0, 2.0])
  assert timer.seconds_per_step == 2.0
  # Steps 3-7 are timed: 993 steps left.
  assert timer.estimate_s == pytest.approx(993 * 2.0)
  assert said == ["Measured 2000 ms per step on this machine: the 993 steps "
                  "left take about 33 min (until about 12:33), then the "
                  "evaluation."]


def test_a_resumed_run_counts_from_its_first_step_and_hints_when_long():
  timer, said = _run([10.0] * 20, first_step=500, last_step=2000,
                     long_run_hint="Use a GPU.")
  assert timer.estimate_s == pytest.approx((2000 - 507) * 10.0)
  assert said[0].endswith("then the evaluation. Use a GPU.")
  assert len(said) == 1
  short, said = _run([1.0] * 20, long_run_hint="Use a GPU.")
  assert "Use a GPU" not in said[0]


@pytest.mark.parametrize("network,size,jit,gpu,flags,expected", [
    ("paper", 150, False, False, {"avx2"}, run_time.QUICK_HINT),
    ("small", 128, False, False, {"avx512f"}, run_time.QUICK_HINT),
    ("medium", 64, False, False, {"avx2", "fma"}, run_time.XLA_HINT),
    ("medium", 64, True, False, {"avx2"}, ""),
    ("medium", 64, False, False, {"avx512f", "avx2"}, ""),
    ("paper", 150, False, True, set(), ""),
])
def test_the_long_run_hint_fits_the_run(network, size, jit, gpu, flags,
                                        expected):
  assert run_time.long_run_hint(network, size, jit, gpu, flags) == expected
