"""Tests for dcign_tf.disentanglement."""

import json

import numpy as np
import pytest

from dcign_tf import disentanglement as dis

SIZES = (6, 8, 10)


def factor_indices(sizes=SIZES) -> np.ndarray:
  """[*sizes, F] float grid whose entry at f is f itself."""
  axes = np.meshgrid(*[np.arange(size) for size in sizes], indexing="ij")
  return np.stack(axes, axis=-1).astype(np.float64)


def with_extra(codes: np.ndarray, extra: np.ndarray) -> np.ndarray:
  return np.concatenate([codes, extra[..., None]], axis=-1)


def factor_code(sizes=SIZES) -> dis.FactorGrid:
  """One code per factor (the factor itself) plus a constant code."""
  return dis.FactorGrid(with_extra(factor_indices(sizes), np.zeros(sizes)))


def monotone_code() -> dis.FactorGrid:
  """Each factor through its own strictly monotone map."""
  f = factor_indices()
  return dis.FactorGrid(np.stack(
      [np.exp(f[..., 0]), (f[..., 1] - 3.5) ** 3, -np.log1p(f[..., 2])], -1))


def random_code(seed=0) -> dis.FactorGrid:
  """Codes independent of the factors."""
  return dis.FactorGrid(
      np.random.default_rng(seed).normal(size=SIZES + (4,)))


def rotated_code() -> dis.FactorGrid:
  """Factors 0 and 1 (standardised) mixed by a 45 degree rotation."""
  f = factor_indices()
  z = (f - f.mean(axis=(0, 1, 2))) / f.std(axis=(0, 1, 2))
  return dis.FactorGrid(np.stack([(z[..., 0] + z[..., 1]) / np.sqrt(2),
                                  (z[..., 0] - z[..., 1]) / np.sqrt(2),
                                  z[..., 2]], -1))


def rng(seed=0):
  return np.random.default_rng(seed)


# FactorGrid ---------------------------------------------------------------


def test_factor_grid_samples_uniformly_and_looks_up_codes():
  grid = dis.FactorGrid(factor_indices() * 2 + 1, ("id", "az", "el"))
  assert grid.factor_sizes == SIZES
  assert (grid.num_factors, grid.num_codes) == (3, 3)
  factors, codes = grid.sample(3000, rng())
  assert factors.shape == (3000, 3) and factors.dtype == np.int64
  for column, size in enumerate(SIZES):
    counts = np.bincount(factors[:, column], minlength=size)
    assert counts.size == size and counts.min() > 3000 / size * 0.7
  np.testing.assert_array_equal(codes, factors * 2 + 1)
  batches = grid.sample_factors(10, rng()).reshape(2, 5, 3)
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


# MIG ----------------------------------------------------------------------


def test_histogram_discretize_uses_equal_width_bins():
  codes = np.array([[0.0, 5.0], [0.24, 5.0], [0.26, 5.0], [1.0, 5.0]])
  labels = dis.histogram_discretize(codes, num_bins=4)
  # Bins [0, .25), [.25, .5), [.5, .75), [.75, 1]: the maximum is in bin 4.
  np.testing.assert_array_equal(labels[:, 0], [1, 1, 2, 4])
  assert len(set(labels[:, 1])) == 1  # A constant code is one bin.


def test_mig_hand_computed():
  # Both binary factors, every combination twice: exact independence.
  factors = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 2)
  f0, f1 = factors[:, 0], factors[:, 1]
  # Code 0 copies f0; code 1 determines both; code 2 is constant. For f0
  # the two best codes both hold ln 2 (gap 0); for f1 only code 1 does.
  codes = np.stack([f0, f0 + 2 * f1, np.zeros(8)], axis=1)
  result = dis.mig_from_samples(codes, factors)
  np.testing.assert_allclose(result["per_factor"], [0.0, 1.0], atol=1e-12)
  assert result["mig"] == pytest.approx(0.5)
  np.testing.assert_allclose(result["factor_entropy"], [np.log(2)] * 2)
  # A code agreeing with a binary factor 3 times in 4: joint table
  # [[3, 1], [1, 3]] / 8, so I = ln 2 - H(1/4) and MIG = 1 - H2(1/4).
  factor = np.array([0, 0, 0, 0, 1, 1, 1, 1])[:, None]
  noisy = np.array([0, 0, 0, 1, 1, 1, 1, 0.0])
  codes = np.stack([noisy, np.ones(8)], axis=1)
  bits = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
  assert dis.mig_from_samples(codes, factor)["mig"] == pytest.approx(
      1 - bits)


def test_mig_closed_forms():
  assert dis.mig(factor_code(), rng(), num_train=2000)["mig"] > 0.95
  # Monotone maps keeping the grid values in separate histogram bins.
  f = factor_indices()
  gentle = dis.FactorGrid(np.stack(
      [(f[..., 0] + 1) ** 1.5, -np.sqrt(f[..., 1]), f[..., 2] ** 1.2], -1))
  assert dis.mig(gentle, rng(), num_train=2000)["mig"] > 0.95
  assert abs(dis.mig(random_code(), rng(), num_train=2000)["mig"]) < 0.05
  rotated = dis.mig(rotated_code(), rng(), num_train=2000)
  # Only the unrotated factor 2 keeps its gap.
  assert rotated["mig"] < 0.45
  assert rotated["per_factor"][2] > 0.95


def test_mig_rejects_single_code_and_constant_sample():
  with pytest.raises(ValueError, match="num_codes >= 2"):
    dis.mig(dis.FactorGrid(np.zeros((3, 4, 1))), rng(), num_train=100)
  with pytest.raises(ValueError, match=r"factors \[0\] took a single value"):
    dis.mig_from_samples(np.ones((4, 2)), np.array([[0, 0], [0, 1]] * 2))


# DCI ----------------------------------------------------------------------


def test_dci_from_importance_hand_computed():
  identity = dis.dci_from_importance(np.eye(3))
  assert identity["disentanglement"] == pytest.approx(1.0)
  assert identity["completeness"] == pytest.approx(1.0)
  uniform = dis.dci_from_importance(np.ones((3, 3)))
  assert uniform["disentanglement"] == pytest.approx(0.0, abs=1e-9)
  assert uniform["completeness"] == pytest.approx(0.0, abs=1e-9)
  # Code 0 serves factor 0 only (D 1), code 1 both equally (D 0); shares
  # 1/3 and 2/3. Factor 0 uses both codes (C 0), factor 1 one (C 1);
  # shares 2/3 and 1/3.
  mixed = dis.dci_from_importance(np.array([[1.0, 0.0], [1.0, 1.0]]))
  np.testing.assert_allclose(mixed["per_code"], [1.0, 0.0], atol=1e-9)
  np.testing.assert_allclose(mixed["per_factor"], [0.0, 1.0], atol=1e-9)
  assert mixed["disentanglement"] == pytest.approx(1 / 3)
  assert mixed["completeness"] == pytest.approx(1 / 3)
  # An unused code has no share, so it does not lower disentanglement.
  padded = dis.dci_from_importance(np.vstack([np.eye(2), [[0.0, 0.0]]]))
  assert padded["disentanglement"] == pytest.approx(1.0)
  assert padded["completeness"] == pytest.approx(1.0)
  nothing = dis.dci_from_importance(np.zeros((2, 2)))
  assert nothing["disentanglement"] == pytest.approx(0.0, abs=1e-9)


def small_dci(grid, seed=0):
  return dis.dci(grid, rng(seed), num_train=300, num_test=300)


@pytest.mark.parametrize("grid", [factor_code(), monotone_code()],
                         ids=["factors", "monotone"])
def test_dci_of_factor_codes_is_perfect(grid):
  scores = small_dci(grid)
  for key in ("disentanglement", "completeness", "informativeness_train",
              "informativeness_test"):
    assert scores[key] > 0.95, key
  assert scores["importance"].shape == (grid.num_codes, 3)


def test_dci_of_random_and_rotated_codes():
  scores = small_dci(random_code())
  assert scores["disentanglement"] < 0.1
  assert scores["completeness"] < 0.1
  rotated = small_dci(rotated_code())
  # The two mixed codes each split their importance between two factors:
  # 1 - log3(2) = 0.37 each, against 1 for the clean code.
  assert rotated["disentanglement"] < 0.7
  assert rotated["informativeness_test"] > 0.95


# SAP ----------------------------------------------------------------------


def test_squared_correlation():
  x = np.arange(10.0)
  assert dis.squared_correlation(3 - 2 * x, x) == pytest.approx(1.0)
  assert dis.squared_correlation(np.ones(10), x) == 0.0
  assert dis.squared_correlation(np.array([1.0, -1, -1, 1]),
                                 np.array([0.0, 0, 1, 1])) == 0.0


def test_sap_closed_forms():
  kwargs = {"num_train": 1000, "num_test": 1000}
  continuous = dis.sap(factor_code(), rng(), continuous_factors=True,
                       **kwargs)
  assert continuous["sap"] > 0.99
  # Discrete: a copied binary factor is classified perfectly, the other
  # codes at chance (1/2), so the gap is 1/2.
  binary = dis.sap(factor_code((2, 2, 2)), rng(), **kwargs)
  assert binary["sap"] == pytest.approx(0.5, abs=0.05)
  np.testing.assert_array_equal(np.diag(binary["score_matrix"]), 1.0)
  for continuous_factors in (False, True):
    noise = dis.sap(random_code(), rng(), continuous_factors=continuous_factors,
                    **kwargs)
    assert noise["sap"] < 0.05
  rotated = dis.sap(rotated_code(), rng(), continuous_factors=True, **kwargs)
  assert rotated["sap"] < 0.45


# FactorVAE ----------------------------------------------------------------


def test_prune_dims_thresholds_standard_deviation():
  variances = np.array([0.0, 0.05 ** 2, 0.04 ** 2, 1.0])
  np.testing.assert_array_equal(dis.prune_dims(variances),
                                [False, True, False, True])


def test_majority_vote_accuracy_hand_computed():
  votes = np.array([[5, 0, 1, 0],
                    [2, 4, 0, 0]])  # [factors, codes]; code 3 got none.
  classifier = dis.majority_vote_classifier(votes)
  np.testing.assert_array_equal(classifier, [0, 1, 0, 0])
  assert dis.vote_accuracy(votes, classifier) == pytest.approx(10 / 12)
  held_out = np.array([[1, 3, 0, 2],
                       [0, 1, 3, 0]])
  assert dis.vote_accuracy(held_out, classifier) == pytest.approx(4 / 10)


def small_factor_vae(grid, seed=0, **kwargs):
  return dis.factor_vae_score(grid, rng(seed), batch_size=32, num_train=500,
                              num_eval=300, num_variance_estimate=1000,
                              **kwargs)


def test_factor_vae_closed_forms():
  scores = small_factor_vae(factor_code())
  assert scores["train_accuracy"] == scores["eval_accuracy"] == 1.0
  # The constant code is pruned; unpruned, its 0/0 would take every vote.
  assert scores["active_dims"] == [0, 1, 2]
  assert small_factor_vae(monotone_code())["eval_accuracy"] == 1.0
  assert small_factor_vae(random_code())["eval_accuracy"] < 0.45
  assert small_factor_vae(rotated_code())["eval_accuracy"] < 0.8


def test_factor_vae_without_active_dims():
  tiny = dis.FactorGrid(factor_indices() * 1e-3)
  scores = small_factor_vae(tiny)
  assert (scores["train_accuracy"], scores["eval_accuracy"]) == (0.0, 0.0)
  assert scores["num_active_dims"] == 0
  assert "no code dimension" in scores["note"]
  assert small_factor_vae(tiny, prune_threshold=0.0)["eval_accuracy"] == 1.0


# BetaVAE ------------------------------------------------------------------


def small_beta_vae(grid, seed=0):
  return dis.beta_vae_score(grid, rng(seed), batch_size=32, num_train=500,
                            num_eval=300)


def test_beta_vae_points_zero_the_fixed_factors_code():
  features, labels = dis.beta_vae_points(factor_code(), rng(), 16, 50)
  assert features.shape == (50, 4)
  np.testing.assert_array_equal(features[np.arange(50), labels], 0.0)
  assert np.all(np.delete(features, 3, axis=1).sum(axis=1) > 0)


def test_beta_vae_closed_forms():
  for grid in (factor_code(), monotone_code()):
    scores = small_beta_vae(grid)
    assert scores["train_accuracy"] > 0.98
    assert scores["eval_accuracy"] > 0.98
  assert small_beta_vae(random_code())["eval_accuracy"] < 0.5


# All ----------------------------------------------------------------------


SMALL = {"num_train": 300, "num_test": 200, "batch_size": 16,
         "num_variance_estimate": 500}


def test_all_metrics_is_deterministic_and_json_serialisable():
  grid = dis.FactorGrid(
      with_extra(factor_indices(), rng(3).normal(size=SIZES)),
      ("id", "az", "el"))
  first = dis.all_metrics(grid, rng(7), **SMALL)
  again = dis.all_metrics(grid, rng(7), **SMALL)
  assert json.dumps(first) == json.dumps(again)
  assert set(first) == set(dis.METRIC_NAMES) | {"factor_names",
                                                "factor_sizes"}
  assert first["factor_names"] == ["id", "az", "el"]
  assert len(first["dci"]["importance"]) == 4
  other = dis.all_metrics(grid, rng(8), include=("mig", "sap"), **SMALL)
  assert set(other) == {"mig", "sap", "factor_names", "factor_sizes"}
  assert other["mig"]["mig"] != first["mig"]["mig"]
  # Each metric has its own generator, so leaving others out changes none.
  alone = dis.all_metrics(grid, rng(7), include=("beta_vae",), **SMALL)
  assert alone["beta_vae"] == first["beta_vae"]
  with pytest.raises(ValueError, match="unknown metrics"):
    dis.all_metrics(grid, rng(7), include=("modularity",))
