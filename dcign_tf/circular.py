"""Scores of a latent against a circular factor (an angle that wraps).

Spearman correlation and the binned R^2 of `evaluation` treat a factor as a
line. A chair's azimuth runs all the way round: 350 and 10 degrees are 20
degrees apart, and a code that is perfect but whose wrap-around falls
elsewhere than the labels' would score low near the wrap. Here:

* `circular_linear_correlation` (Mardia 1976): the multiple correlation of
  a latent z with (cos t, sin t),

      R^2 = (r_zc^2 + r_zs^2 - 2 r_zc r_zs r_cs) / (1 - r_cs^2),

  where r_zc = corr(z, cos t), r_zs = corr(z, sin t), r_cs = corr(cos t,
  sin t). It is 1 when z = a cos(t - phi) + b for some phase phi, and about
  0 for a latent independent of t.
* `circular_r2`: the binned regression of `evaluation.binned_r2` scored on
  the circle. The code (one latent, or two read as a point whose angle is
  taken) is cut into quantile bins; each bin predicts the circular mean of
  the angles of the other half of the data in it (two-fold cross-fit), and

      R^2_circ = 1 - sum(1 - cos(t - prediction)) / sum(1 - cos(t - mean t)),

  one minus the circular variance left, over the circular variance of t.
  It is 1 for a code equal to t on the circle (whatever its wrap point) or
  to (cos t, sin t), and about 0 for a code independent of t.
"""

import numpy as np

# Bins of the binned regression (the linear score's, `evaluation`).
DEFAULT_BINS = 20


def labels_to_radians(labels: np.ndarray, period: float) -> np.ndarray:
  """Labels of a factor that turns once every `period` label units, as
  angles in radians.

  Raises:
    ValueError: when the labels span a full period or more, so that they
      cannot be angles of one turn.
  """
  labels = np.asarray(labels, np.float64)
  if not period > 0:
    raise ValueError(f"A circular factor's period must be > 0, got "
                     f"{period}.")
  if labels.size and np.ptp(labels) >= period:
    raise ValueError(
        f"The labels span {np.ptp(labels):g} units, at least the period "
        f"{period:g}: a circular factor's labels must be angles within one "
        "turn.")
  return 2 * np.pi * labels / period


def _correlation(a, b):
  a, b = a - a.mean(), b - b.mean()
  denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
  return 0.0 if denominator == 0 else float(np.sum(a * b) / denominator)


def circular_linear_correlation(latent: np.ndarray,
                                radians: np.ndarray) -> float:
  """Mardia's circular-linear correlation R in [0, 1] of a latent [M] with
  angles [M] in radians."""
  latent = np.asarray(latent, np.float64)
  radians = np.asarray(radians, np.float64)
  if latent.shape != radians.shape or latent.ndim != 1:
    raise ValueError(f"latent and angles must be 1-D of equal length, got "
                     f"{latent.shape} and {radians.shape}.")
  cos, sin = np.cos(radians), np.sin(radians)
  r_zc, r_zs = _correlation(latent, cos), _correlation(latent, sin)
  r_cs = _correlation(cos, sin)
  if 1 - r_cs ** 2 <= 1e-12:  # The angles lie on a line through the circle.
    return abs(r_zc)
  squared = (r_zc ** 2 + r_zs ** 2 - 2 * r_zc * r_zs * r_cs) / (1 - r_cs ** 2)
  return float(np.sqrt(np.clip(squared, 0.0, 1.0)))


def _circular_mean(radians, weights=None):
  return np.arctan2(np.average(np.sin(radians), weights=weights),
                    np.average(np.cos(radians), weights=weights))


def circular_r2(code: np.ndarray, radians: np.ndarray,
                bins: int = DEFAULT_BINS) -> float:
  """R^2 on the circle of predicting the angles from a code [M] or [M, 2]
  by binned regression (see the module docstring)."""
  code = np.asarray(code, np.float64)
  radians = np.asarray(radians, np.float64)
  if code.ndim == 2 and code.shape[1] == 2:
    centred = (code - code.mean(0)) / np.maximum(code.std(0), 1e-12)
    code = np.arctan2(centred[:, 1], centred[:, 0])
  if code.ndim != 1 or code.shape != radians.shape:
    raise ValueError(f"code must be [M] or [M, 2] with M angles, got "
                     f"{code.shape} and {radians.shape}.")
  if code.size < 2 * bins:
    raise ValueError(f"circular_r2 needs at least {2 * bins} samples for "
                     f"{bins} bins, got {code.size}.")
  total = np.sum(1 - np.cos(radians - _circular_mean(radians)))
  if total <= 1e-12:
    return 0.0
  edges = np.quantile(code, np.linspace(0, 1, bins + 1)[1:-1])
  which = np.searchsorted(edges, code, side="right")
  order = np.random.default_rng(0).permutation(code.size)
  folds = np.zeros(code.size, bool)
  folds[order[: code.size // 2]] = True
  prediction = np.empty_like(radians)
  for fold in (folds, ~folds):
    fit = ~fold
    sines = np.bincount(which[fit], weights=np.sin(radians[fit]),
                        minlength=bins)
    cosines = np.bincount(which[fit], weights=np.cos(radians[fit]),
                          minlength=bins)
    counts = np.bincount(which[fit], minlength=bins)
    means = np.where(counts > 0, np.arctan2(sines, cosines),
                     _circular_mean(radians[fit]))
    prediction[fold] = means[which[fold]]
  return float(1.0 - np.sum(1 - np.cos(radians - prediction)) / total)
