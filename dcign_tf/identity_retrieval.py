"""Novel-view identity retrieval: does a re-rendered face stay the same person?

The novel-view error (`evaluation.novel_view_errors`) says how far a
re-render is from the truth, but a decoder that draws a blurred average
head at the right pose scores a fair error while losing who the person is.
Retrieval asks the question a person asks of a re-render: *which of these
people is it?*

A trial is a test intrinsic group: G identities rendered at one target view
v2 (pose and light). Each identity is also rendered at a source view v1,
which differs from v2 in one factor only (azimuth, elevation or light). The
model encodes the v1 render, sets that factor's latent to the calibrated
value of v2 (never looking at the v2 render), and decodes. The re-render of
identity i is a hit when, of the G true v2 renders, the nearest to it in
pixel MSE is identity i's own.

Top-1 accuracy is hits / trials:
  * an oracle that returns the true v2 render scores exactly 1 (its MSE to
    its own render is 0, to any other identity's > 0);
  * a model that returns the same image for everyone (the mean face) scores
    exactly 1/G: every re-render has the same nearest truth, which is one
    identity's own.
"""

import numpy as np

# The headline: identity kept over turns up to this many degrees.
HEADLINE_DEGREES = 45.0


def nearest_truths(rendered, truths) -> np.ndarray:
  """[G] for each re-render, the index of its nearest true render (pixel
  MSE; the first of equals on a tie)."""
  rendered = np.asarray(rendered, np.float64)
  truths = np.asarray(truths, np.float64)
  if rendered.shape != truths.shape or rendered.ndim < 2:
    raise ValueError(f"rendered {rendered.shape} and truths {truths.shape} "
                     "must be equal-shaped batches of images.")
  flat_rendered = rendered.reshape(len(rendered), -1)
  flat_truths = truths.reshape(len(truths), -1)
  distances = np.mean(
      (flat_rendered[:, None, :] - flat_truths[None, :, :]) ** 2, axis=-1)
  return np.argmin(distances, axis=1)


def retrieval_hits(rendered, truths) -> np.ndarray:
  """bool [G]: re-render i is nearest to truth i."""
  return nearest_truths(rendered, truths) == np.arange(len(truths))


def novel_view_hits(encode, decode, sources, targets, latent: int,
                    target_value: float) -> np.ndarray:
  """bool [G]: one trial's hits.

  Args:
    encode: images [B, S, S, C] -> codes [B, N] (posterior means).
    decode: codes [B, N] -> images [B, S, S, C] in [0, 1].
    sources: [G, S, S, C] the G identities at the source view v1.
    targets: [G, S, S, C] the same identities, in the same order, at the
      target view v2.
    latent: the latent of the factor that differs between v1 and v2.
    target_value: that latent's calibrated value at v2.
  """
  codes = np.array(encode(np.asarray(sources, np.float32)), np.float64)
  codes[:, latent] = target_value
  rendered = np.asarray(decode(codes.astype(np.float32)))
  return retrieval_hits(rendered, targets)


def clustered_standard_error(values, clusters):
  """Standard error of the mean of `values` when they come in correlated
  clusters: trials of one group share its 20 faces and its view, so they
  are not independent draws. The ratio estimator's sandwich form,
  sqrt(C / (C - 1) * sum_c (S_c - m N_c)^2) / N, with S_c and N_c cluster
  c's sum and count, m the mean and N the total; None for fewer than two
  clusters."""
  values = np.asarray(values, np.float64)
  clusters = np.asarray(clusters)
  if values.shape != clusters.shape or values.ndim != 1:
    raise ValueError(f"values {values.shape} and clusters {clusters.shape} "
                     "must be 1-D of equal length.")
  names, which = np.unique(clusters, return_inverse=True)
  if len(names) < 2:
    return None
  mean = values.mean()
  residual = np.bincount(which, values - mean)
  return float(np.sqrt(len(names) / (len(names) - 1) *
                       np.sum(residual ** 2)) / len(values))


def accuracy_by_delta(deltas, hits, groups=None) -> dict:
  """Top-1 accuracy per |v1 - v2| (degrees), over all trials.

  Args:
    deltas: [T] each trial's v1 - v2.
    hits: [T, G] each trial's hits.
    groups: optional [T] which retrieval group each trial came from; with
      it the headline gets its standard error over groups.

  Returns:
    {"top1": overall accuracy, "chance": 1 / G, "trials": T,
     "by_delta": {"delta_degrees": [...], "top1": [...], "trials": [...]},
     "top1_within_45_degrees": accuracy over trials with |delta| <= 45
     (None when there is none)}, and with `groups` also "groups" (how
    many) and "top1_within_45_degrees_standard_error"
    (`clustered_standard_error` of the headline; None when under two
    groups have such a trial).
  """
  deltas = np.round(np.abs(np.asarray(deltas, np.float64)), 6)
  hits = np.asarray(hits, bool)
  if hits.ndim != 2 or hits.shape[0] != deltas.shape[0] or not hits.size:
    raise ValueError(f"hits {hits.shape} must be [trials, identities] with "
                     f"one delta per trial, got {deltas.shape}.")
  if groups is not None and np.shape(groups) != deltas.shape:
    raise ValueError(f"groups {np.shape(groups)} must name one group per "
                     f"trial ({deltas.shape}).")
  per_trial = hits.mean(axis=1)
  values = np.unique(deltas)
  within = deltas <= HEADLINE_DEGREES
  spread = {}
  if groups is not None:
    groups = np.asarray(groups)
    spread = {
        "groups": int(len(np.unique(groups))),
        "top1_within_45_degrees_standard_error": (
            clustered_standard_error(per_trial[within], groups[within])
            if within.any() else None)}
  return {
      "top1": float(per_trial.mean()),
      "chance": 1.0 / hits.shape[1],
      "trials": int(len(deltas)),
      "identities_per_trial": int(hits.shape[1]),
      "by_delta": {
          "delta_degrees": values.tolist(),
          "top1": [float(per_trial[deltas == v].mean()) for v in values],
          "trials": [int(np.sum(deltas == v)) for v in values]},
      "top1_within_45_degrees": (float(per_trial[within].mean())
                                 if within.any() else None),
      **spread,
  }


def score_groups(encode, decode, rendered_groups, calibrations) -> dict:
  """Factor -> `accuracy_by_delta` over every trial of every group.

  Args:
    encode, decode: as in `novel_view_hits`.
    rendered_groups: `data.retrieval_views.render_retrieval_groups` output
      (uint8 renders).
    calibrations: factor -> `evaluation.Calibration` (degrees -> latent
      value); factors without one are skipped.
  """
  deltas, hits, group_of = {}, {}, {}
  for index, group in enumerate(rendered_groups):
    targets = np.asarray(group["targets"], np.float32) / 255.0
    for trial in group["trials"]:
      calibration = calibrations.get(trial["factor"])
      if calibration is None:
        continue
      value = float(calibration(trial["target_degrees"]))
      sources = np.asarray(trial["sources"], np.float32) / 255.0
      deltas.setdefault(trial["factor"], []).append(trial["delta"])
      group_of.setdefault(trial["factor"], []).append(index)
      hits.setdefault(trial["factor"], []).append(novel_view_hits(
          encode, decode, sources, targets, calibration.latent, value))
  return {factor: accuracy_by_delta(deltas[factor], np.stack(hits[factor]),
                                    group_of[factor])
          for factor in deltas}
