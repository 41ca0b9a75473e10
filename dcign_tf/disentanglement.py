"""Disentanglement metrics of disentanglement_lib, on a factor grid of codes.

The field's standard scores (MIG, DCI, SAP, FactorVAE, BetaVAE) with the
definitions, default sample sizes and default classifiers of
google-research/disentanglement_lib (`disentanglement_lib/evaluation/
metrics/*.py` and the `unsupervised_study_v1` metric configs).

disentanglement_lib samples observations from a ground-truth simulator and
encodes them. Here the representation of every combination of factor values
has been computed beforehand: a `FactorGrid` holds codes of shape
[*factor_sizes, num_codes], and "encoding an observation with factors f" is
the lookup codes[f]. Factor values are grid indices, so every factor is
discrete (continuous factors were binned by the caller).

Arrays here are sample-major: codes [count, num_codes], factors
[count, num_factors] (disentanglement_lib transposes both). All randomness
comes from the `np.random.Generator` passed in, so a seed fixes the result.
"""

from concurrent import futures
import dataclasses
import os
from typing import Optional, Sequence

import numpy as np
from scipy import stats
from sklearn import ensemble, linear_model, metrics, svm

# disentanglement_lib adds this before taking entropies so that a code (or
# factor) with no importance at all gets a uniform, not an undefined, row.
_ENTROPY_EPSILON = 1e-11
# Sampling tens of thousands of batches at once would hold
# points x batch x codes floats; this many points per chunk bounds memory.
_POINTS_PER_CHUNK = 256
METRIC_NAMES = ("mig", "dci", "sap", "factor_vae", "beta_vae")


@dataclasses.dataclass(frozen=True)
class FactorGrid:
  """Codes of every grid point of the generative factors.

  Attributes:
    codes: [*factor_sizes, num_codes] representation (posterior mean) of the
      observation at each combination of factor indices.
    factor_names: optional name per factor, for reports.
  """
  codes: np.ndarray
  factor_names: Optional[Sequence[str]] = None

  def __post_init__(self):
    codes = np.asarray(self.codes)
    if codes.ndim < 2:
      raise ValueError(
          f"codes must have rank >= 2, [*factor_sizes, num_codes], got shape "
          f"{codes.shape}.")
    if not np.issubdtype(codes.dtype, np.number):
      raise ValueError(f"codes must be numeric, got dtype {codes.dtype}.")
    sizes = codes.shape[:-1]
    if min(sizes) < 2:
      raise ValueError(
          f"every factor needs at least 2 values for the metrics to see it "
          f"vary; factor sizes are {sizes}.")
    if codes.shape[-1] < 1:
      raise ValueError(f"codes have no dimensions: shape {codes.shape}.")
    codes = codes.astype(np.float64)
    if not np.all(np.isfinite(codes)):
      bad = int(np.sum(~np.isfinite(codes)))
      raise ValueError(f"codes must be finite; {bad} values are NaN or inf.")
    names = self.factor_names
    if names is not None:
      names = tuple(str(name) for name in names)
      if len(names) != len(sizes):
        raise ValueError(
            f"{len(names)} factor_names for {len(sizes)} factors "
            f"(factor sizes {sizes}).")
    object.__setattr__(self, "codes", codes)
    object.__setattr__(self, "factor_names", names)

  @property
  def factor_sizes(self) -> tuple:
    return self.codes.shape[:-1]

  @property
  def num_factors(self) -> int:
    return len(self.factor_sizes)

  @property
  def num_codes(self) -> int:
    return self.codes.shape[-1]

  def sample_factors(self, count: int,
                     rng: np.random.Generator) -> np.ndarray:
    """[count, num_factors] factor indices, each uniform and independent."""
    columns = [rng.integers(0, size, count) for size in self.factor_sizes]
    return np.stack(columns, axis=-1).astype(np.int64)

  def codes_of(self, factors: np.ndarray) -> np.ndarray:
    """[..., num_codes] codes at factor indices [..., num_factors]."""
    factors = np.asarray(factors)
    if factors.shape[-1:] != (self.num_factors,):
      raise ValueError(
          f"factors must end in {self.num_factors} columns, got shape "
          f"{factors.shape}.")
    if np.any(factors < 0) or np.any(factors >= np.array(self.factor_sizes)):
      raise ValueError(
          f"factor indices must lie in [0, size) for sizes "
          f"{self.factor_sizes}.")
    return self.codes[tuple(np.moveaxis(factors, -1, 0))]

  def sample(self, count: int, rng: np.random.Generator) -> tuple:
    """(factors [count, num_factors], codes [count, num_codes])."""
    factors = self.sample_factors(count, rng)
    return factors, self.codes_of(factors)


def _sklearn_seed(rng: np.random.Generator) -> int:
  # scikit-learn takes an int or RandomState, not a Generator; a seed drawn
  # from the caller's generator keeps the whole metric reproducible.
  return int(rng.integers(2 ** 31 - 1))


def _require_two_codes(grid: FactorGrid, metric: str):
  if grid.num_codes < 2:
    raise ValueError(
        f"{metric} takes the gap between the two best code dimensions per "
        f"factor, so it needs num_codes >= 2, got {grid.num_codes}.")


# MIG ----------------------------------------------------------------------


def histogram_discretize(codes: np.ndarray, num_bins: int) -> np.ndarray:
  """[count, num_codes] bin labels 1..num_bins of each code dimension.

  Each dimension is cut into `num_bins` equal-width bins spanning its own
  sample range (np.histogram edges), as disentanglement_lib's
  `utils._histogram_discretize`; the maximum lands in the last bin.
  """
  codes = np.asarray(codes, np.float64)
  labels = np.zeros(codes.shape, np.int64)
  for dim in range(codes.shape[1]):
    edges = np.histogram(codes[:, dim], num_bins)[1]
    labels[:, dim] = np.digitize(codes[:, dim], edges[:-1])
  return labels


def mutual_info_matrix(discrete_codes: np.ndarray,
                       factors: np.ndarray) -> np.ndarray:
  """[num_codes, num_factors] empirical mutual information in nats."""
  num_codes, num_factors = discrete_codes.shape[1], factors.shape[1]
  info = np.zeros((num_codes, num_factors))
  for code in range(num_codes):
    for factor in range(num_factors):
      info[code, factor] = metrics.mutual_info_score(
          factors[:, factor], discrete_codes[:, code])
  return info


def factor_entropies(factors: np.ndarray) -> np.ndarray:
  """[num_factors] empirical entropy of each factor in nats."""
  return np.array([metrics.mutual_info_score(column, column)
                   for column in np.asarray(factors).T])


def mig_from_samples(codes: np.ndarray, factors: np.ndarray,
                     num_bins: int = 20) -> dict:
  """MIG of sampled codes [count, num_codes] and factors [count, F].

  See `mig` for the definition.

  Raises:
    ValueError: a factor took one value only, so its entropy is 0 and its
      normalised gap undefined.
  """
  info = mutual_info_matrix(histogram_discretize(codes, num_bins), factors)
  entropy = factor_entropies(factors)
  if np.any(entropy <= 0):
    constant = np.flatnonzero(entropy <= 0).tolist()
    raise ValueError(
        f"factors {constant} took a single value in the sample, so MIG is "
        f"undefined for them; sample more points.")
  ranked = np.sort(info, axis=0)[::-1]
  per_factor = (ranked[0] - ranked[1]) / entropy
  return {"mig": float(np.mean(per_factor)),
          "per_factor": per_factor.tolist(),
          "mutual_info": info,
          "factor_entropy": entropy.tolist()}


def mig(grid: FactorGrid, rng: np.random.Generator, num_train: int = 10000,
        num_bins: int = 20) -> dict:
  """Mutual Information Gap (Chen et al. 2018), as disentanglement_lib.

  Matches `evaluation/metrics/mig.py` with the `unsupervised_study_v1`
  config (num_train=10000, histogram discretizer with num_bins=20).

  Samples num_train grid points uniformly. Each code dimension is binned
  into num_bins equal-width bins over its sample range; I[c, k] is the
  empirical mutual information between binned code c and factor k, H[k]
  the empirical entropy of factor k (both in nats, sklearn's
  `mutual_info_score`). For each factor, the gap is the largest minus the
  second largest I[., k] over codes, divided by H[k]; MIG is the mean gap
  over factors. 1: each factor is fully captured by one code and by no
  other; 0: the two best codes know equally much about it.

  Args:
    grid: codes on the factor grid.
    rng: source of the sampled grid points.
    num_train: points sampled.
    num_bins: histogram bins per code dimension.

  Returns:
    {"mig": float, "per_factor": [gap / entropy per factor],
     "mutual_info": [num_codes, num_factors] array,
     "factor_entropy": [entropy per factor]}.
  """
  _require_two_codes(grid, "MIG")
  factors, codes = grid.sample(num_train, rng)
  return mig_from_samples(codes, factors, num_bins)


# DCI ----------------------------------------------------------------------


def _one_minus_entropy(weights: np.ndarray, base: int) -> np.ndarray:
  """1 - entropy (log base `base`) of each normalised column of weights."""
  if base == 1:
    # One possible outcome: the distribution is certain, entropy 0.
    return np.ones(weights.shape[1])
  return 1.0 - stats.entropy(weights + _ENTROPY_EPSILON, base=base, axis=0)


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
  seeds = [_sklearn_seed(rng) for _ in range(num_factors)]

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


def dci(grid: FactorGrid, rng: np.random.Generator, num_train: int = 10000,
        num_test: int = 5000) -> dict:
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


# SAP ----------------------------------------------------------------------


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
  seed = None if continuous_factors else _sklearn_seed(rng)
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


def sap(grid: FactorGrid, rng: np.random.Generator, num_train: int = 10000,
        num_test: int = 5000, continuous_factors: bool = False) -> dict:
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
  _require_two_codes(grid, "SAP")
  train, test = grid.sample(num_train, rng), grid.sample(num_test, rng)
  scores = sap_score_matrix(train, test, continuous_factors, rng)
  gaps = top_two_gap(scores)
  return {"sap": float(np.mean(gaps)), "per_factor": gaps.tolist(),
          "score_matrix": scores}


# FactorVAE ----------------------------------------------------------------


def prune_dims(variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
  """Mask of code dimensions whose standard deviation is >= threshold.

  Dimensions below it are taken to have collapsed to the prior; their
  near-zero variance would otherwise win every argmin vote.
  """
  return np.sqrt(np.asarray(variances, np.float64)) >= threshold


def _chunks(total: int):
  for start in range(0, total, _POINTS_PER_CHUNK):
    yield min(_POINTS_PER_CHUNK, total - start)


def factor_vae_votes(grid: FactorGrid, rng: np.random.Generator,
                     batch_size: int, num_points: int,
                     global_variances: np.ndarray,
                     active: np.ndarray) -> np.ndarray:
  """[num_factors, num_codes] counts of (fixed factor, argmin code) votes.

  Each vote: a factor k uniform over factors; batch_size grid points
  uniform except factor k, which all share the first point's value; the
  vote goes to the active code dimension with the smallest
  variance (ddof=1) over the batch relative to its global variance.
  """
  votes = np.zeros((grid.num_factors, grid.num_codes), np.int64)
  active_dims = np.flatnonzero(active)
  for count in _chunks(num_points):
    fixed = rng.integers(0, grid.num_factors, count)
    factors = grid.sample_factors(count * batch_size, rng).reshape(
        count, batch_size, grid.num_factors)
    points = np.arange(count)
    factors[points, :, fixed] = factors[points, :1, fixed]
    codes = grid.codes_of(factors)[:, :, active_dims]
    relative = codes.var(axis=1, ddof=1) / global_variances[active_dims]
    np.add.at(votes, (fixed, active_dims[np.argmin(relative, axis=1)]), 1)
  return votes


def majority_vote_classifier(votes: np.ndarray) -> np.ndarray:
  """[num_codes] factor most often voted for each code (ties: lowest)."""
  return np.argmax(votes, axis=0)


def vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
  """Fraction of votes whose factor is the one the classifier gives."""
  correct = votes[classifier, np.arange(votes.shape[1])].sum()
  return float(correct / votes.sum())


def factor_vae_score(grid: FactorGrid, rng: np.random.Generator,
                     batch_size: int = 64, num_train: int = 10000,
                     num_eval: int = 5000,
                     num_variance_estimate: int = 10000,
                     prune_threshold: float = 0.05) -> dict:
  """FactorVAE metric (Kim & Mnih 2018), as disentanglement_lib.

  Matches `evaluation/metrics/factor_vae.py` with its study config
  (batch_size=64, num_train=10000, num_eval=5000,
  num_variance_estimate=10000, prune_dims.threshold=0.05).

  Global variance of each code dimension (ddof=1) over
  num_variance_estimate uniform points; dimensions with standard deviation
  below prune_threshold are inactive. Each of num_train votes fixes one
  random factor over a batch of batch_size points and votes (that factor,
  the active code with the smallest batch variance / global variance).
  The classifier maps each code to the factor it got most training votes
  for (factor 0 for codes without votes); train and eval accuracy are the
  fractions of training votes and of num_eval fresh votes that it gets
  right. 1: fixing a factor always silences one dedicated code; chance is
  about 1/num_factors.

  Args:
    grid: codes on the factor grid.
    rng: source of all sampled points.
    batch_size: points per vote.
    num_train: votes the classifier is built from.
    num_eval: fresh votes it is evaluated on.
    num_variance_estimate: points for the global variances.
    prune_threshold: minimum standard deviation of an active dimension.

  Returns:
    {"train_accuracy", "eval_accuracy": floats, "num_active_dims": int,
     "active_dims": [indices]}, plus "note" when no dimension is active
     (then both accuracies are 0, as in disentanglement_lib).
  """
  if batch_size < 2:
    raise ValueError(f"batch_size must be >= 2 to have a batch variance, "
                     f"got {batch_size}.")
  _, codes = grid.sample(num_variance_estimate, rng)
  global_variances = codes.var(axis=0, ddof=1)
  active = prune_dims(global_variances, prune_threshold)
  scores = {"train_accuracy": 0.0, "eval_accuracy": 0.0,
            "num_active_dims": int(active.sum()),
            "active_dims": np.flatnonzero(active).tolist()}
  if not active.any():
    scores["note"] = (f"no code dimension has standard deviation >= "
                      f"{prune_threshold}; accuracies set to 0.")
    return scores
  train_votes = factor_vae_votes(grid, rng, batch_size, num_train,
                                 global_variances, active)
  classifier = majority_vote_classifier(train_votes)
  eval_votes = factor_vae_votes(grid, rng, batch_size, num_eval,
                                global_variances, active)
  scores["train_accuracy"] = vote_accuracy(train_votes, classifier)
  scores["eval_accuracy"] = vote_accuracy(eval_votes, classifier)
  return scores


# BetaVAE ------------------------------------------------------------------


def beta_vae_points(grid: FactorGrid, rng: np.random.Generator,
                    batch_size: int, num_points: int) -> tuple:
  """(features [num_points, num_codes], labels [num_points]).

  Each point: a factor k uniform over factors, two batches of batch_size
  uniform grid points in which the second batch copies factor k from the
  first pairwise; feature = mean over pairs of |code1 - code2|, label k.
  """
  features, labels = [], []
  for count in _chunks(num_points):
    fixed = rng.integers(0, grid.num_factors, count)
    shape = (count, batch_size, grid.num_factors)
    first = grid.sample_factors(count * batch_size, rng).reshape(shape)
    second = grid.sample_factors(count * batch_size, rng).reshape(shape)
    points = np.arange(count)
    second[points, :, fixed] = first[points, :, fixed]
    difference = np.abs(grid.codes_of(first) - grid.codes_of(second))
    features.append(difference.mean(axis=1))
    labels.append(fixed)
  return np.concatenate(features), np.concatenate(labels)


def beta_vae_score(grid: FactorGrid, rng: np.random.Generator,
                   batch_size: int = 64, num_train: int = 10000,
                   num_eval: int = 5000) -> dict:
  """BetaVAE metric (Higgins et al. 2017), as disentanglement_lib.

  Matches `evaluation/metrics/beta_vae.py` (`compute_beta_vae_sklearn`)
  with its study config (batch_size=64, num_train=10000, num_eval=5000).

  Each point fixes one random factor k across pairs of batch_size grid
  points; its feature is the mean absolute code difference over the pairs
  and its label k. A `LogisticRegression()` with sklearn's defaults is
  fitted on num_train points; the scores are its accuracy on them and on
  num_eval fresh points. 1: the fixed factor is always recognisable from
  which code stopped changing; chance is about 1/num_factors.

  Args:
    grid: codes on the factor grid.
    rng: source of all sampled points and the classifier's seed.
    batch_size: pairs per point.
    num_train: points the classifier is fitted on.
    num_eval: fresh points it is evaluated on.

  Returns:
    {"train_accuracy", "eval_accuracy": floats}.
  """
  train_features, train_labels = beta_vae_points(grid, rng, batch_size,
                                                  num_train)
  # disentanglement_lib passes its random state; the default lbfgs solver
  # never uses it, but a seed keeps other solvers reproducible too.
  model = linear_model.LogisticRegression(random_state=_sklearn_seed(rng))
  model.fit(train_features, train_labels)
  eval_features, eval_labels = beta_vae_points(grid, rng, batch_size,
                                               num_eval)
  return {"train_accuracy": float(model.score(train_features, train_labels)),
          "eval_accuracy": float(model.score(eval_features, eval_labels))}


# All ----------------------------------------------------------------------


def _plain(value):
  """`value` with arrays and NumPy scalars as lists and Python numbers."""
  if isinstance(value, dict):
    return {key: _plain(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_plain(item) for item in value]
  if isinstance(value, np.ndarray):
    return _plain(value.tolist())
  if isinstance(value, np.integer):
    return int(value)
  if isinstance(value, (np.floating, float)):
    return float(value)
  return value


def all_metrics(grid: FactorGrid, rng: np.random.Generator,
                num_train: int = 10000, num_test: int = 5000,
                batch_size: int = 64, num_variance_estimate: int = 10000,
                num_bins: int = 20, continuous_factors: bool = False,
                include: Sequence[str] = METRIC_NAMES) -> dict:
  """Every metric in `include`, as one JSON-serialisable nested dict.

  Each metric draws from its own child of `rng` (Generator.spawn), so a
  metric's value does not depend on which others are computed. num_test
  is also the FactorVAE and BetaVAE num_eval.

  Args:
    grid: codes on the factor grid.
    rng: parent of the metrics' generators.
    num_train: training points (votes for FactorVAE) of every metric.
    num_test: test / evaluation points of every metric.
    batch_size: batch of FactorVAE and BetaVAE.
    num_variance_estimate: FactorVAE's points for global variances.
    num_bins: MIG's histogram bins.
    continuous_factors: SAP's scoring (see `sap`).
    include: names from METRIC_NAMES; DCI is by far the slowest.

  Returns:
    {metric name: that metric's dict with plain Python numbers and lists},
    plus "factor_names" and "factor_sizes".
  """
  unknown = sorted(set(include) - set(METRIC_NAMES))
  if unknown:
    raise ValueError(f"unknown metrics {unknown}; choose from {METRIC_NAMES}.")
  rngs = dict(zip(METRIC_NAMES, rng.spawn(len(METRIC_NAMES))))
  compute = {
      "mig": lambda r: mig(grid, r, num_train, num_bins),
      "dci": lambda r: dci(grid, r, num_train, num_test),
      "sap": lambda r: sap(grid, r, num_train, num_test, continuous_factors),
      "factor_vae": lambda r: factor_vae_score(
          grid, r, batch_size, num_train, num_test, num_variance_estimate),
      "beta_vae": lambda r: beta_vae_score(grid, r, batch_size, num_train,
                                           num_test),
  }
  results = {name: _plain(compute[name](rngs[name]))
             for name in METRIC_NAMES if name in include}
  results["factor_names"] = _plain(grid.factor_names)
  results["factor_sizes"] = list(grid.factor_sizes)
  return results
