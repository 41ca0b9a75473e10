"""How long a job will take, measured on the machine it runs on.

A FLOP count divided by an assumed rate is off by 4x between two 2-core
CPUs (AVX-512 or not), and says nothing of live rendering or input
pipelines. These estimates time the job's own first units of work instead.
"""

import datetime
import time


def format_duration(seconds: float) -> str:
  """'42 s', '12 min' or '3.4 h'."""
  if seconds < 90:
    return f"{seconds:.0f} s"
  if seconds < 90 * 60:
    return f"{seconds / 60:.0f} min"
  return f"{seconds / 3600:.1f} h"


class StepTimer:
  """Estimates the rest of a training run from its own step times.

  The first `skip` steps are not timed (graph tracing, the input pipeline
  filling up); the median of the next `measure` step times, times the steps
  left, is the estimate, said once.

  Args:
    first_step: the step the run starts (or resumes) at.
    last_step: the run's final step.
    skip, measure: steps left out, then timed.
    say: where the estimate goes (print).
    clock: seconds, monotonic.
    wall_clock: datetime.datetime.now, for the end time.
    long_run_hint: said after the estimate when it exceeds an hour.
  """

  def __init__(self, first_step: int, last_step: int, skip: int = 10,
               measure: int = 50, say=print, clock=time.monotonic,
               wall_clock=datetime.datetime.now, long_run_hint: str = ""):
    self.first_step, self.last_step = first_step, last_step
    self.skip, self.measure = skip, measure
    self.say, self.clock, self.wall_clock = say, clock, wall_clock
    self.durations = []
    self.previous = None
    self.estimate_s = None
    self.seconds_per_step = None
    self.long_run_hint = long_run_hint

  def step_done(self, step: int):
    """Call after each step with its number (1-based)."""
    now = self.clock()
    if self.previous is not None and step > self.first_step + self.skip:
      self.durations.append(now - self.previous)
    self.previous = now
    if self.estimate_s is not None or len(self.durations) < self.measure:
      return
    ordered = sorted(self.durations)
    self.seconds_per_step = ordered[len(ordered) // 2]
    left = self.last_step - step
    self.estimate_s = left * self.seconds_per_step
    end = self.wall_clock() + datetime.timedelta(seconds=self.estimate_s)
    self.say(f"Measured {self.seconds_per_step * 1000:.0f} ms per step on "
             f"this machine: the {left} steps left take about "
             f"{format_duration(self.estimate_s)} (until about "
             f"{end:%H:%M}), then the evaluation."
             + (f" {self.long_run_hint}" if self.long_run_hint and
                self.estimate_s > 3600 else ""), flush=True)


# The quick configuration's network or smaller: a long run of it on a CPU
# is the CPU's speed, not the configuration's size.
QUICK_IMAGE_SIZE = 64
XLA_HINT = ("Without AVX-512, --jit_compile (XLA) has trained this step "
            "1.6x faster (2-core AMD EPYC, docs/benchmarks.md).")
QUICK_HINT = "For a quick CPU run use --flagfile=faces_quick.flags."


def long_run_hint(network: str, image_size: int, jit_compile: bool,
                  on_gpu: bool, cpu_flags) -> str:
  """What a CPU run estimated at over an hour can do about it: the quick
  flagfile for a larger network, XLA for a quick-sized one on a CPU
  without AVX-512 (where it has been faster), else nothing."""
  if on_gpu:
    return ""
  if network == "paper" or image_size > QUICK_IMAGE_SIZE:
    return QUICK_HINT
  if not jit_compile and "avx512f" not in set(cpu_flags):
    return XLA_HINT
  return ""
