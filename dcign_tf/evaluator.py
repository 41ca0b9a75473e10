"""The evaluation behind `python -m trainers.evaluate`, as testable functions.

`run(config)` loads one or more trained models, renders the test groups,
the calibration groups and the factor grid of the dataset they were trained
on, and writes to one output folder:

  metrics.json   every number, per model
  codes.npz      the latent means it scored, with the true factors
  report.md      one page: tables (side by side for several models), figures
  *.png          sweeps (Figs. 4, 5a), baseline vs DC-IGN re-rendering
                 (Fig. 5b), inferred vs true factors (Fig. 6), novel-view
                 error against the angle between views
"""

import dataclasses
import json
import os
from typing import Optional

import numpy as np
import tqdm

from dcign_tf import atomic_files
from dcign_tf import data_sources
from dcign_tf import disentanglement
from dcign_tf import evaluation_report
from dcign_tf import faces_evaluation
from dcign_tf import identity_retrieval
from dcign_tf import labelled_evaluation
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import sweeps
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf.data import factor_grid
from dcign_tf.data import factors
from dcign_tf.data import render_pool

REPORT_FILE = "report.md"
METRICS_FILE = "metrics.json"
CODES_FILE = "codes.npz"
# Which dataset settings decide the pixels: a model evaluated on other ones
# is evaluated on a dataset it was not trained on.
DATASET_FIELDS = ("face_model", "image_size", "group_size", "ranges",
                  "data_seed")


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
  """Everything an evaluation needs (the flags of trainers.evaluate).

  Metric sample sizes default to google-research/disentanglement_lib's.
  """

  model_dirs: tuple
  output_dir: str
  overwrite: bool = False
  allow_dataset_mismatch: bool = False
  # Dataset settings to evaluate on instead of the first model's.
  dataset_overrides: Optional[dict] = None
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
  sweep_faces: int = 4
  sweep_steps: int = 9
  workers: int = 0
  seed: int = 0
  progress: bool = True


def dataset_of(config: train_config_lib.TrainConfig) -> dict:
  """The rendered faces' settings that decide the pixels."""
  return data_sources.RenderedFaces(config).record()


def validate(config: EvaluateConfig):
  """Checks the settings before any model is loaded."""
  if not config.model_dirs:
    raise ValueError("Give at least one --model_dir to evaluate.")
  for name in ("eval_groups_per_type", "calibration_groups_per_type",
               "retrieval_groups", "sources_per_group", "metric_train", "metric_test",
               "metric_batch", "variance_estimate", "sweep_faces",
               "sweep_steps"):
    if getattr(config, name) < 1:
      raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}.")
  if config.grid_identities < 2 or config.grid_bins < 2:
    raise ValueError("The factor grid needs grid_identities >= 2 and "
                     f"grid_bins >= 2, got {config.grid_identities} and "
                     f"{config.grid_bins}.")
  for model_dir in config.model_dirs:
    if os.path.abspath(model_dir) == os.path.abspath(config.output_dir):
      raise ValueError(f"--output_dir={config.output_dir} is a model dir; "
                       "choose another folder.")
  unknown = sorted(set(config.dataset_overrides or {}) - set(DATASET_FIELDS))
  if unknown:
    raise ValueError(f"Unknown dataset settings {unknown}; allowed: "
                     f"{', '.join(DATASET_FIELDS)}.")


def check_output_dir(config: EvaluateConfig, names: list):
  """Refuses to overwrite an earlier report unless --overwrite."""
  path = os.path.join(config.output_dir, METRICS_FILE)
  if not os.path.exists(config.output_dir) or not os.listdir(
      config.output_dir):
    return
  if config.overwrite:
    return
  found = None
  if os.path.exists(path):
    with open(path) as stream:
      found = [m.get("model_dir") for m in json.load(stream).get(
          "models", {}).values()]
  if found is not None and sorted(found) != sorted(
      os.path.abspath(d) for d in config.model_dirs):
    raise ValueError(
        f"--output_dir={config.output_dir} holds the report of other models "
        f"({', '.join(map(str, found))}); pass --overwrite to replace it or "
        "choose another folder.")
  raise ValueError(
      f"--output_dir={config.output_dir} already holds files; pass "
      f"--overwrite to replace them (models: {', '.join(names)}).")


def model_names(model_dirs) -> list:
  """Short unique names: the folder names, numbered where they repeat."""
  names = []
  for model_dir in model_dirs:
    base = os.path.basename(os.path.normpath(model_dir)) or "model"
    name, count = base, 2
    while name in names:
      name, count = f"{base}_{count}", count + 1
    names.append(name)
  return names


def resolve_dataset(config: EvaluateConfig, train_configs: list) -> dict:
  """The dataset to evaluate on; refuses a mismatch unless allowed."""
  dataset = dataset_of(train_configs[0])
  dataset.update(config.dataset_overrides or {})
  for model_dir, train_config in zip(config.model_dirs, train_configs):
    own = dataset_of(train_config)
    if own["image_size"] != dataset["image_size"]:
      raise ValueError(
          f"--model_dir={model_dir} takes {own['image_size']} px images but "
          f"the evaluation dataset has {dataset['image_size']} px; a model "
          "can only be evaluated at its own image size.")
    if own != dataset and not config.allow_dataset_mismatch:
      raise ValueError(
          f"--model_dir={model_dir} was trained on a different dataset "
          f"({evaluation_report.describe_dataset(own)}) than the one evaluated ({evaluation_report.describe_dataset(dataset)}); "
          "pass --allow_dataset_mismatch to evaluate it anyway.")
  return dataset


source_of = faces_evaluation.source_of
render_groups = faces_evaluation.render_groups
ModelFunctions = faces_evaluation.ModelFunctions
factor_latent_map = faces_evaluation.factor_latent_map
calibrations = faces_evaluation.calibrations
evaluate_model = faces_evaluation.evaluate_model


summary_line = faces_evaluation.summary_line


def run(config: EvaluateConfig) -> dict:
  """Evaluates every model; returns the metrics it wrote."""
  validate(config)
  names = model_names(config.model_dirs)
  check_output_dir(config, names)
  train_configs = [model_dir_lib.read_config(d) for d in config.model_dirs]
  if not all(data_sources.source_for(c).rendered for c in train_configs):
    return run_labelled(config, names, train_configs)
  loaded = [task.load_trained(d) for d in config.model_dirs]
  dataset = resolve_dataset(config, [c for c, _ in loaded])
  source = source_of(dataset)
  factor_grid.bin_centres(source.ranges, config.grid_bins)
  with tqdm.tqdm(total=faces_evaluation.render_tasks(config),
                 desc="rendering", unit="task",
                 disable=not config.progress) as bar:
    with render_pool.worker_pool(config.workers or None) as pool:
      data = faces_evaluation.render_data(source, config, pool, bar.update)
  data.update(dataset=dataset, groups_per_type=config.eval_groups_per_type)
  data["grid_shape"] = "x".join(map(str, data["grid"]["images"].shape[:4]))
  results = {}
  stages = 5 + len(disentanglement.METRIC_NAMES)
  with tqdm.tqdm(total=stages * len(names), desc="evaluating", unit="step",
                 disable=not config.progress) as bar:
    for name, model_dir, (train_config, model) in zip(
        names, config.model_dirs, loaded):
      started = []

      def stage(description, name=name, started=started):
        if started:
          bar.update(1)
        started.append(description)
        bar.set_postfix_str(f"{name}: {description}")

      results[name] = evaluate_model(name, model_dir, train_config, model,
                                     data, config, stage)
      bar.update(1)

  def fill(staging):
    written = evaluation_report.write_figures(staging, names, results, data, config)
    metrics = {"models": {n: results[n]["metrics"] for n in names},
               "dataset": dataset, "figures": [f for _, f in written]}
    atomic_files.write_json_atomically(os.path.join(staging, METRICS_FILE),
                                       metrics)
    test = data["test"]
    np.savez_compressed(
        os.path.join(staging, CODES_FILE),
        group_type=test["group_type"], group_id=test["group_id"],
        **{f: test[f] for f in factors.FACTORS},
        grid_azimuth=data["grid"]["azimuth"],
        grid_elevation=data["grid"]["elevation"],
        grid_light=data["grid"]["light"],
        grid_identities=data["grid"]["identities"],
        **{f"{n}__codes": results[n]["codes"] for n in names},
        **{f"{n}__grid_codes": results[n]["grid_codes"] for n in names})
    with open(os.path.join(staging, REPORT_FILE), "w") as stream:
      stream.write(evaluation_report.report(names, metrics["models"], written, data))
    return metrics

  return atomic_files.publish_folder(config.output_dir, fill,
                                     prefix=".evaluate-")


def run_labelled(config: EvaluateConfig, names: list,
                 train_configs: list) -> dict:
  """Evaluates models of a labelled source (dcign_tf.data_sources): per
  designated factor its latent's Spearman and binned R^2 on the test
  groups (on the circle for factors that wrap), the test MSE, sweep sheets
  of test images as each factor's latent sweeps (for 3D chairs, the
  paper's Figure 7: unseen chairs rotated by sweeping z1), and, where the
  dataset is a complete factor grid, the five disentanglement metrics on
  it (`labelled_evaluation`)."""
  first = train_configs[0]
  for name, other in zip(names, train_configs):
    if (other.dataset, other.dataset_path, other.designated) != (
        first.dataset, first.dataset_path, first.designated):
      raise ValueError(
          f"{name} was trained on --dataset={other.dataset} "
          f"({other.dataset_path}, designated {list(other.designated)}), "
          f"{names[0]} on --dataset={first.dataset} ({first.dataset_path}, "
          f"designated {list(first.designated)}); evaluate them apart.")
  loaded = [task.load_trained(d)
            for d in config.model_dirs]
  source = data_sources.source_for(first)
  data = source.evaluation_groups(config.eval_groups_per_type, config.seed)
  calibration_data = source.evaluation_groups(
      config.calibration_groups_per_type, config.seed, "train")
  retrieval = labelled_evaluation.retrieval_groups(
      source.load(), config.retrieval_groups, config.seed)
  # The whole dataset as the metrics' simulator, where it is a grid.
  grid, grid_skipped = source.grid()
  if grid_skipped:
    print(f"--dataset={first.dataset}: {grid_skipped}.", flush=True)

  def fill(staging):
    models, figures = {}, []
    for name, (train_config, model) in zip(names, loaded):
      metrics, codes = task.evaluate(model, train_config, data)
      sheets = sweeps.write_sweeps(
          model, dataclasses.replace(train_config, model_dir=staging,
                                     sweep_faces=config.sweep_faces,
                                     sweep_steps=config.sweep_steps),
          data, codes, metrics["factors"])
      for path in sheets:
        renamed = f"{name}_{os.path.basename(path)}"
        os.replace(path, os.path.join(staging, renamed))
        figures.append(renamed)
      functions = ModelFunctions(model)
      novel, fitted = labelled_evaluation.novel_views(
          functions, data, calibration_data,
          factor_latent_map(train_config, model, metrics["factors"]),
          config.sources_per_group)
      # Label units, not degrees: the 45-degree headline does not apply.
      identity = {slot: dict(scores, top1_within_45_degrees=None,
                             top1_within_45_degrees_standard_error=None)
                  for slot, scores in identity_retrieval.score_groups(
                      functions.encode, functions.decode, retrieval,
                      fitted).items()}
      names_of = sweeps.factor_display_names(train_config)
      metrics["factors"] = {names_of[slot]: score for slot, score in
                            metrics["factors"].items()}
      metrics["novel_view"] = {names_of[slot]: summary
                               for slot, summary in novel.items()}
      metrics["identity_retrieval"] = {names_of[slot]: scores
                                       for slot, scores in identity.items()}
      if grid is not None:
        with tqdm.tqdm(total=grid.rows.size, unit="image",
                       desc=f"{name}: encoding the factor grid",
                       disable=not config.progress) as bar:
          codes = labelled_evaluation.grid_codes(functions.encode, source,
                                                 grid, bar.update)
        metrics["disentanglement"] = labelled_evaluation.grid_metrics(
            codes, grid.factor_names, config)
      else:
        metrics["disentanglement_skipped"] = grid_skipped
      models[name] = metrics
    metrics = {"models": models, "figures": figures,
               "dataset": {"dataset": first.dataset,
                           "dataset_path": first.dataset_path,
                           "designated": list(first.designated)}}
    atomic_files.write_json_atomically(os.path.join(staging, METRICS_FILE),
                                       metrics)
    with open(os.path.join(staging, REPORT_FILE), "w") as stream:
      stream.write(evaluation_report.labelled_report(
          first.dataset, first.group_size, len(data["group_id"]), models,
          figures))
    return metrics

  return atomic_files.publish_folder(config.output_dir, fill,
                                     prefix=".evaluate-")
