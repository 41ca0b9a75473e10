"""Tests for dcign_tf.data.label_grid."""

import numpy as np

from dcign_tf.data import label_grid


def test_a_complete_grid_maps_every_combination_to_its_image():
  labels = np.array([(s, o) for o in (10, 20, 30) for s in (5, 1)])
  order = np.random.default_rng(0).permutation(len(labels))
  labels = labels[order]
  grid, message = label_grid.index(labels, ("shape", "orientation"))
  assert message is None and grid.factor_sizes == (2, 3)
  np.testing.assert_array_equal(grid.values[0], [1, 5])
  for i, shape in enumerate(grid.values[0]):
    for j, orientation in enumerate(grid.values[1]):
      assert tuple(labels[grid.rows[i, j]]) == (shape, orientation)


def test_duplicates_take_the_first_image():
  labels = np.array([(0, 0), (0, 1), (1, 0), (1, 1), (0, 0)])
  grid, _ = label_grid.index(labels, ("a", "b"))
  assert grid.rows[0, 0] == 0


def test_missing_combinations_are_counted_not_guessed():
  labels = np.array([(0, 0), (0, 1), (1, 0)])
  grid, message = label_grid.index(labels, ("a", "b"))
  assert grid is None
  assert "1 of the 4 combinations of 2 x 2 (a, b) have no image" in message


def test_single_valued_factors_are_left_out():
  labels = np.array([(7, 0, 3), (7, 1, 3), (7, 0, 4), (7, 1, 4)])
  grid, _ = label_grid.index(labels, ("colour", "a", "b"))
  assert grid.factor_names == ("a", "b") and grid.factor_sizes == (2, 2)
  assert tuple(labels[grid.rows[1, 0]]) == (7, 1, 3)
  _, message = label_grid.index(np.zeros((3, 2), int), ("a", "b"))
  assert "no factor has two values" in message
