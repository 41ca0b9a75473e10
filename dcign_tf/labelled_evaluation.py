"""Evaluation of a model trained on a labelled dataset, as library
functions: novel views and the disentanglement metrics on the dataset's
own factor grid.

A group of a designated factor shows one object (every other factor
fixed) in several values of that factor, so image j of a test group is the
true image of image i's object at value j: the novel-view error of the
faces (`evaluation.novel_view_errors`) applies as it is, with the factor's
label classes in place of degrees and the calibration fitted on training
groups (for chairs and objects the azimuth; for smallNORB azimuth and
elevation; for dSprites a re-drawn orientation or position).

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
