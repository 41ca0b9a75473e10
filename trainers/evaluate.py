r"""Evaluates trained DC-IGN models: the paper's figures and claims as numbers.

  python -m trainers.evaluate --model_dir=outputs/faces_quick \
      --model_dir=outputs/faces_quick_vae --output_dir=outputs/evaluation
  python -m trainers.evaluate --preset=faces_64

Evaluates every --model_dir on the test split of the dataset it was trained
on and writes to --output_dir: metrics.json, codes.npz, report.md and the
figures (PNG). dcign_tf/evaluator.py and docs/design.md say what each number means.
"""

import sys

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import evaluator
from dcign_tf import pretrained
from trainers import data_flags

# An EvaluateConfig's defaults (model_dirs and output_dir have none).
_DEFAULTS = evaluator.EvaluateConfig(model_dirs=(), output_dir="")

data_flags.define_flags()
_MODEL_DIRS = flags.DEFINE_multi_string(
    "model_dir", [], "A trained model dir (repeat the flag for several).")
_PRESET = flags.DEFINE_string(
    "preset", None, "A trained model shipped with dcign_tf (e.g. faces_64), "
    "instead of --model_dir.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "outputs/evaluation",
                                  "Where the report and figures go.")
_OVERWRITE = flags.DEFINE_bool("overwrite", _DEFAULTS.overwrite,
                               "Replace what --output_dir already holds.")
_ALLOW_MISMATCH = flags.DEFINE_bool(
    "allow_dataset_mismatch", _DEFAULTS.allow_dataset_mismatch,
    "Evaluate models on a dataset other than the one they were trained on "
    "(set with the dataset flags, e.g. --face_model).")
_EVAL_GROUPS = flags.DEFINE_integer(
    "eval_groups_per_type", _DEFAULTS.eval_groups_per_type,
    "Test groups per type.")
_CALIBRATION_GROUPS = flags.DEFINE_integer(
    "calibration_groups_per_type", _DEFAULTS.calibration_groups_per_type,
    "Training groups per factor type that fit the degrees -> latent maps.")
_RETRIEVAL_GROUPS = flags.DEFINE_integer(
    "retrieval_groups", _DEFAULTS.retrieval_groups,
    "Test intrinsic groups whose identities are re-rendered from other "
    "views for the identity retrieval score.")
_SOURCES = flags.DEFINE_integer(
    "sources_per_group", _DEFAULTS.sources_per_group,
    "Source images per test group for the novel-view error (each "
    "re-rendered at every other view of its group).")
_GRID_IDENTITIES = flags.DEFINE_integer(
    "grid_identities", _DEFAULTS.grid_identities,
    "Identities of the disentanglement factor grid.")
_GRID_BINS = flags.DEFINE_integer(
    "grid_bins", _DEFAULTS.grid_bins,
    "Bins per continuous factor of the factor grid.")
_METRIC_TRAIN = flags.DEFINE_integer(
    "metric_train", _DEFAULTS.metric_train,
    "Training points of each disentanglement metric (disentanglement_lib's "
    "default).")
_METRIC_TEST = flags.DEFINE_integer(
    "metric_test", _DEFAULTS.metric_test,
    "Test / evaluation points of each metric.")
_METRIC_BATCH = flags.DEFINE_integer(
    "metric_batch", _DEFAULTS.metric_batch,
    "Batch size of the FactorVAE and BetaVAE scores.")
_VARIANCE_ESTIMATE = flags.DEFINE_integer(
    "variance_estimate", _DEFAULTS.variance_estimate,
    "Points of FactorVAE's global variances.")
_SEED = flags.DEFINE_integer("seed", _DEFAULTS.seed,
                             "Seed of the metrics' sampling.")


def dataset_overrides(values=flags.FLAGS) -> dict:
  """Dataset flags given on the command line (the rest come from the
  first model's training config)."""
  overrides = {}
  for name in ("face_model", "image_size", "group_size", "data_seed"):
    if values[name].present:
      overrides[name] = values[name].value
  if any(values[f"{name}_range"].present
         for name in ("azimuth", "elevation", "light")):
    overrides["ranges"] = data_flags.ranges_from_flags(values).to_dict()
  return overrides


def config_from_flags() -> evaluator.EvaluateConfig:
  values = flags.FLAGS
  model_dirs = tuple(_MODEL_DIRS.value)
  if _PRESET.value:
    model_dirs = (pretrained.resolve_model_dir(
        _PRESET.value, ",".join(model_dirs) or None),)
  return evaluator.EvaluateConfig(
      model_dirs=model_dirs, output_dir=_OUTPUT_DIR.value,
      overwrite=_OVERWRITE.value,
      allow_dataset_mismatch=_ALLOW_MISMATCH.value,
      dataset_overrides=dataset_overrides(values),
      eval_groups_per_type=_EVAL_GROUPS.value,
      calibration_groups_per_type=_CALIBRATION_GROUPS.value,
      retrieval_groups=_RETRIEVAL_GROUPS.value,
      sources_per_group=_SOURCES.value,
      grid_identities=_GRID_IDENTITIES.value, grid_bins=_GRID_BINS.value,
      metric_train=_METRIC_TRAIN.value, metric_test=_METRIC_TEST.value,
      metric_batch=_METRIC_BATCH.value,
      variance_estimate=_VARIANCE_ESTIMATE.value, workers=values.workers,
      seed=_SEED.value)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = config_from_flags()
  metrics = evaluator.run(config)
  for name, values in metrics["models"].items():
    print(evaluator.summary_line(name, values))
  print(f"Report: {config.output_dir}/{evaluator.REPORT_FILE}",
        file=sys.stdout)


if __name__ == "__main__":
  cli.run(main)
