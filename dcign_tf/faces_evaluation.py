"""Evaluation of a model trained on rendered faces, as library functions.

Everything here works from a `groups.GroupSource` (what decides the
pixels) and a trained model: rendering the test, calibration, retrieval
and factor-grid data, and scoring a model on them. `trainers.evaluate`
writes a report from it; `trainers.train` scores the model it has just
trained with the same functions on smaller samples.
"""

import dataclasses
import os
from typing import Optional

import numpy as np

from dcign_tf import disentanglement
from dcign_tf import evaluation
from dcign_tf import identity_retrieval
from dcign_tf import image_quality
from dcign_tf import model as model_lib
from dcign_tf.data import factor_grid
from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.data import retrieval_views


@dataclasses.dataclass(frozen=True)
class EvaluationSizes:
  """How much data each score uses. The metric sample sizes default to
  google-research/disentanglement_lib's."""

  eval_groups_per_type: int = 40
  calibration_groups_per_type: int = 40
  retrieval_groups: int = 40
  sources_per_group: int = 5
  grid_identities: int = 10
  grid_bins: int = factor_grid.DEFAULT_BINS
  metric_train: int = 10000
  metric_test: int = 5000
  metric_batch: int = 64
  variance_estimate: int = 10000
  seed: int = 0
  metrics: tuple = disentanglement.METRIC_NAMES


# What `trainers.train` computes of the disentanglement metrics (DCI and
# MIG headline its report; `trainers.evaluate` computes all five).
TRAINER_METRICS = ("mig", "dci")


def render_data(source: groups.GroupSource, sizes, pool=None,
                progress=None) -> dict:
  """Every rendered input of `evaluate_model`: test groups (with their
  foreground coverage), calibration groups from the training split,
  identity-retrieval renders and the factor grid.

  `progress(n)` is called as tasks finish; `render_tasks(sizes)` of them.
  """
  return {
      **({"test": render_groups(source, "test", sizes.eval_groups_per_type,
                                pool, progress, with_coverage=True)}
         if sizes.eval_groups_per_type else {}),
      "calibration": render_groups(source, "train",
                                   sizes.calibration_groups_per_type, pool,
                                   progress),
      "retrieval": retrieval_views.render_retrieval_groups(
          source, "test", sizes.retrieval_groups, pool=pool,
          progress=progress),
      "grid": factor_grid.render_grid(source, sizes.grid_identities,
                                      sizes.grid_bins, pool, progress),
  }


def render_tasks(sizes) -> int:
  """How many tasks `render_data` reports to `progress`."""
  return (4 * sizes.eval_groups_per_type +
          4 * sizes.calibration_groups_per_type + sizes.retrieval_groups +
          sizes.grid_identities * sizes.grid_bins)


def source_of(dataset: dict) -> groups.GroupSource:
  return groups.GroupSource(
      face_model=dataset["face_model"], image_size=dataset["image_size"],
      group_size=dataset["group_size"],
      ranges=factors.FactorRanges.from_mapping(dataset["ranges"]),
      seed=dataset["data_seed"])


# The groups of a split, as evaluation arrays (see groups.render_groups).
render_groups = groups.render_groups


class ModelFunctions:
  """encode (posterior means) and decode as NumPy functions, batched."""

  def __init__(self, model, batch_size: int = 256):
    self.model = model
    self.batch_size = batch_size

  def encode(self, images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return np.concatenate([
        self.model.encode(images[i:i + self.batch_size]).mean().numpy()
        for i in range(0, len(images), self.batch_size)]).astype(np.float64)

  def decode(self, codes) -> np.ndarray:
    codes = np.asarray(codes, np.float32)
    return np.concatenate([
        self.model.decode(codes[i:i + self.batch_size]).numpy()
        for i in range(0, len(codes), self.batch_size)])


def factor_latent_map(train_config, model, scores: dict) -> dict:
  """Factor -> its latent: the designated one for DC-IGN and the Group-VAE,
  the most varying one over the factor's groups for a model without
  designated latents (the paper's §4.1.1)."""
  if train_config.training in model_lib.DESIGNATED_MODES:
    return {name: int(indices[0])
            for name, indices in model.factor_latents.items()}
  return {name: score["latent"] for name, score in scores.items()}


def calibrations(functions: ModelFunctions, calibration_data: dict,
                 latents: dict, codes: Optional[np.ndarray] = None) -> dict:
  """Factor -> Calibration fitted on the training groups of that factor
  (`codes`: the groups' posterior means, if already encoded)."""
  fitted = {}
  if codes is None:
    codes = functions.encode(calibration_data["images"])
  for factor, latent in latents.items():
    mask = calibration_data["group_type"] == factors.FACTORS.index(factor)
    if not mask.any():
      continue
    fitted[factor] = evaluation.Calibration.fit(
        factor, latent, calibration_data[factor][mask], codes[mask, latent])
  return fitted


def grid_metrics(functions: ModelFunctions, grid: dict,
                 config: EvaluationSizes, stage=None) -> tuple:
  """(metrics, grid codes) of the disentanglement metrics on the grid.

  `stage(name)`, if given, is called as each step starts (progress)."""
  stage = stage or (lambda name: None)
  stage("encoding the factor grid")
  images = grid["images"]
  shape = images.shape[:4]
  flat = images.reshape(-1, *images.shape[4:])
  codes = np.concatenate([
      functions.encode(flat[i:i + 4096].astype(np.float32) / 255.0)
      for i in range(0, len(flat), 4096)])
  codes = codes.reshape(*shape, -1)
  factor_grid_codes = disentanglement.FactorGrid(
      codes, ("identity",) + factors.FACTORS)
  metrics = {}
  for name in getattr(config, "metrics", disentanglement.METRIC_NAMES):
    stage(name)
    # A fresh parent generator per call: all_metrics gives each metric the
    # same child generator whichever others it computes with it.
    metrics.update(disentanglement.all_metrics(
        factor_grid_codes, np.random.default_rng(config.seed),
        num_train=config.metric_train, num_test=config.metric_test,
        batch_size=config.metric_batch,
        num_variance_estimate=config.variance_estimate, include=(name,)))
  return metrics, codes.astype(np.float32)


def evaluate_model(name: str, model_dir: str, train_config, model,
                   data: dict, config, stage=None) -> dict:
  """Every number of one model; also returns what the figures need.

  Args:
    name: the model's name in reports (unused in the numbers).
    model_dir: recorded in the metrics.
    train_config: what the model was trained with (its `training` mode).
    model: a trained `model.DCIGN`.
    data: `render_data`'s output.
    config: an `EvaluationSizes` (or anything with its attributes).
    stage: optional callable(description), called as each step starts.
  """
  del name
  stage = stage or (lambda description: None)
  stage("encoding test groups")
  functions = ModelFunctions(model)
  test = data["test"]
  codes = functions.encode(test["images"])
  reconstructions = functions.decode(codes)
  mse = evaluation.reconstruction_mse(test["images"], reconstructions)
  foreground = (image_quality.summary(reconstructions, test["images"],
                                      test["coverage"])
                if "coverage" in test else None)
  designated = (model.factor_latents
                if train_config.training in model_lib.DESIGNATED_MODES
                else None)
  scores = evaluation.factor_scores(
      codes, test["group_type"], test["group_id"],
      {f: test[f] for f in factors.FACTORS}, designated)
  latents = factor_latent_map(train_config, model, scores)
  blocks = evaluation.factor_blocks(codes.shape[1], {
      factor: [latent] for factor, latent in latents.items()})
  invariance = evaluation.invariance_ratios(codes, test["group_type"],
                                            test["group_id"], blocks)
  stage("calibrating")
  fitted = calibrations(functions, data["calibration"], latents)
  stage("novel views")
  novel = {}
  for factor, calibration in fitted.items():
    mask = test["group_type"] == factors.FACTORS.index(factor)
    result = evaluation.novel_view_errors(
        functions.encode, functions.decode, test["images"][mask],
        test["group_id"][mask], test[factor][mask], calibration,
        config.sources_per_group,
        masks=test["coverage"][mask] if "coverage" in test else None)
    novel[factor] = {
        "mean_error": result["mean_error"],
        **{key: result[key] for key in ("mean_foreground_psnr",
                                         "mean_foreground_ssim")
           if key in result},
        "mean_lower_bound": result["mean_lower_bound"],
        "pairs": int(result["error"].size),
        "by_angle": evaluation.error_by_angle(
            result["source_degrees"], result["target_degrees"],
            result["error"]),
        "lower_bound_by_angle": evaluation.error_by_angle(
            result["source_degrees"], result["target_degrees"],
            result["lower_bound"]),
    }
  retrieval = {}
  if data.get("retrieval"):
    stage("identity retrieval")
    retrieval = identity_retrieval.score_groups(
        functions.encode, functions.decode, data["retrieval"], fitted)
  grid_scores, grid_codes = grid_metrics(functions, data["grid"], config,
                                         stage)
  return {
      "metrics": {
          "model_dir": os.path.abspath(model_dir),
          "training": train_config.training,
          "test_mse_per_pixel": mse,
          **({"reconstruction_foreground": foreground} if foreground
             else {}),
          "factors": scores,
          "invariance": invariance,
          "novel_view": novel,
          "identity_retrieval": retrieval,
          "calibration": {f: c.to_dict() for f, c in fitted.items()},
          "disentanglement": grid_scores,
          "steps": int(model.optimizer.iterations.numpy()),
      },
      "codes": codes.astype(np.float32),
      "grid_codes": grid_codes,
      "functions": functions,
      "calibrations": fitted,
      "latents": latents,
  }


def summary_line(name: str, values: dict) -> str:
  """One line of a model's `run` metrics for the terminal: test MSE, R² per
  factor and, where they were computed, novel-view errors, identity
  retrieval and DCI disentanglement."""
  parts = [f"MSE {values['test_mse_per_pixel']:.5f}",
           ", ".join(f"{factor} R² {scores['r2']:.2f}"
                     for factor, scores in values["factors"].items())]
  if "novel_view" in values:
    parts.append("novel-view MSE " + ", ".join(
        f"{factor} {view['mean_error']:.4f}"
        for factor, view in values["novel_view"].items()))
  retrieval = values.get("identity_retrieval") or {}
  within = [f"{factor} {scores['top1_within_45_degrees']:.2f}" + (
                f" ± {scores['top1_within_45_degrees_standard_error']:.2f}"
                if scores.get("top1_within_45_degrees_standard_error")
                is not None else "")
            for factor, scores in retrieval.items()
            if scores["top1_within_45_degrees"] is not None]
  if within:
    parts.append("identity top-1 within 45° " + ", ".join(within))
  elif retrieval:  # Label units (a labelled dataset): every change.
    parts.append("identity top-1 " + ", ".join(
        f"{factor} {scores['top1']:.2f}"
        for factor, scores in retrieval.items()))
  if "disentanglement" in values:
    parts.append("DCI-D {:.3f}".format(
        values["disentanglement"]["dci"]["disentanglement"]))
  return f"{name}: " + "; ".join(parts)
