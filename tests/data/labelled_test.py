"""Tests for dcign_tf.data.labelled."""

import time

import numpy as np
import pytest

from dcign_tf.data import labelled
from dcign_tf.data import npz_files

NAMES = ("azimuth", "lighting", "instance")
# Deliberately sparse, negative and unordered label values: groups must
# depend only on which labels are equal, not on the values themselves.
AZIMUTHS = np.array([-30, -20, -10, 0, 10, 20])
LIGHTINGS = np.array([7, 3, 5])
INSTANCES = np.array([100, 101, 102, 103])


def full_factorial(*values) -> np.ndarray:
  """Every combination of the given label values, one row each."""
  grids = np.meshgrid(*values, indexing="ij")
  return np.stack([grid.reshape(-1) for grid in grids], axis=1)


@pytest.fixture(scope="module")
def tiny():
  labels = full_factorial(AZIMUTHS, LIGHTINGS, INSTANCES)
  assert labels.shape == (72, 3)
  return labels, labelled.LabelledGroups(labels, NAMES,
                                         ("azimuth", "lighting"), 4)


def _column(name):
  return NAMES.index(name)


def test_counts_follow_the_closed_form(tiny):
  _, groups = tiny
  # A combination per value tuple of the factors held fixed.
  assert groups.counts() == {"azimuth": 3 * 4, "lighting": 6 * 4,
                             "intrinsic": 6 * 3}
  assert groups.describe() == ("azimuth: 12 combinations, lighting: 24, "
                               "intrinsic: 18")
  assert groups.group_types == ("azimuth", "lighting", "intrinsic")
  assert groups.intrinsic == ("instance",)


def test_azimuth_groups_vary_only_azimuth(tiny):
  labels, groups = tiny
  rng = np.random.default_rng(0)
  for _ in range(30):
    indices = groups.sample_group(rng, 0)
    assert indices.dtype == np.int64 and indices.shape == (4,)
    group = labels[indices]
    assert len(np.unique(group[:, _column("lighting")])) == 1
    assert len(np.unique(group[:, _column("instance")])) == 1
    # Six azimuths are on offer, so the four shown are distinct.
    assert len(np.unique(group[:, _column("azimuth")])) == 4


def test_intrinsic_groups_hold_designated_factors_and_vary_the_rest(tiny):
  labels, groups = tiny
  rng = np.random.default_rng(1)
  for _ in range(30):
    group = labels[groups.sample_group(rng, 2)]
    assert len(np.unique(group[:, _column("azimuth")])) == 1
    assert len(np.unique(group[:, _column("lighting")])) == 1
    assert sorted(group[:, _column("instance")]) == list(INSTANCES)


def test_groups_repeat_values_when_a_combination_has_fewer_than_g(tiny):
  labels, groups = tiny
  rng = np.random.default_rng(2)
  repeated = set()
  for _ in range(60):
    group = labels[groups.sample_group(rng, 1)]
    assert len(np.unique(group[:, _column("azimuth")])) == 1
    assert len(np.unique(group[:, _column("instance")])) == 1
    lightings = group[:, _column("lighting")]
    # Only three lightings exist for a group of four: all three are shown
    # and one of them twice.
    assert sorted(set(lightings)) == sorted(LIGHTINGS)
    values, counts = np.unique(lightings, return_counts=True)
    assert sorted(counts) == [1, 1, 2]
    repeated.add(int(values[counts == 2][0]))
  # The repeated value is drawn, not always the same one.
  assert repeated == set(LIGHTINGS)


def test_repeated_values_use_distinct_images_where_there_are_some():
  # Two values of "a", three images of each (the "b" label is shared).
  labels = np.array([[0, 0]] * 3 + [[1, 0]] * 3)
  groups = labelled.LabelledGroups(labels, ("a", "b"), ("a",), 4)
  rng = np.random.default_rng(3)
  for _ in range(20):
    indices = groups.sample_group(rng, 0)
    assert len(set(indices.tolist())) == 4
    assert set(labels[indices, 0]) == {0, 1}


def test_min_distinct_skips_combinations_with_too_few_values(tiny):
  labels, _ = tiny
  groups = labelled.LabelledGroups(labels, NAMES, ("azimuth", "lighting"), 4,
                                   min_distinct=4)
  assert groups.counts() == {"azimuth": 12, "lighting": 0, "intrinsic": 18}
  with pytest.raises(ValueError, match=(
      r"labels cannot form any 'lighting' group: every combination of the "
      r"other factors shows fewer than 4 distinct lighting values \(the most "
      r"is 3\); give it weight 0 or use other labels")):
    groups.check_ratio((1, 1, 1))
  with pytest.raises(ValueError, match="cannot form any 'lighting' group"):
    groups.sample_group(np.random.default_rng(0), 1)
  np.testing.assert_allclose(groups.check_ratio((1, 0, 3)), [0.25, 0, 0.75])


def test_sparse_labels_skip_unusable_combinations():
  labels = np.array([
      [0, 0], [1, 0], [2, 0],  # b=0 shows three values of a.
      [0, 1], [1, 1],          # b=1 shows two.
      [0, 2],                  # b=2 shows one: skipped.
      [3, 3], [3, 3],          # b=3: two images, one value of a: skipped.
  ])
  groups = labelled.LabelledGroups(labels, ("a", "b"), ("a",), 2)
  # Intrinsic combinations (by a): a=0 shows b in {0, 1, 2}, a=1 {0, 1};
  # a=2 shows only b=0 and a=3 only b=3.
  assert groups.counts() == {"a": 2, "intrinsic": 2}
  strict = labelled.LabelledGroups(labels, ("a", "b"), ("a",), 3,
                                   min_distinct=3)
  assert strict.counts() == {"a": 1, "intrinsic": 1}
  rng = np.random.default_rng(4)
  shared_b = {int(labels[groups.sample_group(rng, 0), 1][0])
              for _ in range(50)}
  assert shared_b == {0, 1}
  shared_a = {int(labels[groups.sample_group(rng, 1), 0][0])
              for _ in range(50)}
  assert shared_a == {0, 1}


def test_group_is_a_pure_function_of_seed_and_index(tiny):
  _, groups = tiny
  weights = (1, 1, 1)
  for index in (0, 5, 123):
    first_type, first = groups.group(index, 7, weights)
    again_type, again = groups.group(index, 7, weights)
    assert first_type == again_type
    np.testing.assert_array_equal(first, again)
  drawn = {(t, tuple(i)) for t, i in (groups.group(index, 7, weights)
                                      for index in range(20))}
  assert len(drawn) >= 15
  other_seed = [tuple(groups.group(index, 8, weights)[1])
                for index in range(20)]
  same_seed = [tuple(groups.group(index, 7, weights)[1])
               for index in range(20)]
  assert other_seed != same_seed


def test_group_types_follow_the_weights(tiny):
  labels, groups = tiny
  weights = (1.0, 2.0, 5.0)
  drawn = [groups.group(index, 3, weights) for index in range(2000)]
  types = np.array([group_type for group_type, _ in drawn])
  np.testing.assert_allclose(np.bincount(types, minlength=3) / 2000,
                             np.array(weights) / 8, atol=0.03)
  # Each group matches the type it was drawn as.
  for group_type, indices in drawn[:100]:
    group = labels[indices]
    varying = [name for name in NAMES
               if len(np.unique(group[:, _column(name)])) > 1]
    expected = ["instance"] if group_type == 2 else [NAMES[group_type]]
    assert varying == expected


def test_a_type_of_weight_zero_is_never_drawn(tiny):
  _, groups = tiny
  types = {groups.group(index, 0, (0, 1, 1))[0] for index in range(200)}
  assert types == {1, 2}


def test_constant_factor_cannot_form_groups():
  labels = full_factorial(np.arange(3), np.zeros(1, int), np.arange(2))
  groups = labelled.LabelledGroups(labels, NAMES, ("azimuth", "lighting"), 3)
  with pytest.raises(ValueError, match=(
      r"labels cannot form any 'lighting' group: every combination of the "
      r"other factors shows fewer than 2 distinct lighting values \(the most "
      r"is 1\); give it weight 0 or use other labels")):
    groups.check_ratio((1, 1, 1))
  groups.check_ratio((1, 0, 1))


def test_intrinsic_groups_need_an_intrinsic_factor(tiny):
  labels, _ = tiny
  groups = labelled.LabelledGroups(labels, NAMES, NAMES, 3)
  assert groups.counts()["intrinsic"] == 0
  with pytest.raises(ValueError, match=(
      r"cannot form any 'intrinsic' group: every factor is designated "
      r"\(azimuth, lighting, instance\)")):
    groups.check_ratio((1, 1, 1, 1))
  with pytest.raises(ValueError, match="cannot form any 'intrinsic' group"):
    groups.group(0, 0, (0, 0, 0, 1))
  groups.check_ratio((1, 1, 1, 0))


@pytest.mark.parametrize("weights,message", [
    ((1, 1), r"must give 3 weights, one per group type \(azimuth, lighting, "
             r"intrinsic\), got 2"),
    ((1, -1, 1), "must be finite and >= 0, not all zero"),
    ((0, 0, 0), "must be finite and >= 0, not all zero"),
    ((1, np.nan, 1), "must be finite and >= 0, not all zero"),
    (("a", 1, 1), "must be numbers"),
])
def test_malformed_weights(tiny, weights, message):
  _, groups = tiny
  with pytest.raises(ValueError, match=message):
    groups.check_ratio(weights)


def test_bad_group_type_and_index(tiny):
  _, groups = tiny
  with pytest.raises(ValueError, match=r"Unknown group type 3; allowed: 0 to "
                     r"2 \(azimuth, lighting, intrinsic\)"):
    groups.sample_group(np.random.default_rng(0), 3)
  with pytest.raises(ValueError, match="index must be a whole number >= 0, "
                     "got -1"):
    groups.group(-1, 0, (1, 1, 1))


@pytest.mark.parametrize("kwargs,message", [
    (dict(labels=np.zeros(5, int)), r"2-D integer array .* shape \(5,\)"),
    (dict(labels=np.zeros((5, 3))), "2-D integer array .* dtype float64"),
    (dict(labels=np.zeros((0, 3), int)), r"no rows \(shape \(0, 3\)\)"),
    (dict(factor_names=("azimuth", "lighting")),
     "labels have 3 factor columns but 2 factor_names were given"),
    (dict(factor_names=("azimuth", "lighting", "azimuth")),
     "factor_names repeat azimuth; allowed: distinct names"),
    (dict(designated=("azimuth", "pose")),
     "Unknown designated factor 'pose'; allowed: azimuth, lighting, "
     "instance"),
    (dict(designated=()), "designated is empty; allowed: one or more of the "
                          "factors azimuth, lighting, instance"),
    (dict(designated=("azimuth", "azimuth")), "names a factor twice"),
    (dict(group_size=1), "group_size must be a whole number >= 2, got 1"),
    (dict(group_size=2.5), "group_size must be a whole number >= 2, got 2.5"),
    (dict(min_distinct=0), "min_distinct must be a whole number from 1 to 4, "
                           "got 0"),
    (dict(min_distinct=5), "min_distinct must be a whole number from 1 to 4, "
                           "got 5"),
])
def test_constructor_rejects_bad_arguments(tiny, kwargs, message):
  arguments = dict(labels=tiny[0], factor_names=NAMES,
                   designated=("azimuth",), group_size=4)
  arguments.update(kwargs)
  with pytest.raises(ValueError, match=message):
    labelled.LabelledGroups(**arguments)


def test_dsprites_sized_labels_index_quickly():
  labels = full_factorial(*(np.arange(n) for n in (1, 3, 6, 40, 32, 32)))
  assert labels.shape == (737280, 6)
  start = time.perf_counter()
  groups = labelled.LabelledGroups(labels, npz_files.DSPRITES_FACTORS,
                                   ("position_x",), 8)
  drawn = [groups.group(index, 0, (1, 1)) for index in range(100)]
  assert time.perf_counter() - start < 10
  assert groups.counts() == {"position_x": 3 * 6 * 40 * 32, "intrinsic": 32}
  column = npz_files.DSPRITES_FACTORS.index("position_x")
  assert {group_type for group_type, _ in drawn} == {0, 1}
  for group_type, indices in drawn:
    group = labels[indices]
    others = np.delete(group, column, axis=1)
    if group_type == 0:
      assert (others == others[0]).all()
      assert len(np.unique(group[:, column])) == 8
    else:
      assert len(np.unique(group[:, column])) == 1
      assert len(np.unique(others, axis=0)) == 8
