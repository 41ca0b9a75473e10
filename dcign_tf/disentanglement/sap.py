"""SAP: the separated attribute predictability (Kumar et al. 2018), as
disentanglement_lib computes it."""

import numpy as np
from sklearn import svm

from dcign_tf.disentanglement import grid as grid_lib


def squared_correlation(code: np.ndarray, factor: np.ndarray) -> float:
  """cov(code, factor)^2 / (var(code) var(factor)); 0 for a constant."""
  covariance = np.cov(code, factor, ddof=1)
  variance_product = covariance[0, 0] * covariance[1, 1]
  # disentanglement_lib's cut-off for a code that does not vary.
  if covariance[0, 0] <= 1e-12 or variance_product <= 0:
    return 0.0
  return float(covariance[0, 1] ** 2 / variance_product)


def linear_svc_accuracy(train: tuple, test: tuple, seed: int) -> float:
  """Test accuracy of LinearSVC(C=0.01, balanced) on one code dimension.

  Args:
    train: (factor [count], code [count]) to fit on.
    test: (factor, code) to score on.
    seed: random_state of the classifier.
  """
  (train_factor, train_code), (test_factor, test_code) = train, test
  classifier = svm.LinearSVC(C=0.01, class_weight="balanced",
                             random_state=seed)
  classifier.fit(train_code[:, None], train_factor)
  return float(np.mean(classifier.predict(test_code[:, None]) == test_factor))


def sap_score_matrix(train: tuple, test: tuple, continuous_factors: bool,
                     rng: np.random.Generator) -> np.ndarray:
  """[num_codes, num_factors] predictability of each factor from each code.

  Args:
    train: (factors [count, F], codes [count, N]).
    test: (factors, codes); used by the discrete case only.
    continuous_factors: score by squared correlation on the training
      points instead of by a classifier's test accuracy.
    rng: seeds the classifiers.
  """
  (train_factors, train_codes), (test_factors, test_codes) = train, test
  num_codes, num_factors = train_codes.shape[1], train_factors.shape[1]
  scores = np.zeros((num_codes, num_factors))
  seed = None if continuous_factors else grid_lib.sklearn_seed(rng)
  for code in range(num_codes):
    for factor in range(num_factors):
      if continuous_factors:
        scores[code, factor] = squared_correlation(
            train_codes[:, code], train_factors[:, factor])
      else:
        scores[code, factor] = linear_svc_accuracy(
            (train_factors[:, factor], train_codes[:, code]),
            (test_factors[:, factor], test_codes[:, code]), seed)
  return scores


def top_two_gap(scores: np.ndarray) -> np.ndarray:
  """[num_factors] best minus second best score over codes, per factor."""
  ranked = np.sort(scores, axis=0)
  return ranked[-1] - ranked[-2]


def sap(grid: grid_lib.FactorGrid, rng: np.random.Generator,
        num_train: int = 10000, num_test: int = 5000,
        continuous_factors: bool = False) -> dict:
  """Separated Attribute Predictability (Kumar et al. 2018).

  Matches `evaluation/metrics/sap_score.py` with its study config
  (num_train=10000, num_test=5000, continuous_factors=False).

  Score matrix S[c, k]: in the discrete case, the test accuracy (num_test
  fresh points) of `LinearSVC(C=0.01, class_weight="balanced")` predicting
  factor k from code dimension c alone, fitted on num_train points; in the
  continuous case, the squared correlation cov(c, k)^2 / (var c var k) on
  the training points (0 when var c <= 1e-12). SAP = mean over factors of
  the largest minus the second largest S[., k].

  A one-dimensional linear one-vs-rest classifier can only carve out the
  extreme values of a factor, so in the discrete case even a perfect code
  of a many-valued factor gets an accuracy well below 1, and an
  uninformative one about 1/size: discrete SAP is bounded well below 1
  (about 1/2 for binary factors). The continuous case reaches 1 for codes
  linear in the factor indices.

  Args:
    grid: codes on the factor grid.
    rng: source of the sampled points and the classifiers' seed.
    num_train: points the scores are fitted on.
    num_test: fresh points for the discrete case's accuracy.
    continuous_factors: treat factor indices as numbers (correlation)
      instead of classes (classifier accuracy).

  Returns:
    {"sap": float, "per_factor": [gap per factor],
     "score_matrix": [num_codes, num_factors] array}.
  """
  grid_lib.require_two_codes(grid, "SAP")
  train, test = grid.sample(num_train, rng), grid.sample(num_test, rng)
  scores = sap_score_matrix(train, test, continuous_factors, rng)
  gaps = top_two_gap(scores)
  return {"sap": float(np.mean(gaps)), "per_factor": gaps.tolist(),
          "score_matrix": scores}
