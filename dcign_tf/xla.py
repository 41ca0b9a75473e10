"""Whether a run compiles its training step with XLA.

  True    XLA for each replica's forward and backward pass
  False   TensorFlow's own kernels
  "auto"  XLA on a CPU without AVX-512 training on one device, TensorFlow's
          kernels elsewhere

Which is faster depends on the machine. On a 2-core AVX2-only AMD EPYC, XLA
trained the quick configuration's step (64 px, the `medium` network) 1.6x
faster than TensorFlow's kernels; on 2-core CPUs with AVX-512, where
TensorFlow's oneDNN kernels use the wide vectors and bfloat16, it ran the
`small` and `paper` steps 1.8x and 1.7x slower (docs/benchmarks.md). The
choice cannot be timed at the start of a run: on freshly initialised
weights both took the same time on the AVX2 CPU, and TensorFlow's kernels
slowed only over the first training steps. XLA cannot place one CPU
replica's variables on another CPU device, so "auto" never compiles a
step split over several CPU replicas; on a GPU it has not been measured
here and "auto" keeps TensorFlow's kernels.
"""

from typing import Iterable, Union

AUTO = "auto"
# The /proc/cpuinfo flag of the AVX-512 foundation instructions.
AVX512_CPU_FLAG = "avx512f"

_TRUE = ("true", "t", "1", "yes", "on")
_FALSE = ("false", "f", "0", "no", "off")


def parse(value: Union[bool, str]) -> Union[bool, str]:
  """True, False or "auto" from a flag's text (or one of those values);
  raises ValueError naming the value and what is allowed."""
  if isinstance(value, bool):
    return value
  text = str(value).strip().lower()
  if text in _TRUE:
    return True
  if text in _FALSE:
    return False
  if text == AUTO:
    return AUTO
  raise ValueError(f"jit_compile={value!r}: allowed true, false or auto.")


def check(setting) -> None:
  """Raises ValueError unless `setting` is True, False or "auto"."""
  if not (setting is True or setting is False or setting == AUTO):
    raise ValueError(f"jit_compile={setting!r}: allowed True, False or "
                     f"{AUTO!r}.")


def use_xla(setting: Union[bool, str], on_gpu: bool, replicas: int,
            cpu_flags: Iterable[str]) -> bool:
  """Whether a run with `setting` compiles its step: `setting` itself when
  it is True or False; for "auto", True exactly on a CPU-only machine
  without AVX-512 (`cpu_flags`, as in /proc/cpuinfo) training on one
  replica."""
  check(setting)
  if setting != AUTO:
    return setting
  return (not on_gpu and replicas == 1 and
          AVX512_CPU_FLAG not in set(cpu_flags))


def describe(setting: Union[bool, str], chosen: bool) -> str:
  """One line for the run's log about an "auto" choice (empty otherwise)."""
  if setting != AUTO:
    return ""
  if chosen:
    return ("XLA compiles the training step (--jit_compile=auto: a CPU "
            "without AVX-512, where XLA has trained faster).")
  return ("TensorFlow's kernels run the training step (--jit_compile=auto: "
          "XLA is compiled only on a CPU without AVX-512, on one device).")
