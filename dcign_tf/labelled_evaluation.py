"""Evaluation of a model trained on a labelled dataset, as library
functions: novel views, novel-view identity retrieval and the
disentanglement metrics on the dataset's own factor grid.

A group of a designated factor shows one object (every other factor
fixed) in several values of that factor, so image j of a test group is the
true image of image i's object at value j: the novel-view error of the
faces (`evaluation.novel_view_errors`) applies as it is, with the factor's
label classes in place of degrees and the calibration fitted on training
groups (for chairs and objects the azimuth; for smallNORB azimuth and
elevation; for dSprites a re-drawn orientation or position).

Identity retrieval is the faces' (`identity_retrieval`) with objects for
people: a trial is a test intrinsic group (G distinct objects sharing every
designated factor's value v2); each object's image at another value v1 of
one designated factor (everything else equal) is looked up in the test
split, re-rendered to v2 through the calibrated latent, and counts as a hit
when its nearest of the G true v2 images is its own. Deltas are in the
factor's label units.

A labelled dataset that holds every combination of its factors' values is
the simulator disentanglement_lib samples from: every image of the grid is
encoded once (posterior means) and the five metrics read the codes with
disentanglement_lib's definitions and sample sizes, as for the faces.
"""

from typing import Callable, Optional

import numpy as np

from dcign_tf import disentanglement
from dcign_tf import evaluation
from dcign_tf import faces_evaluation
from dcign_tf.data import factors

# Images encoded per batch: the grid can hold hundreds of thousands.
ENCODE_BATCH = 512


def grid_codes(encode: Callable, source, grid,
               progress: Optional[Callable] = None) -> np.ndarray:
  """Posterior means [*factor_sizes, N] of the images of a
  `label_grid.LabelGrid` of `source` (a `LabelledDataSource`); `encode`
  maps float images [B, S, S, C] in [0, 1] to codes [B, N]; `progress` is
  called with the images done after each batch."""
  rows = grid.rows.reshape(-1)
  codes = []
  for start in range(0, len(rows), ENCODE_BATCH):
    images = source.image_rows(rows[start:start + ENCODE_BATCH])
    codes.append(np.asarray(encode(images.astype(np.float32) / 255.0)))
    if progress:
      progress(len(images))
  codes = np.concatenate(codes)
  return codes.reshape(grid.factor_sizes + (codes.shape[-1],))


def grid_metrics(codes: np.ndarray, factor_names, sizes) -> dict:
  """The five disentanglement metrics of codes on the factor grid, with
  `sizes` giving metric_train, metric_test, metric_batch,
  variance_estimate and seed (an `evaluator.EvaluateConfig`)."""
  return disentanglement.all_metrics(
      disentanglement.FactorGrid(codes, factor_names),
      np.random.default_rng(sizes.seed), num_train=sizes.metric_train,
      num_test=sizes.metric_test, batch_size=sizes.metric_batch,
      num_variance_estimate=sizes.variance_estimate)


def novel_views(functions, test: dict, calibration_data: dict,
                latents: dict, sources_per_group: int) -> tuple:
  """({slot: novel-view summary}, {slot: Calibration}) of a model's
  `functions` (`faces_evaluation.ModelFunctions`) on the test groups, each
  designated slot's latent (`latents`) calibrated on `calibration_data`
  (training groups of the same source)."""
  fitted = faces_evaluation.calibrations(functions, calibration_data,
                                         latents)
  novel = {}
  for slot, calibration in fitted.items():
    mask = test["group_type"] == factors.FACTORS.index(slot)
    if not mask.any():
      continue
    result = evaluation.novel_view_errors(
        functions.encode, functions.decode, test["images"][mask],
        test["group_id"][mask], test[slot][mask], calibration,
        sources_per_group)
    novel[slot] = {"mean_error": result["mean_error"],
                   "mean_lower_bound": result["mean_lower_bound"],
                   "pairs": int(result["error"].size)}
  return novel, fitted


def retrieval_groups(data, groups_count: int, seed: int,
                     sources_per_factor: int = 2) -> list:
  """Trials of the test split of `data` (a `labelled_source.
  LabelledSource`) in `identity_retrieval.score_groups`' form: up to
  `groups_count` intrinsic groups, each with, per designated factor, up to
  `sources_per_factor` other values of it at which every object of the
  group has an image."""
  labels, images = data.test_groups.labels, data.test_images
  names = data.factor_names
  intrinsic = len(data.designated)  # The labelled group type's position.
  if data.test_groups.counts()["intrinsic"] == 0:
    return []
  row_of = {}
  for row, key in enumerate(map(tuple, labels.tolist())):
    row_of.setdefault(key, row)
  rng = np.random.default_rng([seed, 9])
  found = []
  for _ in range(4 * groups_count):
    if len(found) == groups_count:
      break
    members = data.test_groups.sample_group(rng, intrinsic)
    # Distinct objects only: a repeated one would be its own rival.
    _, first = np.unique(labels[members], axis=0, return_index=True)
    members = members[np.sort(first)]
    if len(members) < 2:
      continue
    trials = []
    for slot, name in zip(data.slots, data.designated):
      column = names.index(name)
      target = labels[members[0], column]
      values = np.unique(labels[:, column])
      others = values[values != target]
      others = others[np.argsort(np.abs(others - target), kind="stable")]
      for value in others:
        if len([t for t in trials if t["factor"] == slot]) >= (
            sources_per_factor):
          break
        keys = [tuple(labels[m, :column]) + (value,) +
                tuple(labels[m, column + 1:]) for m in members]
        rows = [row_of.get(tuple(int(v) for v in key)) for key in keys]
        if None in rows:
          continue
        trials.append({"factor": slot, "target_degrees": float(target),
                       "delta": float(value - target),
                       "sources": images[rows]})
    if trials:
      found.append({"targets": images[members], "trials": trials})
  return found
