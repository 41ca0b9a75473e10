"""DCI: disentanglement, completeness and informativeness (Eastwood &
Williams 2018) from gradient-boosted trees, as disentanglement_lib computes
them."""

from concurrent import futures
import os

import numpy as np
from scipy import stats
from sklearn import ensemble

from dcign_tf.disentanglement import grid as grid_lib


def _one_minus_entropy(weights: np.ndarray, base: int) -> np.ndarray:
  """1 - entropy (log base `base`) of each normalised column of weights."""
  if base == 1:
    # One possible outcome: the distribution is certain, entropy 0.
    return np.ones(weights.shape[1])
  return 1.0 - stats.entropy(weights + grid_lib.ENTROPY_EPSILON, base=base,
                             axis=0)


def _shares(totals: np.ndarray) -> np.ndarray:
  # With no importance anywhere, disentanglement_lib weighs all equally.
  if totals.sum() == 0:
    return np.full(totals.shape, 1.0 / totals.size)
  return totals / totals.sum()


def dci_from_importance(importance: np.ndarray) -> dict:
  """Disentanglement and completeness of an importance matrix.

  Args:
    importance: [num_codes, num_factors] non-negative importance of each
      code dimension for predicting each factor.

  Returns:
    {"disentanglement", "completeness": floats,
     "per_code": 1 - entropy (base num_factors) of each code's normalised
       row, "per_factor": 1 - entropy (base num_codes) of each factor's
       normalised column}. Disentanglement weighs per_code by each code's
       share of the total importance, completeness weighs per_factor by
       each factor's share (disentanglement_lib `dci.disentanglement` and
       `dci.completeness`).
  """
  importance = np.asarray(importance, np.float64)
  num_codes, num_factors = importance.shape
  per_code = _one_minus_entropy(importance.T, num_factors)
  per_factor = _one_minus_entropy(importance, num_codes)
  code_share = _shares(importance.sum(axis=1))
  factor_share = _shares(importance.sum(axis=0))
  return {"disentanglement": float(np.sum(per_code * code_share)),
          "completeness": float(np.sum(per_factor * factor_share)),
          "per_code": per_code.tolist(),
          "per_factor": per_factor.tolist()}


def gradient_boosting_importance(train: tuple, test: tuple,
                                 rng: np.random.Generator) -> tuple:
  """Per factor, a default GradientBoostingClassifier on all codes.

  Args:
    train: (factors [count, F], codes [count, N]) to fit on.
    test: (factors, codes) to measure accuracy on.
    rng: seeds the classifiers (their split tie-breaking is random).

  Returns:
    (importance [N, F] = |feature_importances_|, train accuracy [F],
     test accuracy [F]).
  """
  (train_factors, train_codes), (test_factors, test_codes) = train, test
  num_factors = train_factors.shape[1]
  seeds = [grid_lib.sklearn_seed(rng) for _ in range(num_factors)]

  def fit(factor):
    model = ensemble.GradientBoostingClassifier(random_state=seeds[factor])
    model.fit(train_codes, train_factors[:, factor])
    return (np.abs(model.feature_importances_),
            model.score(train_codes, train_factors[:, factor]),
            model.score(test_codes, test_factors[:, factor]))

  # sklearn grows trees without the GIL, so threads fit the factors' models
  # in parallel (the seeds are drawn first: the result does not depend on
  # the order they finish in).
  with futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
    fitted = list(pool.map(fit, range(num_factors)))
  importance = np.stack([f[0] for f in fitted], axis=1)
  train_accuracy = np.array([f[1] for f in fitted])
  test_accuracy = np.array([f[2] for f in fitted])
  return importance, train_accuracy, test_accuracy


def dci(grid: grid_lib.FactorGrid, rng: np.random.Generator,
        num_train: int = 10000, num_test: int = 5000) -> dict:
  """DCI disentanglement, completeness, informativeness (Eastwood 2018).

  Matches `evaluation/metrics/dci.py` with its study config
  (num_train=10000, num_test=5000) and classifier: one
  `GradientBoostingClassifier()` with sklearn's defaults per factor, fitted
  on all code dimensions of num_train sampled points. Slow at the defaults
  (100 boosting stages x one tree per factor value, per factor); pass
  smaller sizes for a quick look.

  importance[c, k] = |feature importance| of code c in factor k's model.
  Disentanglement = sum over codes of (1 - entropy of the code's
  normalised importance row, log base num_factors) x (the code's share of
  all importance). Completeness = sum over factors of (1 - entropy of the
  factor's normalised importance column, log base num_codes) x (the
  factor's share). Informativeness = classification accuracy averaged over
  factors, on the training points and on num_test fresh ones.

  Args:
    grid: codes on the factor grid.
    rng: source of the sampled points and the classifiers' seeds.
    num_train: points the classifiers are fitted on.
    num_test: fresh points for test accuracy.

  Returns:
    {"disentanglement", "completeness", "informativeness_train",
     "informativeness_test": floats, "importance": [N, F] array,
     "per_code", "per_factor": lists (see `dci_from_importance`),
     "informativeness_test_per_factor": list}.
  """
  train, test = grid.sample(num_train, rng), grid.sample(num_test, rng)
  importance, train_accuracy, test_accuracy = gradient_boosting_importance(
      train, test, rng)
  scores = dci_from_importance(importance)
  scores.update(informativeness_train=float(np.mean(train_accuracy)),
                informativeness_test=float(np.mean(test_accuracy)),
                informativeness_test_per_factor=test_accuracy.tolist(),
                importance=importance)
  return scores
