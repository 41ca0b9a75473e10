"""Tests for dcign_tf.xla: when a run compiles its step."""

import pytest

from dcign_tf import xla

AVX2 = {"avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512_bf16"}


@pytest.mark.parametrize("text,value", [
    ("true", True), ("True", True), ("1", True), ("yes", True),
    ("false", False), ("0", False), ("no", False), (" AUTO ", "auto"),
    (True, True), (False, False), ("auto", "auto"),
])
def test_parse(text, value):
  assert xla.parse(text) is value or xla.parse(text) == value


def test_parse_rejects_other_words_naming_them():
  with pytest.raises(ValueError, match=r"jit_compile='sometimes': allowed "
                     "true, false or auto"):
    xla.parse("sometimes")


@pytest.mark.parametrize("setting", [1, 0, "yes", None, "Auto"])
def test_check_rejects_settings_that_are_not_true_false_or_auto(setting):
  with pytest.raises(ValueError, match="allowed True, False or 'auto'"):
    xla.check(setting)


@pytest.mark.parametrize("setting", [True, False])
@pytest.mark.parametrize("on_gpu,replicas,flags", [
    (False, 1, AVX2), (False, 1, AVX512), (True, 1, AVX2), (False, 2, AVX2)])
def test_an_explicit_setting_is_kept_on_every_machine(setting, on_gpu,
                                                      replicas, flags):
  assert xla.use_xla(setting, on_gpu, replicas, flags) is setting


@pytest.mark.parametrize("on_gpu,replicas,flags,chosen", [
    (False, 1, AVX2, True),     # AVX2-only CPU: XLA trained 1.6x faster.
    (False, 1, set(), True),    # No /proc/cpuinfo: no AVX-512 known.
    (False, 1, AVX512, False),  # oneDNN's AVX-512 kernels were faster.
    (True, 1, AVX2, False),     # Not measured on a GPU.
    (False, 2, AVX2, False),    # XLA cannot span CPU replicas.
])
def test_auto_compiles_only_on_one_cpu_device_without_avx512(
    on_gpu, replicas, flags, chosen):
  assert xla.use_xla("auto", on_gpu, replicas, flags) is chosen


def test_describe_speaks_only_of_an_auto_choice():
  assert xla.describe(True, True) == xla.describe(False, False) == ""
  assert "XLA compiles" in xla.describe("auto", True)
  assert "TensorFlow's kernels" in xla.describe("auto", False)
