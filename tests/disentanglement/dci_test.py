"""Tests for dcign_tf.disentanglement.dci."""

import numpy as np
import pytest

from dcign_tf.disentanglement import dci
from tests.disentanglement import grids


def test_dci_from_importance_hand_computed():
  identity = dci.dci_from_importance(np.eye(3))
  assert identity["disentanglement"] == pytest.approx(1.0)
  assert identity["completeness"] == pytest.approx(1.0)
  uniform = dci.dci_from_importance(np.ones((3, 3)))
  assert uniform["disentanglement"] == pytest.approx(0.0, abs=1e-9)
  assert uniform["completeness"] == pytest.approx(0.0, abs=1e-9)
  # Code 0 serves factor 0 only (D 1), code 1 both equally (D 0); shares
  # 1/3 and 2/3. Factor 0 uses both codes (C 0), factor 1 one (C 1);
  # shares 2/3 and 1/3.
  mixed = dci.dci_from_importance(np.array([[1.0, 0.0], [1.0, 1.0]]))
  np.testing.assert_allclose(mixed["per_code"], [1.0, 0.0], atol=1e-9)
  np.testing.assert_allclose(mixed["per_factor"], [0.0, 1.0], atol=1e-9)
  assert mixed["disentanglement"] == pytest.approx(1 / 3)
  assert mixed["completeness"] == pytest.approx(1 / 3)
  # An unused code has no share, so it does not lower disentanglement.
  padded = dci.dci_from_importance(np.vstack([np.eye(2), [[0.0, 0.0]]]))
  assert padded["disentanglement"] == pytest.approx(1.0)
  assert padded["completeness"] == pytest.approx(1.0)
  nothing = dci.dci_from_importance(np.zeros((2, 2)))
  assert nothing["disentanglement"] == pytest.approx(0.0, abs=1e-9)


def small_dci(grid, seed=0):
  return dci.dci(grid, grids.rng(seed), num_train=300, num_test=300)


@pytest.mark.parametrize("grid", [grids.factor_code(), grids.monotone_code()],
                         ids=["factors", "monotone"])
def test_dci_of_factor_codes_is_perfect(grid):
  scores = small_dci(grid)
  for key in ("disentanglement", "completeness", "informativeness_train",
              "informativeness_test"):
    assert scores[key] > 0.95, key
  assert scores["importance"].shape == (grid.num_codes, 3)


def test_dci_of_random_and_rotated_codes():
  scores = small_dci(grids.random_code())
  assert scores["disentanglement"] < 0.1
  assert scores["completeness"] < 0.1
  rotated = small_dci(grids.rotated_code())
  # The two mixed codes each split their importance between two factors:
  # 1 - log3(2) = 0.37 each, against 1 for the clean code.
  assert rotated["disentanglement"] < 0.7
  assert rotated["informativeness_test"] > 0.95
