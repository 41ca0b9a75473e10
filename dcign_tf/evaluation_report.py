"""What an evaluation shows a person: the figures (the paper's Figures 4,
5 and 6, novel-view error curves) and report.md, side by side for several
models."""

import os

import numpy as np

from dcign_tf import faces_evaluation
from dcign_tf import figures
from dcign_tf import sweeps
from dcign_tf.data import factors


def describe_dataset(dataset: dict) -> str:
  return ", ".join(f"{k}={v}" for k, v in dataset.items())


def write_figures(out: str, names: list, results: dict, data: dict,
                  config) -> list:
  """Every figure as a PNG in `out`; returns (title, file name) pairs.
  `config` gives sweep_faces and sweep_steps."""
  test = data["test"]
  written = []
  intrinsic = np.flatnonzero(test["group_type"] ==
                             factors.GroupType.INTRINSIC)
  _, first = np.unique(test["group_id"][intrinsic], return_index=True)
  faces = intrinsic[np.sort(first)][:config.sweep_faces]
  ranges = faces_evaluation.source_of(data["dataset"]).ranges
  for name in names:
    result = results[name]
    for factor, calibration in result["calibrations"].items():
      degrees = np.linspace(*ranges.span(factor), config.sweep_steps)
      file = f"{name}_sweep_{factor}.png"
      sweeps.write_sweep_sheet(
          os.path.join(out, file), result["functions"].decode,
          test["images"][faces], result["codes"][faces], calibration.latent,
          factor, calibration(degrees), degrees, name)
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
           f"Dataset: {describe_dataset(data['dataset'])}. Test groups per type: "
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
    row(f"{factor}: its standard error (over groups)", lambda m, f=factor: m[
        "identity_retrieval"][f]["top1_within_45_degrees_standard_error"])
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


def labelled_report(dataset: str, group_size: int, test_images: int,
                    models: dict, figures_written: list) -> str:
  """report.md of models trained on a labelled source: each designated
  factor's latent with its Spearman and binned R², the test MSE, then the
  sweep sheets."""
  lines = [f"# Evaluation on --dataset={dataset}", "",
           f"{test_images} test images in groups of {group_size}.", "",
           "| model | factor | latent | Spearman | binned R² |",
           "|---|---|---|---|---|"]
  for name, metrics_of in models.items():
    for factor, score in metrics_of["factors"].items():
      lines.append(f"| {name} | {factor} | z{score['latent'] + 1} | "
                   f"{score['spearman']:.3f} | {score['r2']:.3f} |")
  lines += ["", "| model | test MSE per pixel |", "|---|---|"]
  lines += [f"| {name} | {m['test_mse_per_pixel']:.5f} |"
            for name, m in models.items()]
  lines += _factor_table(
      models, "novel_view", "Novel views: a test image re-rendered at "
      "another value of one factor through its calibrated latent, against "
      "the true image there (the reconstruction's error is the floor):",
      ("novel-view MSE", "reconstruction MSE", "pairs"),
      lambda view: (f"{view['mean_error']:.5f}",
                    f"{view['mean_lower_bound']:.5f}", view["pairs"]))
  lines += _factor_table(
      models, "identity_retrieval", "Identity retrieval: test objects "
      "re-rendered at another value of one factor; a hit when the nearest "
      "of the group's true images is the object's own:",
      ("top-1", "chance", "trials"),
      lambda scores: (f"{scores['top1']:.3f}", f"{scores['chance']:.3f}",
                      scores["trials"]))
  graded = {name: m["disentanglement"] for name, m in models.items()
            if "disentanglement" in m}
  if graded:
    sizes = next(iter(graded.values()))["factor_sizes"]
    lines += ["", "Disentanglement on the dataset's factor grid ("
              f"{' x '.join(map(str, sizes))}), disentanglement_lib's "
              "definitions:", "",
              "| model | MIG | DCI-D | DCI-C | SAP | FactorVAE | BetaVAE |",
              "|---|---|---|---|---|---|---|"]
    for name, scores in graded.items():
      lines.append(
          f"| {name} | {scores['mig']['mig']:.3f} | "
          f"{scores['dci']['disentanglement']:.3f} | "
          f"{scores['dci']['completeness']:.3f} | {scores['sap']['sap']:.3f} "
          f"| {scores['factor_vae']['eval_accuracy']:.3f} | "
          f"{scores['beta_vae']['eval_accuracy']:.3f} |")
  skipped = {m.get("disentanglement_skipped") for m in models.values()} - {
      None}
  for reason in sorted(skipped):
    lines += ["", f"No disentanglement metrics: {reason}."]
  lines += [""] + [f"![{figure}]({figure})" for figure in figures_written]
  return "\n".join(lines) + "\n"


def _factor_table(models: dict, key: str, caption: str, columns: tuple,
                  cells) -> list:
  """Report lines of a model x factor table of each model's `key` scores
  (none when no model has them); `cells(scores)` gives a row's values."""
  rows = [f"| {name} | {factor} | " + " | ".join(map(str, cells(scores)))
          + " |"
          for name, metrics in models.items()
          for factor, scores in metrics.get(key, {}).items()]
  if not rows:
    return []
  return (["", caption, "", "| model | factor | " + " | ".join(columns)
           + " |", "|---|---|" + "---|" * len(columns)] + rows)
