"""How well a trained model's latents explain the scene: numbers and sweeps."""

from typing import Optional

import numpy as np
from scipy import stats

from dcign_tf import circular
from dcign_tf import image_quality
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

  def bin_means(which, fit):
    sums = np.bincount(which[fit], weights=truth[fit], minlength=bins)
    counts = np.bincount(which[fit], minlength=bins)
    return np.where(counts > 0, sums / np.maximum(counts, 1),
                    truth[fit].mean())

  prediction = _binned_cross_fit(latent, bins, bin_means)
  return float(1.0 - np.sum((truth - prediction) ** 2) / total)


def _binned_cross_fit(latent: np.ndarray, bins: int, fit) -> np.ndarray:
  """Each sample's prediction from the other half of the data in its
  quantile bin of `latent` (two folds, drawn with seed 0). `fit(which,
  mask)` returns the [bins] predictions fitted on the samples in `mask`,
  given every sample's bin `which`."""
  edges = np.quantile(latent, np.linspace(0, 1, bins + 1)[1:-1])
  which = np.searchsorted(edges, latent, side="right")
  order = np.random.default_rng(0).permutation(latent.size)
  folds = np.zeros(latent.size, bool)
  folds[order[: latent.size // 2]] = True
  prediction = np.empty(latent.size)
  for fold in (folds, ~folds):
    prediction[fold] = fit(which, ~fold)[which[fold]]
  return prediction


def circular_r2(code: np.ndarray, radians: np.ndarray,
                bins: int = DEFAULT_BINS) -> float:
  """`binned_r2` scored on the circle (see `circular`), of predicting
  angles [M] in radians from a code [M] or [M, 2] (two latents read as a
  point whose angle is taken): each bin predicts the circular mean of its
  angles, and R^2 = 1 - sum(1 - cos(t - prediction)) / sum(1 - cos(t -
  mean t)). 1 for a code equal to t on the circle, whatever its wrap
  point, or to (cos t, sin t); about 0 for a code independent of t."""
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
  total = np.sum(1 - np.cos(radians - circular.circular_mean(radians)))
  if total <= 1e-12:
    return 0.0

  def bin_means(which, fit):
    sines = np.bincount(which[fit], weights=np.sin(radians[fit]),
                        minlength=bins)
    cosines = np.bincount(which[fit], weights=np.cos(radians[fit]),
                          minlength=bins)
    counts = np.bincount(which[fit], minlength=bins)
    return np.where(counts > 0, np.arctan2(sines, cosines),
                    circular.circular_mean(radians[fit]))

  prediction = _binned_cross_fit(code, bins, bin_means)
  return float(1.0 - np.sum(1 - np.cos(radians - prediction)) / total)


def reconstruction_mse(images: np.ndarray,
                       reconstructions: np.ndarray) -> float:
  """Test reconstruction error: the mean over images and pixels of
  (reconstruction - image)^2, both on [0, 1] (the paper reports 2.7722e-4
  for its chairs). Reconstructions decode the posterior means."""
  images = np.asarray(images, np.float64)
  reconstructions = np.asarray(reconstructions, np.float64)
  if images.shape != reconstructions.shape:
    raise ValueError(f"images {images.shape} and reconstructions "
                     f"{reconstructions.shape} must have the same shape.")
  return float(np.mean((reconstructions - images) ** 2))


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
                  bins: int = DEFAULT_BINS,
                  circular_periods: Optional[dict] = None) -> dict:
  """Per extrinsic factor: which latent, Spearman and binned R^2.

  Args:
    codes: posterior means [M, N] of test images.
    group_types: [M] each image's group type.
    group_ids: [M] each image's group.
    truths: factor name -> [M] true values (degrees).
    factor_latents: factor -> latent indices the model designates (DC-IGN);
      None picks the most varying latent per factor (entangled baseline).
    bins: bins of the binned regression.
    circular_periods: factor -> period (truth units per turn) of the
      factors that wrap: their "r2" is scored on the circle
      (`circular.circular_r2`), with "circular_correlation" beside it and
      the line's R^2 as "linear_r2".

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
    period = (circular_periods or {}).get(factor)
    if period is not None:
      radians = circular.labels_to_radians(truth, period)
      scores[factor].update(
          period=float(period), linear_r2=scores[factor]["r2"],
          r2=circular_r2(values, radians, bins=min(bins, values.size // 2)),
          circular_correlation=circular.circular_linear_correlation(
              values, radians))
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


def factor_blocks(latent_size: int, factor_latents: dict) -> dict:
  """Block name -> latent indices: one block per factor, and "intrinsic"
  for every latent that no factor owns."""
  blocks = {name: list(indices) for name, indices in factor_latents.items()}
  owned = {i for indices in blocks.values() for i in indices}
  blocks["intrinsic"] = [i for i in range(latent_size) if i not in owned]
  return {name: indices for name, indices in blocks.items() if indices}


def invariance_ratios(codes: np.ndarray, group_types: np.ndarray,
                      group_ids: np.ndarray, blocks: dict) -> dict:
  """How still the latents that should not move stay within a group.

  For each group type t and each latent block b that is inactive in t (every
  block but t's own; intrinsic groups' own block is "intrinsic"):

    ratio[t][b] = sqrt(mean over b's latents of the mean within-group
                       variance over t's groups)
                  / sqrt(mean over b's latents of their variance over all
                         test images)

  0 means the block is constant within each group (perfectly invariant to
  the factor that varies); about 1 means it moves as much within a group
  as across the whole test set (not invariant at all).
  """
  codes = np.asarray(codes, np.float64)
  population = codes.var(axis=0)
  ratios = {}
  for group_type in factors.GroupType:
    mask = group_types == group_type.value
    if not mask.any():
      continue
    own = group_type.factor or "intrinsic"
    within = np.mean([codes[group_ids == g].var(axis=0)
                      for g in np.unique(group_ids[mask])], axis=0)
    ratios[group_type.label] = {
        block: float(np.sqrt(within[indices].mean()) /
                     max(np.sqrt(population[indices].mean()), 1e-12))
        for block, indices in blocks.items() if block != own}
  return ratios


class Calibration:
  """Degrees of one factor -> the value of the latent that carries it.

  Fitted on training groups of that factor by binned means (the latent's
  mean in `bins` equal-width angle bins, linear interpolation between bin
  centres, clamped at the ends), so it follows a monotone but non-linear
  code. Used to ask a decoder for "30 degrees" without a target image.
  """

  def __init__(self, factor: str, latent: int, degrees, values):
    self.factor = factors.check_factor(factor)
    self.latent = int(latent)
    self.degrees = np.asarray(degrees, np.float64)
    self.values = np.asarray(values, np.float64)
    if self.degrees.ndim != 1 or self.degrees.shape != self.values.shape or (
        self.degrees.size < 2) or np.any(np.diff(self.degrees) <= 0):
      raise ValueError("A calibration needs >= 2 increasing angles and as "
                       f"many values, got {self.degrees} and {self.values}.")

  @classmethod
  def fit(cls, factor: str, latent: int, degrees, latent_values,
          bins: int = DEFAULT_BINS) -> "Calibration":
    degrees = np.asarray(degrees, np.float64)
    latent_values = np.asarray(latent_values, np.float64)
    if degrees.shape != latent_values.shape or degrees.ndim != 1:
      raise ValueError("degrees and latent_values must be 1-D of equal "
                       f"length, got {degrees.shape} and "
                       f"{latent_values.shape}.")
    edges = np.linspace(degrees.min(), degrees.max(), bins + 1)
    which = np.clip(np.searchsorted(edges, degrees, side="right") - 1, 0,
                    bins - 1)
    counts = np.bincount(which, minlength=bins)
    keep = counts > 0
    centres = (np.bincount(which, degrees, bins)[keep] / counts[keep])
    means = (np.bincount(which, latent_values, bins)[keep] / counts[keep])
    return cls(factor, latent, centres, means)

  def __call__(self, degrees) -> np.ndarray:
    return np.interp(np.asarray(degrees, np.float64), self.degrees,
                     self.values)

  def to_dict(self) -> dict:
    return {"factor": self.factor, "latent": self.latent,
            "degrees": self.degrees.tolist(), "values": self.values.tolist()}

  @classmethod
  def from_dict(cls, value: dict) -> "Calibration":
    return cls(value["factor"], value["latent"], value["degrees"],
               value["values"])


def novel_view_errors(encode, decode, images: np.ndarray,
                      group_ids: np.ndarray, degrees: np.ndarray,
                      calibration: Calibration,
                      sources_per_group: int = 5,
                      masks: Optional[np.ndarray] = None) -> dict:
  """The paper's novel-view re-rendering (§4.1.1), made a number.

  Within each group only `calibration.factor` varies, so image j is the
  true render of image i's scene at view degrees[j]. For a few source
  images i per group (evenly spaced) and every other image j of the group:
  encode i, set the factor's latent to calibration(degrees[j]) (never
  looking at image j), decode, and take the per-pixel MSE against image j.
  The lower bound is the model's own reconstruction MSE of image j.

  Args:
    encode: images [B, S, S, C] -> codes [B, N] (posterior means).
    decode: codes [B, N] -> images [B, S, S, C] in [0, 1].
    images: [M, S, S, C] in [0, 1], the groups of one factor's type.
    group_ids: [M].
    degrees: [M] the factor's true value per image.
    calibration: the factor's degrees -> latent map.
    sources_per_group: source images per group.
    masks: optional [M, S, S] foreground (the head's coverage) of each
      image; with it, each re-render is also scored on the target's
      foreground (`image_quality`).

  Returns:
    dict of arrays over (source, target) pairs: source_degrees,
    target_degrees, error, lower_bound (the target's reconstruction MSE),
    and their means "mean_error", "mean_lower_bound"; with masks also
    foreground_psnr and foreground_ssim per pair and their means.
  """
  images = np.asarray(images, np.float32)
  codes = np.asarray(encode(images), np.float64)
  reconstruction = np.mean((np.asarray(decode(codes)) - images) ** 2,
                           axis=(1, 2, 3))
  pairs = {"source_degrees": [], "target_degrees": [], "error": [],
           "lower_bound": []}
  if masks is not None:
    pairs.update(foreground_psnr=[], foreground_ssim=[])
  for group in np.unique(group_ids):
    members = np.flatnonzero(group_ids == group)
    sources = members[np.unique(np.linspace(
        0, len(members) - 1, min(sources_per_group, len(members))).round(
            ).astype(int))]
    source_index, target_index = [
        a.ravel() for a in np.meshgrid(sources, members, indexing="ij")]
    keep = source_index != target_index
    source_index, target_index = source_index[keep], target_index[keep]
    edited = codes[source_index].copy()
    edited[:, calibration.latent] = calibration(degrees[target_index])
    rendered = np.asarray(decode(edited.astype(np.float32)))
    pairs["error"].append(np.mean((rendered - images[target_index]) ** 2,
                                  axis=(1, 2, 3)))
    pairs["source_degrees"].append(degrees[source_index])
    pairs["target_degrees"].append(degrees[target_index])
    pairs["lower_bound"].append(reconstruction[target_index])
    if masks is not None:
      targets, target_masks = images[target_index], masks[target_index]
      pairs["foreground_psnr"].append(image_quality.foreground_psnr(
          rendered, targets, target_masks))
      pairs["foreground_ssim"].append(image_quality.foreground_ssim(
          rendered, targets, target_masks))
  result = {key: np.concatenate(value).astype(np.float64)
            for key, value in pairs.items()}
  result["mean_error"] = float(result["error"].mean())
  result["mean_lower_bound"] = float(result["lower_bound"].mean())
  if masks is not None:
    result["mean_foreground_psnr"] = float(result["foreground_psnr"].mean())
    result["mean_foreground_ssim"] = float(result["foreground_ssim"].mean())
  return result


def error_by_angle(source_degrees, target_degrees, errors,
                   bins: int = 6) -> dict:
  """Mean error per bin of |target - source| degrees (for the figure)."""
  delta = np.abs(np.asarray(target_degrees) - np.asarray(source_degrees))
  edges = np.linspace(0.0, max(float(delta.max()), 1e-9), bins + 1)
  which = np.clip(np.searchsorted(edges, delta, side="right") - 1, 0,
                  bins - 1)
  counts = np.bincount(which, minlength=bins)
  sums = np.bincount(which, np.asarray(errors, np.float64), bins)
  keep = counts > 0
  return {"delta_degrees": ((edges[:-1] + edges[1:]) / 2)[keep].tolist(),
          "mean_error": (sums[keep] / counts[keep]).tolist(),
          "pairs": counts[keep].tolist()}
