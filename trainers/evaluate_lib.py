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
import shutil
import tempfile
from typing import Optional

import numpy as np
import tqdm

from dcign_tf import disentanglement
from dcign_tf import faces_evaluation
from dcign_tf import figures
from dcign_tf.data import factor_grid
from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import sources
from trainers import train_lib

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
  retrieval_groups: int = 10
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


def dataset_of(config: train_lib.TrainConfig) -> dict:
  return {"face_model": config.face_model, "image_size": config.image_size,
          "group_size": config.group_size, "ranges": config.ranges.to_dict(),
          "data_seed": config.data_seed}


def _describe(dataset: dict) -> str:
  return ", ".join(f"{k}={v}" for k, v in dataset.items())


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
          f"({_describe(own)}) than the one evaluated ({_describe(dataset)}); "
          "pass --allow_dataset_mismatch to evaluate it anyway.")
  return dataset


source_of = faces_evaluation.source_of
render_groups = faces_evaluation.render_groups
ModelFunctions = faces_evaluation.ModelFunctions
factor_latent_map = faces_evaluation.factor_latent_map
calibrations = faces_evaluation.calibrations
evaluate_model = faces_evaluation.evaluate_model


def write_figures(out: str, names: list, results: dict, data: dict,
                  config: EvaluateConfig) -> list:
  """Every figure as a PNG in `out`; returns (title, file name) pairs."""
  test = data["test"]
  written = []
  intrinsic = np.flatnonzero(test["group_type"] ==
                             factors.GroupType.INTRINSIC)
  _, first = np.unique(test["group_id"][intrinsic], return_index=True)
  faces = intrinsic[np.sort(first)][:config.sweep_faces]
  ranges = source_of(data["dataset"]).ranges
  for name in names:
    result = results[name]
    for factor, calibration in result["calibrations"].items():
      low, high = ranges.span(factor)
      degrees = np.linspace(low, high, config.sweep_steps)
      values = calibration(degrees)
      base = result["codes"][faces]
      edited = np.repeat(base[:, None], len(values), axis=1)
      edited[:, :, calibration.latent] = values
      rendered = result["functions"].decode(
          edited.reshape(-1, base.shape[1])).reshape(
              len(faces), len(values), *test["images"].shape[1:])
      rows = [np.concatenate([test["images"][face][None], row])
              for face, row in zip(faces, rendered)]
      file = f"{name}_sweep_{factor}.png"
      figures.image_grid(
          os.path.join(out, file), rows,
          [f"test face {i + 1}" for i in range(len(faces))],
          ["input"] + figures.degree_labels(degrees, values),
          f"{name}: z{calibration.latent + 1} ({factor}) swept from "
          f"{values[0]:+.2f} to {values[-1]:+.2f} (calibrated {low:+.0f}° to "
          f"{high:+.0f}°), every other latent fixed")
      written.append((f"{name}: {factor} sweep", file))
    panels = []
    for factor, score in result["metrics"]["factors"].items():
      mask = test["group_type"] == factors.FACTORS.index(factor)
      calibration = result["calibrations"].get(factor)
      panels.append({
          "factor": factor, "latent": score["latent"],
          "truth": test[factor][mask],
          "inferred": result["codes"][mask, score["latent"]],
          "curve": (None if calibration is None else
                    (calibration.degrees, calibration.values)),
          "r2": score["r2"]})
    file = f"{name}_inferred_vs_true.png"
    figures.factor_scatter(os.path.join(out, file), panels,
                           f"{name}: inferred vs true factors (test groups)")
    written.append((f"{name}: inferred vs true factors", file))
  panels = []
  for factor in factors.FACTORS:
    curves = []
    for index, name in enumerate(names):
      novel = results[name]["metrics"]["novel_view"].get(factor)
      if novel is None:
        continue
      curves.append({"label": f"{name}: novel view",
                     "x": novel["by_angle"]["delta_degrees"],
                     "y": novel["by_angle"]["mean_error"],
                     "style": f"C{index}o-"})
      curves.append({"label": f"{name}: reconstruction (bound)",
                     "x": novel["lower_bound_by_angle"]["delta_degrees"],
                     "y": novel["lower_bound_by_angle"]["mean_error"],
                     "style": f"C{index}--"})
    if curves:
      panels.append({"factor": factor, "curves": curves})
  if panels:
    file = "novel_view_error.png"
    figures.error_curves(os.path.join(out, file), panels,
                         "Novel-view re-rendering error against the angle "
                         "between source and target view")
    written.append(("Novel-view error against angle", file))
  written += _write_rerenderings(out, names, results, test)
  return written


def _write_rerenderings(out, names, results, test) -> list:
  """Fig. 5b: one test image re-rendered at the other views of its group by
  every model, beside the true renders."""
  written = []
  for factor in factors.FACTORS:
    mask = np.flatnonzero(test["group_type"] == factors.FACTORS.index(factor))
    if not mask.size:
      continue
    members = mask[test["group_id"][mask] == test["group_id"][mask[0]]]
    columns = members[np.unique(np.linspace(0, len(members) - 1, 7).round(
        ).astype(int))]
    source = members[len(members) // 2]
    rows = [test["images"][columns]]
    labels = ["true render"]
    for name in names:
      calibration = results[name]["calibrations"].get(factor)
      if calibration is None:
        continue
      code = results[name]["codes"][source]
      edited = np.repeat(code[None], len(columns), axis=0)
      edited[:, calibration.latent] = calibration(test[factor][columns])
      rows.append(results[name]["functions"].decode(edited))
      labels.append(name)
    rows.insert(0, np.repeat(test["images"][source][None], len(columns), 0))
    labels.insert(0, "input")
    file = f"rerender_{factor}.png"
    figures.image_grid(
        os.path.join(out, file), rows, labels,
        figures.degree_labels(test[factor][columns]),
        f"One test image ({factor} {test[factor][source]:+.0f}°) re-rendered "
        f"at other {factor} values by setting z_{factor}")
    written.append((f"Re-rendering across {factor}", file))
  return written


def _fmt(value):
  """Integers as they are, errors (< 0.1) with 5 decimals, scores with 3."""
  if isinstance(value, (int, np.integer)):
    return str(value)
  return f"{value:.5f}" if abs(value) < 0.1 else f"{value:.3f}"


def report(names: list, metrics: dict, figures_written: list,
           data: dict) -> str:
  """report.md: the tables, side by side per model, then the figures."""
  header = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)
  lines = ["# DC-IGN evaluation", "",
           f"Dataset: {_describe(data['dataset'])}. Test groups per type: "
           f"{data['groups_per_type']}; factor grid: {data['grid_shape']} "
           "(identities x azimuth x elevation x light bins).", "",
           "## Reconstruction and factors", "", header]

  def row(label, getter):
    cells = []
    for name in names:
      try:
        cells.append(_fmt(getter(metrics[name])))
      except (KeyError, TypeError):
        cells.append("–")
    lines.append(f"| {label} | " + " | ".join(cells) + " |")

  lines.append("| training | " +
               " | ".join(metrics[n]["training"] for n in names) + " |")
  row("steps", lambda m: m["steps"])
  row("test MSE per pixel", lambda m: m["test_mse_per_pixel"])
  row("reconstruction: foreground PSNR (dB)",
      lambda m: m["reconstruction_foreground"]["foreground_psnr"])
  row("reconstruction: foreground SSIM",
      lambda m: m["reconstruction_foreground"]["foreground_ssim"])
  for factor in factors.FACTORS:
    row(f"{factor}: latent", lambda m, f=factor: m["factors"][f]["latent"] + 1)
    row(f"{factor}: Spearman", lambda m, f=factor: m["factors"][f]["spearman"])
    row(f"{factor}: binned R²", lambda m, f=factor: m["factors"][f]["r2"])
  lines += ["", "## Novel-view re-rendering error (MSE per pixel; lower is "
            "better)", "", header]
  for factor in factors.FACTORS:
    row(f"{factor}", lambda m, f=factor: m["novel_view"][f]["mean_error"])
    row(f"{factor}: reconstruction bound",
        lambda m, f=factor: m["novel_view"][f]["mean_lower_bound"])
    row(f"{factor}: foreground PSNR (dB)",
        lambda m, f=factor: m["novel_view"][f]["mean_foreground_psnr"])
    row(f"{factor}: foreground SSIM",
        lambda m, f=factor: m["novel_view"][f]["mean_foreground_ssim"])
  lines += ["", "## Novel-view identity retrieval (top-1: the re-rendered "
            "face is nearest to its own true render among the group's "
            "identities; higher is better)", "", header]
  for factor in factors.FACTORS:
    row(f"{factor}: top-1 within 45°", lambda m, f=factor: m[
        "identity_retrieval"][f]["top1_within_45_degrees"])
    row(f"{factor}: top-1, all changes",
        lambda m, f=factor: m["identity_retrieval"][f]["top1"])
    row(f"{factor}: chance",
        lambda m, f=factor: m["identity_retrieval"][f]["chance"])
  lines += ["", "## Invariance (within-group std / population std of "
            "latent blocks that should not move; lower is better)", "",
            header]
  some = metrics[names[0]]["invariance"]
  for group_type, blocks in some.items():
    for block in blocks:
      row(f"{group_type} groups: {block} block",
          lambda m, t=group_type, b=block: m["invariance"][t][b])
  lines += ["", "## Disentanglement metrics on the factor grid", "", header]
  row("MIG", lambda m: m["disentanglement"]["mig"]["mig"])
  for key in ("disentanglement", "completeness", "informativeness_test"):
    row(f"DCI {key}", lambda m, k=key: m["disentanglement"]["dci"][k])
  row("SAP", lambda m: m["disentanglement"]["sap"]["sap"])
  row("FactorVAE score",
      lambda m: m["disentanglement"]["factor_vae"]["eval_accuracy"])
  row("BetaVAE score",
      lambda m: m["disentanglement"]["beta_vae"]["eval_accuracy"])
  lines += ["", "## Figures", ""]
  for title, file in figures_written:
    lines += [f"### {title}", "", f"![{title}]({file})", ""]
  return "\n".join(lines) + "\n"


summary_line = faces_evaluation.summary_line


def run(config: EvaluateConfig) -> dict:
  """Evaluates every model; returns the metrics it wrote."""
  validate(config)
  names = model_names(config.model_dirs)
  check_output_dir(config, names)
  train_configs = [train_lib.read_config(d) for d in config.model_dirs]
  if any(c.dataset != "faces" for c in train_configs):
    return run_labelled(config, names, train_configs)
  loaded = [train_lib.load_trained(d) for d in config.model_dirs]
  dataset = resolve_dataset(config, [c for c, _ in loaded])
  source = source_of(dataset)
  factor_grid.bin_centres(source.ranges, config.grid_bins)
  with tqdm.tqdm(total=faces_evaluation.render_tasks(config),
                 desc="rendering", unit="task",
                 disable=not config.progress) as bar:
    with faces_dataset.worker_pool(config.workers or None) as pool:
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
    written = write_figures(staging, names, results, data, config)
    metrics = {"models": {n: results[n]["metrics"] for n in names},
               "dataset": dataset, "figures": [f for _, f in written]}
    train_lib.write_json_atomically(os.path.join(staging, METRICS_FILE),
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
      stream.write(report(names, metrics["models"], written, data))
    return metrics

  return publish(config.output_dir, fill)


def publish(output_dir: str, fill):
  """Runs fill(staging) in a folder beside `output_dir`, then renames it
  into place: a crash leaves the earlier report whole. Returns fill's
  result."""
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".evaluate-", dir=parent)
  try:
    result = fill(staging)
    if os.path.exists(output_dir):
      old = output_dir.rstrip("/") + ".old"
      os.replace(output_dir, old)
      os.replace(staging, output_dir)
      shutil.rmtree(old)
    else:
      os.replace(staging, output_dir)
  finally:
    if os.path.exists(staging):
      shutil.rmtree(staging)
  return result


def run_labelled(config: EvaluateConfig, names: list,
                 train_configs: list) -> dict:
  """Evaluates models of a labelled source (dcign_tf.data.sources): per
  designated factor its latent's Spearman and binned R^2 on the test
  groups, the test MSE, and sweep sheets of test images as each factor's
  latent sweeps (for 3D chairs, the paper's Figure 7: unseen chairs
  rotated by sweeping z1)."""
  first = train_configs[0]
  for name, other in zip(names, train_configs):
    if (other.dataset, other.dataset_path, other.designated) != (
        first.dataset, first.dataset_path, first.designated):
      raise ValueError(
          f"{name} was trained on --dataset={other.dataset} "
          f"({other.dataset_path}, designated {list(other.designated)}), "
          f"{names[0]} on --dataset={first.dataset} ({first.dataset_path}, "
          f"designated {list(first.designated)}); evaluate them apart.")
  loaded = [train_lib.load_trained(d)
            for d in config.model_dirs]
  source = train_lib.labelled_source(first)
  data = sources.evaluation_groups(source, config.eval_groups_per_type,
                                   config.seed)

  def fill(staging):
    models, figures = {}, []
    for name, (train_config, model) in zip(names, loaded):
      metrics, codes = train_lib.evaluate(model, train_config, data)
      sheets = train_lib.write_sweeps(
          model, dataclasses.replace(train_config, model_dir=staging,
                                     sweep_faces=config.sweep_faces,
                                     sweep_steps=config.sweep_steps),
          data, codes, metrics["factors"])
      for path in sheets:
        renamed = f"{name}_{os.path.basename(path)}"
        os.replace(path, os.path.join(staging, renamed))
        figures.append(renamed)
      names_of = train_lib.factor_display_names(train_config)
      metrics["factors"] = {names_of[slot]: score for slot, score in
                            metrics["factors"].items()}
      models[name] = metrics
    metrics = {"models": models, "figures": figures,
               "dataset": {"dataset": first.dataset,
                           "dataset_path": first.dataset_path,
                           "designated": list(first.designated)}}
    train_lib.write_json_atomically(os.path.join(staging, METRICS_FILE),
                                    metrics)
    lines = [f"# Evaluation on --dataset={first.dataset}", "",
             f"{len(data['group_id'])} test images in groups of "
             f"{first.group_size}.", "",
             "| model | factor | latent | Spearman | binned R² |",
             "|---|---|---|---|---|"]
    for name, metrics_of in models.items():
      for factor, score in metrics_of["factors"].items():
        lines.append(f"| {name} | {factor} | z{score['latent'] + 1} | "
                     f"{score['spearman']:.3f} | {score['r2']:.3f} |")
    lines += ["", "| model | test MSE per pixel |", "|---|---|"]
    lines += [f"| {name} | {m['test_mse_per_pixel']:.5f} |"
              for name, m in models.items()]
    lines += [""] + [f"![{figure}]({figure})" for figure in figures]
    with open(os.path.join(staging, REPORT_FILE), "w") as stream:
      stream.write("\n".join(lines) + "\n")
    return metrics

  return publish(config.output_dir, fill)
