"""Tests for dcign_tf.disentanglement.grid."""

import numpy as np
import pytest

from dcign_tf import disentanglement as dis
from tests.disentanglement import grids


def test_factor_grid_samples_uniformly_and_looks_up_codes():
  grid = dis.FactorGrid(grids.factor_indices() * 2 + 1, ("id", "az", "el"))
  assert grid.factor_sizes == grids.SIZES
  assert (grid.num_factors, grid.num_codes) == (3, 3)
  factors, codes = grid.sample(3000, grids.rng())
  assert factors.shape == (3000, 3) and factors.dtype == np.int64
  for column, size in enumerate(grids.SIZES):
    counts = np.bincount(factors[:, column], minlength=size)
    assert counts.size == size and counts.min() > 3000 / size * 0.7
  np.testing.assert_array_equal(codes, factors * 2 + 1)
  batches = grid.sample_factors(10, grids.rng()).reshape(2, 5, 3)
  np.testing.assert_array_equal(grid.codes_of(batches), batches * 2 + 1)


def test_factor_grid_rejects_bad_input():
  with pytest.raises(ValueError, match=r"rank >= 2.*got shape \(5,\)"):
    dis.FactorGrid(np.zeros(5))
  with pytest.raises(ValueError, match=r"at least 2 values.*\(4, 1\)"):
    dis.FactorGrid(np.zeros((4, 1, 3)))
  codes = np.zeros((3, 3, 2))
  codes[1, 2, 0] = np.nan
  with pytest.raises(ValueError, match="finite; 1 values are NaN or inf"):
    dis.FactorGrid(codes)
  with pytest.raises(ValueError, match="1 factor_names for 2 factors"):
    dis.FactorGrid(np.zeros((3, 3, 2)), ["only"])
  grid = dis.FactorGrid(np.zeros((3, 3, 2)))
  with pytest.raises(ValueError, match=r"in \[0, size\)"):
    grid.codes_of(np.array([[0, 3]]))
  with pytest.raises(ValueError, match="end in 2 columns"):
    grid.codes_of(np.array([[0, 1, 2]]))
