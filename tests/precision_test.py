"""Tests for dcign_tf.precision: policies and what a machine can run."""

import keras
import pytest

from dcign_tf import precision


def test_policies_on_a_machine_that_can_run_them():
  assert precision.check_supported("none", gpus=0, flags=()) == "float32"
  assert precision.check_supported("bfloat16", gpus=0,
                                   flags={"avx512_bf16"}) == "mixed_bfloat16"
  assert precision.check_supported("bfloat16", gpus=0,
                                   flags={"amx_bf16"}) == "mixed_bfloat16"
  assert precision.check_supported("float16", gpus=1) == "mixed_float16"
  assert precision.check_supported("bfloat16", gpus=1,
                                   flags=()) == "mixed_bfloat16"


@pytest.mark.parametrize("mixed,gpus,flags,message", [
    ("float16", 0, {"avx512_bf16"}, "float16 needs a GPU"),
    ("bfloat16", 0, {"avx2", "avx512f"},
     "this CPU has no bfloat16 instructions \\(none of avx512_bf16, "
     "amx_bf16"),
    ("int8", 1, (), "Unknown mixed precision 'int8'; allowed: none, "
     "bfloat16, float16"),
])
def test_what_cannot_run_is_named(mixed, gpus, flags, message):
  with pytest.raises(ValueError, match=message):
    precision.check_supported(mixed, gpus=gpus, flags=flags)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
  cpuinfo = tmp_path / "cpuinfo"
  cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n")
  assert precision.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512_bf16"}
  assert precision.cpu_flags(str(tmp_path / "missing")) == set()


def test_policy_scope_restores_the_global_policy():
  before = keras.config.dtype_policy().name
  with precision.policy_scope("mixed_bfloat16"):
    assert keras.layers.Dense(2).compute_dtype == "bfloat16"
  assert keras.config.dtype_policy().name == before
  with pytest.raises(RuntimeError):
    with precision.policy_scope("mixed_float16"):
      raise RuntimeError("inside")
  assert keras.config.dtype_policy().name == before


def test_auto_takes_bfloat16_only_where_it_is_fast():
  assert precision.check_supported("auto", 0, {"avx512_bf16"}) == (
      "mixed_bfloat16")
  assert precision.check_supported("auto", 0, {"amx_bf16", "avx2"}) == (
      "mixed_bfloat16")
  assert precision.check_supported("auto", 1, {"avx2"}) == "mixed_bfloat16"
  assert precision.check_supported("auto", 0, {"avx2", "fma"}) == "float32"
