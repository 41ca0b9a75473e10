"""Tests for dcign_tf.disentanglement.sap."""

import numpy as np
import pytest

from dcign_tf.disentanglement import sap
from tests.disentanglement import grids


def test_squared_correlation():
  x = np.arange(10.0)
  assert sap.squared_correlation(3 - 2 * x, x) == pytest.approx(1.0)
  assert sap.squared_correlation(np.ones(10), x) == 0.0
  assert sap.squared_correlation(np.array([1.0, -1, -1, 1]),
                                 np.array([0.0, 0, 1, 1])) == 0.0


def test_sap_closed_forms():
  kwargs = {"num_train": 1000, "num_test": 1000}
  continuous = sap.sap(grids.factor_code(), grids.rng(), continuous_factors=True,
                       **kwargs)
  assert continuous["sap"] > 0.99
  # Discrete: a copied binary factor is classified perfectly, the other
  # codes at chance (1/2), so the gap is 1/2.
  binary = sap.sap(grids.factor_code((2, 2, 2)), grids.rng(), **kwargs)
  assert binary["sap"] == pytest.approx(0.5, abs=0.05)
  np.testing.assert_array_equal(np.diag(binary["score_matrix"]), 1.0)
  for continuous_factors in (False, True):
    noise = sap.sap(grids.random_code(), grids.rng(), continuous_factors=continuous_factors,
                    **kwargs)
    assert noise["sap"] < 0.05
  rotated = sap.sap(grids.rotated_code(), grids.rng(), continuous_factors=True, **kwargs)
  assert rotated["sap"] < 0.45
