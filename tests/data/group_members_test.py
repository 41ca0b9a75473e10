"""Tests for dcign_tf.data.group_members."""

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf.data import group_members


def _group(count=6):
  return {"images": tf.reshape(tf.range(count * 4, dtype=tf.float32),
                               (count, 2, 2, 1)),
          "azimuth": tf.range(count, dtype=tf.float32) * 10.0,
          "group_type": tf.constant(2, tf.int64)}


def test_keeps_distinct_members_in_stored_order_with_their_values():
  kept = group_members.keep_members(_group(), 3, seed=4, index=7)
  azimuth = kept["azimuth"].numpy()
  members = (azimuth / 10).astype(int)
  assert len(set(members)) == 3 and list(members) == sorted(members)
  np.testing.assert_array_equal(
      kept["images"].numpy(), _group()["images"].numpy()[members])
  assert int(kept["group_type"]) == 2


def test_the_choice_depends_on_seed_and_index_alone():
  first = group_members.keep_members(_group(), 2, 1, 5)["azimuth"].numpy()
  again = group_members.keep_members(_group(), 2, 1, 5)["azimuth"].numpy()
  np.testing.assert_array_equal(first, again)
  draws = {tuple(group_members.keep_members(_group(), 2, 1, i)["azimuth"]
                 .numpy()) for i in range(60)}
  assert len(draws) > 5  # Other slots choose other members.


def test_all_members_is_the_whole_group():
  kept = group_members.keep_members(_group(), 6, 0, 0)
  np.testing.assert_array_equal(kept["azimuth"].numpy(),
                                np.arange(6) * 10.0)


@pytest.mark.parametrize("members", [0, 2, 5])
def test_allowed_values_pass(members):
  assert group_members.check_members_per_group(members, 5) == members


@pytest.mark.parametrize("members", [1, 6, 2.5, True, -1])
def test_bad_values_name_the_range(members):
  with pytest.raises(ValueError, match=r"integer in \[2, group_size=5\], "
                     f"got {members!r}"):
    group_members.check_members_per_group(members, 5)
