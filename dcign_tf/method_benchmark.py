"""DC-IGN against the methods that came after it, on the same groups.

Every method trains with the same trainer, network, data, group mix and
step budget on each dataset, for several seeds, and `trainers.evaluate`
scores each model; the tables give each score's mean and spread over the
seeds. The datasets:

  faces    the built-in faces (prepared groups);
  sprites  a dSprites-equivalent grid written by `data.procedural` (square,
           ellipse and heart over scale, orientation and x, y position);
  objects  procedural OBJ solids (`data.procedural`) rendered at a grid of
           azimuths and elevations.

The methods: `dcign` (the paper's clamp), `dcign_swap` (the other-member
clamp of `faces_quick.flags` with a pull of 10), `vae` (plain SGVB), `beta_vae`
(the same with beta = 4), `gvae` (Group-VAE) and `ada_gvae` (Ada-GVAE).
Runs already finished in the output folder are reused, so an interrupted
benchmark resumes where it stopped.
"""

import dataclasses
import json
import os
from typing import Callable, Optional

import numpy as np

from dcign_tf import atomic_files
from dcign_tf import evaluator
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer
from dcign_tf.data import procedural

METHODS = {"dcign": {"training": "dcign"},
           # DC-IGN with the other-member clamp (each view decoded from
           # another view's code at its clamped latents) and a stronger
           # pull, as faces_quick.flags trains it.
           "dcign_swap": {"training": "dcign", "clamp_target": "other_member",
                          "invariance_scale": 10.0},
           "vae": {"training": "vae"},
           "beta_vae": {"training": "vae", "beta": 4.0},
           "gvae": {"training": "gvae"}, "ada_gvae": {"training": "ada_gvae"}}
DATASETS = ("faces", "sprites", "objects")
# The scores of the tables: (column, path in an evaluated model's metrics).
COLUMNS = (("MIG", ("disentanglement", "mig", "mig")),
           ("DCI-D", ("disentanglement", "dci", "disentanglement")),
           ("SAP", ("disentanglement", "sap", "sap")),
           ("FactorVAE", ("disentanglement", "factor_vae", "eval_accuracy")),
           ("test MSE", ("test_mse_per_pixel",)),
           ("novel-view MSE", ("novel_view_mean",)))
RESULT_FILE = "result.json"


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
  """The benchmark's sizes (defaults: a CPU-sized run)."""

  output_dir: str
  datasets: tuple = DATASETS
  methods: tuple = tuple(METHODS)
  seeds: tuple = (0, 1)
  train_steps: int = 1500
  image_size: int = 32
  network: str = "small"
  latent_size: int = 10
  group_size: int = 8
  learning_rate: float = 1e-3
  # The sprites grid: scales x orientations x positions^2, three shapes.
  sprite_scales: int = 3
  sprite_orientations: int = 8
  sprite_positions: int = 6
  object_azimuths: int = 12
  # Evaluation sizes (disentanglement_lib's are 10,000 / 5,000).
  metric_train: int = 2000
  metric_test: int = 1000
  grid_bins: int = 5


def check(config: BenchmarkConfig):
  """Raises ValueError naming the first setting that cannot work."""
  unknown = [d for d in config.datasets if d not in DATASETS]
  if unknown:
    raise ValueError(f"Unknown dataset {unknown[0]!r}; allowed: "
                     f"{', '.join(DATASETS)}.")
  unknown = [m for m in config.methods if m not in METHODS]
  if unknown:
    raise ValueError(f"Unknown method {unknown[0]!r}; allowed: "
                     f"{', '.join(METHODS)}.")
  if not config.seeds or not config.datasets or not config.methods:
    raise ValueError("Give at least one dataset, method and seed.")
  for name in ("train_steps", "image_size", "latent_size", "group_size",
               "sprite_scales", "sprite_orientations", "sprite_positions",
               "object_azimuths", "metric_train", "metric_test"):
    if getattr(config, name) < 1:
      raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}.")


def dataset_settings(config: BenchmarkConfig, dataset: str) -> dict:
  """The TrainConfig data settings of `dataset`, writing its procedural
  files under the output folder first (once)."""
  data = os.path.join(config.output_dir, "data")
  if dataset == "faces":
    return dict(data="prepared", train_groups_per_type=150,
                test_groups_per_type=20, ratio="1:1:1:1",
                data_dir=os.path.join(data, "tfds"))
  if dataset == "sprites":
    path = os.path.join(data, f"sprites_{config.image_size}.npz")
    if not os.path.exists(path):
      procedural.write_sprites(
          path, image_size=config.image_size, scales=config.sprite_scales,
          orientations=config.sprite_orientations,
          positions=config.sprite_positions)
    return dict(dataset="npz", dataset_path=path, ratio="1:1:1:1",
                designated=("orientation", "position_x", "position_y"),
                circular_factors=(
                    f"orientation:{config.sprite_orientations}",))
  folder = os.path.join(data, "objects")
  if not os.path.isdir(folder):
    procedural.write_objects(folder)
  return dict(dataset="objects", dataset_path=folder, ratio="1:1:0:1",
              designated=("azimuth", "elevation"),
              object_azimuths=config.object_azimuths,
              object_elevations=(0.0, 15.0, 30.0), object_lights=(0.0,),
              data_dir=os.path.join(data, "tfds"))


def run_one(config: BenchmarkConfig, dataset: str, method: str,
            seed: int) -> dict:
  """Trains and evaluates one (dataset, method, seed); returns the
  evaluated model's metrics (reused if the run finished before)."""
  folder = os.path.join(config.output_dir, "runs", dataset,
                        f"{method}_seed{seed}")
  result = os.path.join(folder, RESULT_FILE)
  if os.path.exists(result):
    with open(result) as stream:
      return json.load(stream)
  model_dir = os.path.join(folder, "model")
  train = train_config_lib.TrainConfig(
      model_dir=model_dir, image_size=config.image_size,
      group_size=config.group_size, network=config.network,
      latent_size=config.latent_size, train_steps=config.train_steps,
      checkpoint_every=config.train_steps, learning_rate=config.learning_rate,
      optimizer="adam", seed=seed, eval_groups_per_type=10,
      grid_identities=4, grid_bins=config.grid_bins, metric_samples=500,
      sweep_faces=2, sweep_steps=5, **METHODS[method],
      **dataset_settings(config, dataset))
  trainer.run(train, verbose=0)
  evaluated = evaluator.run(evaluator.EvaluateConfig(
      model_dirs=(model_dir,), output_dir=os.path.join(folder, "evaluation"),
      overwrite=True, eval_groups_per_type=10, calibration_groups_per_type=10,
      retrieval_groups=2, grid_identities=4, grid_bins=config.grid_bins,
      metric_train=config.metric_train, metric_test=config.metric_test,
      variance_estimate=config.metric_train, seed=seed, progress=False))
  metrics = next(iter(evaluated["models"].values()))
  novel = [view["mean_error"] for view in metrics.get("novel_view",
                                                      {}).values()]
  metrics["novel_view_mean"] = float(np.mean(novel)) if novel else None
  atomic_files.write_json_atomically(result, metrics)
  return metrics


def value_at(metrics: dict, path: tuple) -> Optional[float]:
  for key in path:
    if not isinstance(metrics, dict) or key not in metrics:
      return None
    metrics = metrics[key]
  return None if metrics is None else float(metrics)


def run(config: BenchmarkConfig,
        say: Callable = lambda line: None) -> dict:
  """Every (dataset, method, seed); returns {dataset: {method: [metrics of
  each seed]}} and writes tables.md and results.json to the output folder.
  """
  check(config)
  results = {}
  total = len(config.datasets) * len(config.methods) * len(config.seeds)
  done = 0
  for dataset in config.datasets:
    for method in config.methods:
      for seed in config.seeds:
        done += 1
        say(f"[{done}/{total}] {dataset}: {method}, seed {seed}")
        results.setdefault(dataset, {}).setdefault(method, []).append(
            run_one(config, dataset, method, seed))
  atomic_files.write_json_atomically(
      os.path.join(config.output_dir, "results.json"), results)
  text = tables(results, config)
  with open(os.path.join(config.output_dir, "tables.md.partial"), "w") as f:
    f.write(text)
  os.replace(os.path.join(config.output_dir, "tables.md.partial"),
             os.path.join(config.output_dir, "tables.md"))
  return results


def tables(results: dict, config: BenchmarkConfig) -> str:
  """One markdown table per dataset: methods x scores, mean ± standard
  deviation over the seeds (the value alone where one seed gave it; –
  where a score does not apply)."""
  lines = []
  for dataset, by_method in results.items():
    lines += [f"### {dataset}", "",
              "| method | " + " | ".join(c for c, _ in COLUMNS) + " |",
              "|---|" + "---|" * len(COLUMNS)]
    for method, runs in by_method.items():
      cells = []
      for column, path in COLUMNS:
        values = [v for v in (value_at(m, path) for m in runs)
                  if v is not None]
        if not values:
          cells.append("–")
          continue
        digits = 5 if "MSE" in column else 3
        cell = f"{np.mean(values):.{digits}f}"
        # One value has no spread to show; "± 0" would claim one.
        if len(values) > 1:
          cell += f" ± {np.std(values):.{digits}f}"
        cells.append(cell)
      lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
  lines.append(
      f"{len(config.seeds)} seed{'s' if len(config.seeds) > 1 else ''} per "
      f"cell; {config.train_steps} steps of "
      f"groups of {config.group_size} at {config.image_size} px, "
      f"`{config.network}` network, {config.latent_size} latents.")
  return "\n".join(lines) + "\n"
