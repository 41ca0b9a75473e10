"""Tests for dcign_tf.data.factors."""

import numpy as np
import pytest

from dcign_tf.data import factors


def test_group_type_parsing():
  assert factors.GroupType.parse("Azimuth") is factors.GroupType.AZIMUTH
  assert factors.GroupType.parse(3) is factors.GroupType.INTRINSIC
  assert factors.GroupType.LIGHT.factor == "light"
  assert factors.GroupType.INTRINSIC.factor is None
  for bad in ("azimut", "pose", 4, -1, True, None):
    with pytest.raises(ValueError, match="Unknown group type .* allowed: "
                       "azimuth, elevation, light, intrinsic"):
      factors.GroupType.parse(bad)


def test_unknown_factor():
  with pytest.raises(ValueError, match="Unknown scene factor 'azimth'; "
                     "allowed: azimuth, elevation, light"):
    factors.FactorRanges.from_mapping({"azimth": (-10, 10)})
  ranges = factors.FactorRanges.from_mapping({"light": (-45, 45)})
  assert ranges.light == (-45.0, 45.0)
  assert ranges.azimuth == (-90.0, 90.0)


@pytest.mark.parametrize("value,message", [
    ((-181, 0), "leaves \\[-180, 180\\]"),
    ((0, 180.5), "leaves \\[-180, 180\\]"),
    ((10, -10), "low > high"),
    ((1, 2, 3), "must be a pair"),
    ("left", "must be a pair"),
])
def test_range_validation(value, message):
  with pytest.raises(ValueError, match=message):
    factors.FactorRanges(azimuth=value)


@pytest.mark.parametrize("ratio", ["1:1:1:10", (1, 1, 1, 10),
                                   {"azimuth": 1, "elevation": 1, "light": 1,
                                    "intrinsic": 10}])
def test_ratio_forms_agree(ratio):
  np.testing.assert_allclose(factors.parse_ratio(ratio),
                             np.array([1, 1, 1, 10]) / 13)


def test_ratio_mapping_defaults_missing_types_to_zero():
  np.testing.assert_allclose(factors.parse_ratio({"azimuth": 2}), [1, 0, 0, 0])


@pytest.mark.parametrize("ratio,message", [
    ("1:-1:1:10", "negative"),
    ((0, 0, 0, 0), "all-zero"),
    ("1:1:1", "must give 4 weights"),
    ("a:b:c:d", "is not of the form"),
    ((1, 1, np.nan, 1), "negative or non-finite"),
    ({"pose": 1}, "Unknown group type"),
])
def test_bad_ratios(ratio, message):
  with pytest.raises(ValueError, match=message):
    factors.parse_ratio(ratio)


@pytest.mark.parametrize("size", [1, 0, -3, 2.5, True])
def test_group_size_must_be_at_least_two(size):
  with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
    factors.check_group_size(size)


def test_a_fixed_factor_cannot_be_swept():
  ranges = factors.FactorRanges(elevation=(10, 10))
  factors.check_ratio_against_ranges(factors.parse_ratio("1:0:1:1"), ranges)
  with pytest.raises(ValueError, match="elevation groups have weight > 0"):
    factors.check_ratio_against_ranges(factors.parse_ratio("1:1:1:1"), ranges)


def test_widen_towards_interpolates_both_ends():
  narrow = factors.FactorRanges(azimuth=(-30, 30), elevation=(0, 0),
                                light=(-90, 90))
  full = factors.FactorRanges()
  assert narrow.widen_towards(full, 0.0) == narrow
  half = narrow.widen_towards(full, 0.5)
  assert half.azimuth == (-60.0, 60.0)
  assert half.elevation == (-15.0, 15.0)
  assert half.light == (-90.0, 90.0)
  assert narrow.widen_towards(full, 1.0) == full
  assert narrow.widen_towards(full, 7.0) == full
  assert narrow.widen_towards(full, -1.0) == narrow


def test_check_within_names_the_range_that_leaves():
  factors.FactorRanges(azimuth=(-30, 30)).check_within(factors.FactorRanges())
  with pytest.raises(ValueError, match=r"elevation \[-40, 0\] leaves its "
                     r"full range \[-30, 30\]"):
    factors.FactorRanges(elevation=(-40, 0)).check_within(
        factors.FactorRanges())
