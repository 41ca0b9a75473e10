"""How well a trained model's latents explain the scene: numbers and sweeps."""

from typing import Optional

import numpy as np
from scipy import stats

from dcign_tf.data import factors

DEFAULT_BINS = 20


def spearman(latent: np.ndarray, truth: np.ndarray) -> float:
  """Spearman rank correlation between a latent and the true factor.

  Sign matters for nothing downstream, so callers usually report its
  absolute value too; here it is returned as is, in [-1, 1].
  """
  latent, truth = np.asarray(latent, np.float64), np.asarray(truth, np.float64)
  if np.ptp(latent) == 0 or np.ptp(truth) == 0:
    return 0.0
  return float(stats.spearmanr(latent, truth).statistic)


def binned_r2(latent: np.ndarray, truth: np.ndarray,
              bins: int = DEFAULT_BINS) -> float:
  """R^2 of predicting the truth from a latent by 1-D binned regression.

  The latent's range is cut into `bins` quantile bins; the prediction for a
  sample is the mean truth of the other half of the data in its bin (a
  two-fold cross-fit, so a latent of pure noise scores about 0, not the
  in-sample optimism of `bins` free parameters). Bins empty in the fitting
  half predict the fitting half's overall mean.

  R^2 = 1 - sum((truth - prediction)^2) / sum((truth - mean)^2); 1 means
  the latent determines the factor, 0 means it says nothing about it.
  """
  latent, truth = np.asarray(latent, np.float64), np.asarray(truth, np.float64)
  if latent.shape != truth.shape or latent.ndim != 1:
    raise ValueError(f"latent and truth must be 1-D of equal length, got "
                     f"{latent.shape} and {truth.shape}.")
  if latent.size < 2 * bins:
    raise ValueError(f"binned_r2 needs at least {2 * bins} samples for "
                     f"{bins} bins, got {latent.size}.")
  total = np.sum((truth - truth.mean()) ** 2)
  if total == 0:
    return 0.0
  edges = np.quantile(latent, np.linspace(0, 1, bins + 1)[1:-1])
  which = np.searchsorted(edges, latent, side="right")
  order = np.random.default_rng(0).permutation(latent.size)
  folds = np.zeros(latent.size, bool)
  folds[order[: latent.size // 2]] = True
  prediction = np.empty_like(truth)
  for fold in (folds, ~folds):
    fit = ~fold
    sums = np.bincount(which[fit], weights=truth[fit], minlength=bins)
    counts = np.bincount(which[fit], minlength=bins)
    means = np.where(counts > 0, sums / np.maximum(counts, 1),
                     truth[fit].mean())
    prediction[fold] = means[which[fold]]
  return float(1.0 - np.sum((truth - prediction) ** 2) / total)


def most_varying_latent(codes: np.ndarray, group_ids: np.ndarray) -> int:
  """The latent with the largest mean within-group variance (paper §4.1.1).

  For an entangled model, the latent that "is" a factor is the one that
  varies most over groups in which only that factor changes.
  """
  codes = np.asarray(codes, np.float64)
  variances = []
  for group in np.unique(group_ids):
    variances.append(codes[group_ids == group].var(axis=0))
  return int(np.argmax(np.mean(variances, axis=0)))


def factor_scores(codes: np.ndarray, group_types: np.ndarray,
                  group_ids: np.ndarray, truths: dict,
                  factor_latents: Optional[dict] = None,
                  bins: int = DEFAULT_BINS) -> dict:
  """Per extrinsic factor: which latent, Spearman and binned R^2.

  Args:
    codes: posterior means [M, N] of test images.
    group_types: [M] each image's group type.
    group_ids: [M] each image's group.
    truths: factor name -> [M] true values (degrees).
    factor_latents: factor -> latent indices the model designates (DC-IGN);
      None picks the most varying latent per factor (entangled baseline).
    bins: bins of the binned regression.

  Returns:
    {factor: {"latent": i, "chosen_by": ..., "spearman": r, "r2": R^2}},
    scored over the images of that factor's groups.
  """
  scores = {}
  for factor in factors.FACTORS:
    if factor not in truths:
      continue
    mask = group_types == factors.FACTORS.index(factor)
    if not mask.any():
      continue
    if factor_latents is not None:
      if factor not in factor_latents:
        continue
      latent, chosen_by = int(factor_latents[factor][0]), "designated"
    else:
      latent = most_varying_latent(codes[mask], group_ids[mask])
      chosen_by = "largest within-group variance"
    values, truth = codes[mask, latent], np.asarray(truths[factor])[mask]
    scores[factor] = {
        "latent": latent,
        "chosen_by": chosen_by,
        "spearman": spearman(values, truth),
        "r2": binned_r2(values, truth, bins=min(bins, values.size // 2)),
        "images": int(mask.sum()),
    }
  return scores


def sweep_values(codes: np.ndarray, latent: int, steps: int) -> np.ndarray:
  """`steps` values spanning a latent's observed range (2nd-98th pct)."""
  low, high = np.percentile(codes[:, latent], [2, 98])
  if high <= low:
    low, high = low - 1.0, high + 1.0
  return np.linspace(low, high, steps)


def latent_sweep_codes(base_codes: np.ndarray, latent: int,
                       values: np.ndarray) -> np.ndarray:
  """[F * V, N]: each base code with `latent` set to each of `values`."""
  codes = np.repeat(np.asarray(base_codes)[:, None, :], len(values), axis=1)
  codes[:, :, latent] = values[None, :]
  return codes.reshape(-1, codes.shape[-1])
