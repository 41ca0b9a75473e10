"""MIG: the mutual information gap (Chen et al. 2018), as disentanglement_lib
computes it."""

import numpy as np
from sklearn import metrics

from dcign_tf.disentanglement import grid as grid_lib


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


def mig(grid: grid_lib.FactorGrid, rng: np.random.Generator,
        num_train: int = 10000, num_bins: int = 20) -> dict:
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
  grid_lib.require_two_codes(grid, "MIG")
  factors, codes = grid.sample(num_train, rng)
  return mig_from_samples(codes, factors, num_bins)
