"""Tests for dcign_tf.data.factor_grid."""

import numpy as np
import pytest

from dcign_tf.data import factor_grid
from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

SOURCE = groups.GroupSource(image_size=32, group_size=3, seed=4)


def test_bin_centres_closed_form():
  centres = factor_grid.bin_centres(factors.FactorRanges(), 3)
  np.testing.assert_allclose(centres["azimuth"], [-60, 0, 60])
  np.testing.assert_allclose(centres["elevation"], [-20, 0, 20])
  with pytest.raises(ValueError, match=">= 2 bins per factor, got 1"):
    factor_grid.bin_centres(factors.FactorRanges(), 1)


def test_every_grid_point_is_its_own_render():
  grid = factor_grid.render_grid(SOURCE, identities=2, bins=2)
  assert grid["images"].shape == (2, 2, 2, 2, 32, 32, 1)
  assert grid["images"].dtype == np.uint8
  model = SOURCE.model()
  for i, a, e, l in [(0, 0, 0, 0), (1, 1, 0, 1), (1, 0, 1, 1)]:
    mesh = model.mesh(grid["identities"][i], image_size=32)
    expected = groups.to_uint8(renderer.render(
        mesh, grid["azimuth"][a], grid["elevation"][e], grid["light"][l],
        SOURCE.camera))
    np.testing.assert_array_equal(grid["images"][i, a, e, l, ..., 0],
                                  expected)
  # The identities are not the same face twice.
  assert not np.allclose(grid["identities"][0], grid["identities"][1])
  # Deterministic for the source's seed.
  again = factor_grid.render_grid(SOURCE, identities=2, bins=2)
  np.testing.assert_array_equal(again["images"], grid["images"])


def test_grid_needs_two_identities():
  with pytest.raises(ValueError, match=">= 2 identities, got 1"):
    factor_grid.render_grid(SOURCE, identities=1, bins=2)
