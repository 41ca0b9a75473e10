"""Tests for dcign_tf.data.held_out."""

import numpy as np
import pytest

from dcign_tf.data import held_out

NAMES = ("shape", "scale", "orientation", "x")


def _grid(shapes=6, scales=5, orientations=4, xs=3):
  return np.array([(s, c, o, x) for s in range(shapes) for c in range(scales)
                   for o in range(orientations) for x in range(xs)])


def test_no_test_image_is_a_training_image_and_objects_stay_whole():
  labels = _grid()
  train, test = held_out.split(labels, NAMES, ("orientation", "x"))
  assert len(np.intersect1d(train, test)) == 0
  assert len(train) + len(test) == len(labels)
  # A held-out (shape, scale) object is held out in all 4 x 3 views.
  held = {tuple(row) for row in labels[test][:, :2]}
  assert not held & {tuple(row) for row in labels[train][:, :2]}
  assert len(test) == 12 * len(held)
  # 10 % of the 30 objects.
  assert len(held) == 3


def test_the_split_depends_on_the_labels_not_their_order():
  labels = _grid()
  _, test = held_out.split(labels, NAMES, ("orientation",))
  order = np.random.default_rng(0).permutation(len(labels))
  _, shuffled_test = held_out.split(labels[order], NAMES, ("orientation",))
  assert ({tuple(r) for r in labels[test]} ==
          {tuple(r) for r in labels[order][shuffled_test]})


def test_small_sets_keep_two_combinations_on_each_side_when_they_can():
  labels = _grid(shapes=4, scales=1)
  train, test = held_out.split(labels, NAMES, ("orientation", "x"))
  assert len(np.unique(labels[test][:, 0])) == 2
  assert len(np.unique(labels[train][:, 0])) == 2


def test_all_factors_designated_holds_out_whole_label_tuples():
  labels = _grid(shapes=1, scales=1, orientations=10, xs=10)
  train, test = held_out.split(labels, NAMES, NAMES)
  assert len(test) == 10 and len(train) == 90


def test_a_single_combination_cannot_be_split():
  with pytest.raises(ValueError, match="same labels"):
    held_out.split(np.zeros((5, 4), np.int64), NAMES, ("x",))
  with pytest.raises(ValueError, match="fraction must lie in"):
    held_out.split(_grid(), NAMES, ("x",), fraction=1.0)
