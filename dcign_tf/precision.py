"""Mixed precision: which Keras dtype policy a run uses, and whether this
machine can run it.

  none      float32 throughout
  bfloat16  Keras "mixed_bfloat16": bfloat16 compute, float32 variables;
            needs a GPU or a CPU with bfloat16 instructions (AVX512-BF16 or
            AMX-BF16); on other CPUs TensorFlow emulates it slower than
            float32
  float16   Keras "mixed_float16" with dynamic loss scaling; a GPU only
  auto      bfloat16 where it is fast (a GPU, or a CPU with bfloat16
            instructions), none elsewhere: one flagfile for every machine

The model keeps its posterior, KL term, clamp and pixel loss in float32
(`model.DCIGN.encode` / `decode_logits`): only the convolutions and linear
layers run in the reduced type.
"""

import contextlib
from typing import Iterable, Optional

import keras

MIXED_PRECISION = ("none", "bfloat16", "float16", "auto")
POLICIES = {"none": "float32", "bfloat16": "mixed_bfloat16",
            "float16": "mixed_float16"}
# /proc/cpuinfo flags of CPUs with native bfloat16 arithmetic.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(path: str = "/proc/cpuinfo") -> set:
  """The CPU's feature flags (empty where /proc/cpuinfo is unavailable)."""
  try:
    with open(path) as stream:
      for line in stream:
        if line.startswith("flags"):
          return set(line.partition(":")[2].split())
  except OSError:
    pass
  return set()


def check_supported(mixed_precision: str, gpus: int,
                    flags: Optional[Iterable[str]] = None) -> str:
  """The Keras policy name for `mixed_precision`; raises ValueError when
  this machine (`gpus` GPUs, CPU `flags`) cannot run it."""
  if mixed_precision not in MIXED_PRECISION:
    raise ValueError(f"Unknown mixed precision {mixed_precision!r}; allowed: "
                     f"{', '.join(MIXED_PRECISION)}.")
  if mixed_precision == "auto":
    flags = cpu_flags() if flags is None else set(flags)
    fast = gpus or flags & set(BFLOAT16_CPU_FLAGS)
    return POLICIES["bfloat16" if fast else "none"]
  if gpus or mixed_precision == "none":
    return POLICIES[mixed_precision]
  if mixed_precision == "float16":
    raise ValueError("--mixed_precision=float16 needs a GPU (CPUs have no "
                     "fast float16 arithmetic); on this CPU-only machine use "
                     "--mixed_precision=bfloat16 if the CPU supports it, or "
                     "none.")
  flags = cpu_flags() if flags is None else set(flags)
  if not flags & set(BFLOAT16_CPU_FLAGS):
    raise ValueError("--mixed_precision=bfloat16: this CPU has no bfloat16 "
                     f"instructions (none of {', '.join(BFLOAT16_CPU_FLAGS)} "
                     "in /proc/cpuinfo) and no GPU is visible, so it would "
                     "run slower than float32; use --mixed_precision=none.")
  return POLICIES[mixed_precision]


@contextlib.contextmanager
def policy_scope(policy: str):
  """Layers built inside take `policy`; the global policy is restored after
  (a policy is a process-wide setting in Keras)."""
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(policy)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)
