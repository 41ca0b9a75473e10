"""Tests for dcign_tf.data.retrieval_views (32 px, tiny groups)."""

import numpy as np

from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.data import retrieval_views


def test_source_views_stay_in_range():
  np.testing.assert_allclose(
      retrieval_views.source_views(0.0, -90.0, 90.0),
      [-90, -67.5, -45, -22.5, 22.5, 45, 67.5, 90])
  np.testing.assert_allclose(
      retrieval_views.source_views(80.0, -90.0, 90.0),
      [-10, 12.5, 35, 57.5])
  assert retrieval_views.source_views(5.0, 5.0, 5.0).size == 0


def test_renders_the_test_group_and_its_identities_at_other_views():
  source = groups.GroupSource(image_size=32, group_size=3,
                              ranges=factors.FactorRanges(light=(0.0, 0.0)))
  rendered = retrieval_views.render_retrieval_groups(source, "test", 1)
  assert len(rendered) == 1
  group = rendered[0]
  # The targets are the test intrinsic group's own pixels.
  example = source.example(("test", int(factors.GroupType.INTRINSIC), 0))
  np.testing.assert_array_equal(group["targets"], example["images"])
  assert group["target_view"]["azimuth"] == example["azimuth"][0]
  trial_factors = {trial["factor"] for trial in group["trials"]}
  # A fixed light cannot move: no light trials.
  assert trial_factors == {"azimuth", "elevation"}
  for trial in group["trials"]:
    assert trial["sources"].shape == (3, 32, 32, 1)
    assert trial["sources"].dtype == np.uint8
    assert abs(trial["delta"]) > 0
    low, high = source.ranges.span(trial["factor"])
    assert low <= trial["source_degrees"] <= high
    assert not np.array_equal(trial["sources"], group["targets"])
