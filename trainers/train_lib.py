"""The training job behind `python -m trainers.train`, as testable functions.

`run(config)` validates everything, builds the data and the model inside a
tf.distribute strategy scope, trains with Keras `fit` (resuming from the
last checkpoint in `model_dir`), and writes TensorBoard summaries, latent
sweep sheets and `metrics.json`.
"""

import dataclasses
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
import tqdm

from dcign_tf import configs
from dcign_tf import distribution
from dcign_tf import evaluation
from dcign_tf import faces_evaluation
from dcign_tf import layers
from dcign_tf import losses
from dcign_tf import model as model_lib
from dcign_tf import polyphase
from dcign_tf import precision
from dcign_tf import run_time
from dcign_tf import training
from dcign_tf import visualization
from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups
from dcign_tf.data import pipeline
from dcign_tf.data import sources

OPTIMIZERS = ("paper", "adam", "rmsprop")
DATA_MODES = ("live", "prepared")
ARCHITECTURE_FILE = "architecture.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
# Sources whose images have no colour to learn from.
GRAYSCALE_DATASETS = ("faces", "chairs", "objects")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything a training run needs (the flags of trainers.train)."""

  model_dir: str
  # "faces" (rendered) or a labelled source of dcign_tf.data.sources.
  dataset: str = "faces"
  dataset_path: Optional[str] = None
  factor_names: tuple = ()
  designated: tuple = ()
  # --dataset=objects: the views rendered (objects_dataset.make_config).
  object_azimuths: int = 24
  object_elevations: tuple = (0.0, 20.0)
  object_lights: tuple = (0.0,)
  object_up_axis: str = "y"
  image_size: int = 64
  # 3: colour images (labelled colour sources only).
  channels: int = 1
  group_size: int = 20
  face_model: str = "builtin"
  ranges: factors.FactorRanges = factors.FactorRanges()
  data_seed: int = 0
  ratio: str = "1:1:1:10"
  groups_per_batch: int = 1
  data: str = "live"
  train_groups_per_type: int = faces_dataset.PAPER_TRAIN_GROUPS_PER_TYPE
  test_groups_per_type: int = faces_dataset.PAPER_TEST_GROUPS_PER_TYPE
  data_dir: Optional[str] = None
  workers: int = 0
  network: str = "small"
  latent_size: int = 32
  training: str = "dcign"
  invariance_scale: float = model_lib.DEFAULT_INVARIANCE_SCALE
  beta: float = 1.0
  clamp_gradient: str = "pull"
  clamp_target: str = "group_mean"
  likelihood: str = "bernoulli"
  pixel_stddev: float = 0.1
  kl_warmup_steps: int = 0
  mirror_odd_factors: tuple = ()
  range_warmup_steps: int = 0
  # The ranges groups start from under the warm-up; None: the full ranges.
  warmup_ranges: Optional[factors.FactorRanges] = None
  # Live data: how many times each rendered group is used.
  live_reuse: int = 1
  strategy: str = "auto"
  mixed_precision: str = "none"
  jit_compile: bool = False
  # Upsampling + convolution at the low resolution (layers.Decoder).
  decoder_phases: bool = True
  optimizer: str = "paper"
  learning_rate: float = 5e-4
  learning_rate_schedule: str = "constant"
  train_steps: int = 1000
  checkpoint_every: int = 100
  eval_groups_per_type: int = 40
  # The final evaluation's factor grid (identities x bins^3 renders) and
  # the samples its metrics train on (disentanglement_lib: 10,000).
  grid_identities: int = 10
  grid_bins: int = 10
  metric_samples: int = 5000
  seed: int = 0
  sweep_faces: int = 4
  sweep_steps: int = 9


def config_to_dict(config: TrainConfig) -> dict:
  values = dataclasses.asdict(config)
  values["ranges"] = config.ranges.to_dict()
  if config.warmup_ranges is not None:
    values["warmup_ranges"] = config.warmup_ranges.to_dict()
  return values


def config_from_dict(values: dict) -> TrainConfig:
  values = dict(values)
  known = {field.name for field in dataclasses.fields(TrainConfig)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise ValueError(f"Unknown training settings {unknown}; allowed: "
                     f"{sorted(known)}.")
  for key in ("mirror_odd_factors", "factor_names", "designated",
              "object_elevations", "object_lights"):
    if key in values:
      values[key] = tuple(values[key])
  for key in ("ranges", "warmup_ranges"):
    if values.get(key) is not None:
      values[key] = factors.FactorRanges.from_mapping(values[key])
  return TrainConfig(**values)


def write_json_atomically(path: str, value):
  temporary = path + ".tmp"
  with open(temporary, "w") as stream:
    json.dump(value, stream, indent=2, sort_keys=True)
  os.replace(temporary, path)


def read_config(model_dir: str) -> TrainConfig:
  """The settings a model dir was trained with (its config.json)."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    raise ValueError(f"--model_dir={model_dir} has no {CONFIG_FILE}: it was "
                     "not written by trainers.train.")
  with open(path) as stream:
    return config_from_dict(json.load(stream))


def network_config(config: TrainConfig) -> configs.NetworkConfig:
  return configs.preset(config.network, image_size=config.image_size,
                        latent_size=config.latent_size,
                        channels=config.channels)


def validate(config: TrainConfig) -> configs.NetworkConfig:
  """Raises ValueError naming the first setting that cannot work."""
  network = network_config(config)
  probabilities = factors.parse_ratio(config.ratio)
  if config.channels == 3 and config.dataset in GRAYSCALE_DATASETS:
    raise ValueError(f"--channels=3: --dataset={config.dataset} renders "
                     "grayscale images; colour needs a colour source "
                     "(npz, shapes3d).")
  if config.dataset == "faces":
    factors.check_ratio_against_ranges(probabilities, config.ranges)
    groups.GroupSource(face_model=config.face_model,
                       image_size=config.image_size,
                       group_size=config.group_size, ranges=config.ranges)
  elif config.dataset not in sources.KINDS:
    raise ValueError(f"Unknown dataset {config.dataset!r}; allowed: faces, "
                     f"{', '.join(sources.KINDS)}.")
  else:
    for name, value, allowed in (
        ("data", config.data, "live"), ("live_reuse", config.live_reuse, 1),
        ("range_warmup_steps", config.range_warmup_steps, 0),
        ("mirror_odd_factors", config.mirror_odd_factors, ())):
      if value != allowed:
        raise ValueError(f"{name}={value!r} applies to the rendered faces, "
                         f"not --dataset={config.dataset}.")
  if config.training not in model_lib.TRAINING_MODES:
    raise ValueError(f"Unknown training mode {config.training!r}; allowed: "
                     f"{', '.join(model_lib.TRAINING_MODES)}.")
  if config.clamp_gradient not in model_lib.CLAMP_GRADIENTS:
    raise ValueError(f"Unknown clamp gradient {config.clamp_gradient!r}; "
                     f"allowed: {', '.join(model_lib.CLAMP_GRADIENTS)}.")
  if config.clamp_target not in model_lib.CLAMP_TARGETS:
    raise ValueError(f"Unknown clamp target {config.clamp_target!r}; "
                     f"allowed: {', '.join(model_lib.CLAMP_TARGETS)}.")
  if config.likelihood not in losses.LIKELIHOODS:
    raise ValueError(f"Unknown likelihood {config.likelihood!r}; allowed: "
                     f"{', '.join(losses.LIKELIHOODS)}.")
  if not config.pixel_stddev > 0:
    raise ValueError(f"pixel_stddev must be > 0, got {config.pixel_stddev}.")
  if config.optimizer not in OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {config.optimizer!r}; allowed: "
                     f"{', '.join(OPTIMIZERS)}.")
  if config.data not in DATA_MODES:
    raise ValueError(f"Unknown data mode {config.data!r}; allowed: "
                     f"{', '.join(DATA_MODES)}.")
  if config.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
    raise ValueError("Unknown learning rate schedule "
                     f"{config.learning_rate_schedule!r}; allowed: "
                     f"{', '.join(LEARNING_RATE_SCHEDULES)}.")
  if not config.learning_rate > 0:
    raise ValueError(f"learning_rate must be > 0, got {config.learning_rate}.")
  for name in ("train_steps", "checkpoint_every", "groups_per_batch",
               "eval_groups_per_type", "sweep_faces", "sweep_steps",
               "metric_samples"):
    if getattr(config, name) < 1:
      raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}.")
  if config.train_steps % config.checkpoint_every:
    raise ValueError(f"train_steps ({config.train_steps}) must be a multiple "
                     f"of checkpoint_every ({config.checkpoint_every}).")
  for name in config.mirror_odd_factors:
    if name not in model_lib.MIRROR_ODD_FACTORS:
      raise ValueError(f"A mirror does not negate {name!r}; allowed "
                       "mirror_odd_factors: "
                       f"{', '.join(model_lib.MIRROR_ODD_FACTORS)}.")
  if config.range_warmup_steps < 0:
    raise ValueError("range_warmup_steps must be >= 0, got "
                     f"{config.range_warmup_steps}.")
  if config.range_warmup_steps and config.data != "live":
    raise ValueError("A range warm-up (range_warmup_steps="
                     f"{config.range_warmup_steps}) needs live data "
                     "(--data=live): prepared groups are fixed in advance.")
  if config.strategy not in distribution.STRATEGIES:
    raise ValueError(f"Unknown strategy {config.strategy!r}; allowed: "
                     f"{', '.join(distribution.STRATEGIES)}.")
  precision.check_supported(config.mixed_precision,
                            len(tf.config.list_physical_devices("GPU")))
  pipeline.check_reuse(config.live_reuse)
  if config.live_reuse > 1 and config.data != "live":
    raise ValueError(f"live_reuse={config.live_reuse} applies to live data "
                     "(--data=live); a prepared dataset is read once per "
                     "epoch.")
  if config.warmup_ranges is not None:
    config.warmup_ranges.check_within(config.ranges, "warm-up range")
    factors.check_ratio_against_ranges(probabilities, config.warmup_ranges)
  if config.dataset == "faces" and (config.grid_identities < 2 or
                                    config.grid_bins < 2):
    raise ValueError("The factor grid needs grid_identities >= 2 and "
                     f"grid_bins >= 2, got {config.grid_identities} and "
                     f"{config.grid_bins}.")
  if config.eval_groups_per_type * config.group_size < 8:
    raise ValueError("eval_groups_per_type * group_size must be >= 8 to score "
                     "the latents.")
  return network


LEARNING_RATE_SCHEDULES = ("constant", "cosine")
# The cosine schedule ends at this share of the peak learning rate.
COSINE_FINAL_SHARE = 0.05


def learning_rate_schedule(learning_rate: float, schedule: str = "constant",
                           steps: int = 1):
  """The learning rate, constant or decayed along a half cosine from
  `learning_rate` at step 0 to COSINE_FINAL_SHARE of it at `steps` (a
  function of the optimizer's step, so a resumed run continues it)."""
  if schedule == "constant":
    return learning_rate
  if schedule == "cosine":
    return keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=max(1, steps), alpha=COSINE_FINAL_SHARE)
  raise ValueError(f"Unknown learning rate schedule {schedule!r}; allowed: "
                   f"{', '.join(LEARNING_RATE_SCHEDULES)}.")


def make_optimizer(name: str, learning_rate):
  """'paper' is the original code's update: Adam with beta2 0.99, eps 1e-8
  (the paper calls it rmsprop). `learning_rate` may be a schedule."""
  if name == "paper":
    return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.99,
                                 epsilon=1e-8)
  if name == "adam":
    return keras.optimizers.Adam(learning_rate)
  if name == "rmsprop":
    return keras.optimizers.RMSprop(learning_rate)
  raise ValueError(f"Unknown optimizer {name!r}; allowed: "
                   f"{', '.join(OPTIMIZERS)}.")


def factor_latents(config: TrainConfig) -> dict:
  """Model slot -> latents: the paper's z1-z3 for faces; for a labelled
  source, one latent per designated factor (see dcign_tf.data.sources)."""
  if config.dataset == "faces":
    return dict(model_lib.DEFAULT_FACTOR_LATENTS)
  return {slot: (index,) for index, slot in
          enumerate(factors.FACTORS[:len(config.designated)])}


def architecture(config: TrainConfig, network: configs.NetworkConfig) -> dict:
  values = {"network": network.to_dict(), "training": config.training,
            "factor_latents": {k: list(v) for k, v in
                               factor_latents(config).items()}}
  if config.mirror_odd_factors:  # Older model dirs have no such key.
    values["mirror_odd_factors"] = list(config.mirror_odd_factors)
  return values


def check_model_dir(config: TrainConfig, network: configs.NetworkConfig):
  """Refuses a model_dir whose checkpoints belong to another architecture;
  records this run's architecture otherwise (atomically)."""
  wanted = architecture(config, network)
  path = os.path.join(config.model_dir, ARCHITECTURE_FILE)
  if os.path.exists(path):
    with open(path) as stream:
      found = json.load(stream)
    if found != wanted:
      differences = sorted(
          key for key in set(found) | set(wanted)
          if found.get(key) != wanted.get(key))
      detail = []
      for key in differences:
        if key == "network":
          detail += [f"network.{k}: {found[key].get(k)} in model_dir, "
                     f"{wanted[key].get(k)} asked"
                     for k in sorted(wanted[key])
                     if found[key].get(k) != wanted[key].get(k)]
        else:
          detail.append(f"{key}: {found.get(key)} in model_dir, "
                        f"{wanted.get(key)} asked")
      raise ValueError(
          f"--model_dir={config.model_dir} holds a checkpoint of a different "
          f"architecture ({'; '.join(detail)}); use another model_dir or "
          "the same settings.")
    return
  os.makedirs(config.model_dir, exist_ok=True)
  write_json_atomically(path, wanted)


def forward_flops_per_image(network: configs.NetworkConfig,
                            phases: bool = True) -> float:
  """Multiply-adds x 2 of one forward pass, counted from the layer shapes
  as the layers compute them (`phases`: as `layers.Decoder(phases=...)`).

  A convolution counts output pixels x taps x channels in x out. A decoder
  stage computed in phases is a "valid" D x D convolution of the padded
  low-resolution map to 4 x Cout channels; the image-making stage
  (`layers.NarrowConv2D`) is a matmul at every (padded) input pixel to one
  channel per tap and output channel, at the low resolution in phases.
  """
  flops, size, channels = 0.0, network.image_size, network.channels
  for filters, kernel in zip(network.encoder_filters, network.encoder_kernels):
    out = size - (kernel - 1 if network.padding == "valid" else 0)
    flops += 2.0 * out * out * kernel * kernel * channels * filters
    size, channels = out // 2, filters
  flops += 2 * 2.0 * size * size * channels * network.latent_size
  grid = network.decoder_grid()
  channels = network.encoder_filters[-1]
  flops += 2.0 * network.latent_size * grid * grid * channels
  size = grid
  for filters, kernel in zip(list(network.decoder_filters) +
                             [network.channels], network.decoder_kernels):
    out = 2 * size - (kernel - 1 if network.padding == "valid" else 0)
    stage = polyphase.phase_selection(kernel, network.padding) if (
        phases) else None
    narrow = filters <= layers.NARROW_FILTERS
    if stage is None:  # Upsampled, then convolved.
      if narrow:
        padded = out + kernel - 1
        flops += 2.0 * padded * padded * channels * kernel * kernel * filters
      else:
        flops += 2.0 * out * out * kernel * kernel * channels * filters
    else:
      selection, before, after = stage
      taps, padded = selection.shape[1], size + before + after
      pixels = padded if narrow else padded - taps + 1
      flops += 2.0 * pixels * pixels * channels * taps * taps * 4 * filters
    size, channels = out, filters
  return flops


def strategy(name: str = "auto"):
  """The tf.distribute strategy `name` (see dcign_tf.distribution)."""
  return distribution.make_strategy(name)


def group_source(config: TrainConfig) -> groups.GroupSource:
  return groups.GroupSource(face_model=config.face_model,
                            image_size=config.image_size,
                            group_size=config.group_size, ranges=config.ranges,
                            seed=config.data_seed)


def dataset_builder(config: TrainConfig):
  dataset_config = faces_dataset.make_config(
      image_size=config.image_size, group_size=config.group_size,
      train_groups_per_type=config.train_groups_per_type,
      test_groups_per_type=config.test_groups_per_type,
      face_model=config.face_model, ranges=config.ranges,
      seed=config.data_seed)
  return faces_dataset.builder(dataset_config, config.data_dir,
                               num_workers=config.workers or None)


def range_warmup(config: TrainConfig) -> Optional[pipeline.RangeWarmup]:
  if not config.range_warmup_steps:
    return None
  return pipeline.RangeWarmup(config.warmup_ranges or config.ranges,
                              config.range_warmup_steps)


def labelled_source(config: TrainConfig) -> Optional[sources.LabelledSource]:
  """The labelled source of a run (None for the rendered faces), read and
  checked against the ratio."""
  if config.dataset == "faces":
    return None
  return sources.load(config.dataset, config.dataset_path, config.designated,
                      config.image_size, config.group_size,
                      config.factor_names, config.data_dir, config.ratio,
                      channels=config.channels, render_grid=dict(
                          azimuths=config.object_azimuths,
                          elevations=config.object_elevations,
                          lights=config.object_lights,
                          up_axis=config.object_up_axis))


def train_dataset(config: TrainConfig, first_step: int = 0,
                  sharding: pipeline.Sharding = pipeline.Sharding(),
                  source: Optional[sources.LabelledSource] = None):
  """Grouped training batches from `first_step` on: batch n is the same
  whether a run started at 0 or resumed at n (so a resumed run trains on
  what an uninterrupted one would). Each element is one replica's share
  of the global batch (see `pipeline.Sharding`)."""
  if source is not None:
    return pipeline.labelled_dataset(
        source.train_images, source.train_groups,
        source.weights(config.ratio), config.groups_per_batch,
        seed=config.seed, first_step=first_step, sharding=sharding,
        slots=source.slots)
  if config.data == "prepared":
    builder = dataset_builder(config)
    if not builder.is_prepared():
      builder.download_and_prepare()
    return pipeline.prepared_dataset(builder, "train", config.ratio,
                                     config.groups_per_batch,
                                     seed=config.seed, first_step=first_step,
                                     sharding=sharding)
  workers = config.workers or max(1, (os.cpu_count() or 2) // 2)
  return pipeline.live_dataset(group_source(config), config.ratio,
                               config.groups_per_batch, seed=config.seed,
                               num_workers=workers,
                               range_warmup=range_warmup(config),
                               first_step=first_step,
                               reuse=config.live_reuse, sharding=sharding)


def evaluation_groups(config: TrainConfig,
                      source: Optional[sources.LabelledSource] = None) -> dict:
  """Test groups as NumPy arrays: images [M, S, S, 1] float, group_type [M],
  group_id [M] and the true factors [M], `eval_groups_per_type` per type."""
  if source is not None:
    return sources.evaluation_groups(source, config.eval_groups_per_type,
                                     config.seed)
  # Rendered whether the training data is live or prepared: a GroupSource
  # decides every pixel of a group, so these are the prepared test split's
  # groups, with the foreground coverage that the prepared data lacks.
  with faces_dataset.worker_pool(config.workers or None) as pool:
    return faces_evaluation.render_groups(
        group_source(config), "test", config.eval_groups_per_type, pool,
        with_coverage=True)


def evaluation_sizes(config: TrainConfig) -> faces_evaluation.EvaluationSizes:
  """The final evaluation's sizes: calibration and retrieval groups scale
  with the test groups; the grid and metric samples are the config's."""
  return faces_evaluation.EvaluationSizes(
      eval_groups_per_type=config.eval_groups_per_type,
      calibration_groups_per_type=config.eval_groups_per_type,
      retrieval_groups=min(10, config.eval_groups_per_type),
      grid_identities=config.grid_identities, grid_bins=config.grid_bins,
      metric_train=config.metric_samples,
      metric_test=max(1, config.metric_samples // 2),
      variance_estimate=config.metric_samples, seed=config.seed,
      metrics=faces_evaluation.TRAINER_METRICS)


def faces_evaluation_data(config: TrainConfig, test: dict) -> dict:
  """`faces_evaluation.render_data` at the trainer's sizes, reusing the
  test groups already rendered."""
  sizes = dataclasses.replace(evaluation_sizes(config),
                              eval_groups_per_type=0)
  with tqdm.tqdm(total=faces_evaluation.render_tasks(sizes),
                 desc="rendering evaluation data", unit="task",
                 disable=None) as bar:
    with faces_dataset.worker_pool(config.workers or None) as pool:
      data = faces_evaluation.render_data(group_source(config), sizes, pool,
                                          bar.update)
  data["test"] = test
  return data


class SigtermFlag:
  """Pre-emption: while installed, SIGTERM only sets `raised`; the loop
  saves a checkpoint between steps (so it is consistent) and stops."""

  def __init__(self):
    self.raised = False
    self._previous = None

  def _handle(self, signum, frame):
    del signum, frame
    self.raised = True

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc_info):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None


def write_image_summaries(writer, model, images, sweep_latent, step: int):
  """TensorBoard images: inputs, reconstructions and a z_azimuth sweep."""
  reconstructions = model(images).numpy()
  loc = model.encode(images[:1]).mean().numpy()
  codes = evaluation.latent_sweep_codes(loc, sweep_latent,
                                        np.linspace(-2.0, 2.0, 9))
  sweep = model.decode(codes).numpy()
  with writer.as_default():
    tf.summary.image("inputs", images, step=step, max_outputs=8)
    tf.summary.image("reconstructions", reconstructions, step=step,
                     max_outputs=8)
    tf.summary.image("sweep_z_azimuth", np.concatenate(list(sweep), 1)[None],
                     step=step)
  writer.flush()


class TrainingPreempted(RuntimeError):
  """SIGTERM stopped training after saving a checkpoint."""


class TrainingDiverged(RuntimeError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""


def encode_all(model, images, batch_size=256) -> np.ndarray:
  return np.concatenate([
      model.encode(images[i:i + batch_size]).mean().numpy()
      for i in range(0, len(images), batch_size)])


def evaluate(model, config: TrainConfig, data: dict) -> dict:
  """Test reconstruction MSE and, per extrinsic factor, the latent that
  carries it with its Spearman correlation and binned R^2."""
  # Direct calls, not model.predict: under MultiWorkerMirroredStrategy
  # predict would wait for the other workers, which do not evaluate.
  reconstructions = np.concatenate([
      model(data["images"][i:i + 256]).numpy()
      for i in range(0, len(data["images"]), 256)])
  mse = float(np.mean((reconstructions - data["images"]) ** 2))
  codes = encode_all(model, data["images"])
  designated = (model.factor_latents if config.training == "dcign" else None)
  scores = evaluation.factor_scores(
      codes, data["group_type"], data["group_id"],
      {name: data[name] for name in factors.FACTORS if name in data},
      designated)
  return {"test_mse_per_pixel": mse, "factors": scores,
          "test_images": int(len(codes))}, codes


def build_model(config: TrainConfig, network: configs.NetworkConfig,
                checkpoint_dir: Optional[str] = None):
  """The model with every variable created, its tf.train.Checkpoint and
  CheckpointManager over `checkpoint_dir` (default model_dir/checkpoints).
  Call inside a strategy scope."""
  policy = precision.check_supported(
      config.mixed_precision, len(tf.config.list_physical_devices("GPU")))
  with precision.policy_scope(policy):
    model = model_lib.DCIGN(network, training=config.training,
                            factor_latents=factor_latents(config),
                            invariance_scale=config.invariance_scale,
                            beta=config.beta,
                            likelihood=config.likelihood,
                            clamp_gradient=config.clamp_gradient,
                            clamp_target=config.clamp_target,
                            pixel_stddev=config.pixel_stddev,
                            kl_warmup_steps=config.kl_warmup_steps,
                            mirror_odd_factors=config.mirror_odd_factors,
                            decoder_phases=config.decoder_phases,
                            seed=config.seed)
    # Keras wraps the optimizer in a LossScaleOptimizer under mixed_float16.
    model.compile(optimizer=make_optimizer(
        config.optimizer, learning_rate_schedule(
            config.learning_rate, config.learning_rate_schedule,
            config.train_steps)))
    model.build_for_images()
  model.optimizer.build(model.trainable_variables)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  manager = tf.train.CheckpointManager(
      checkpoint, checkpoint_dir or checkpoint_directory(config.model_dir),
      max_to_keep=3)
  return model, checkpoint, manager


def checkpoint_directory(model_dir: str) -> str:
  return os.path.join(model_dir, "checkpoints")


def restore_latest(checkpoint: tf.train.Checkpoint,
                   manager: tf.train.CheckpointManager,
                   say=print) -> Optional[str]:
  """Restores the newest checkpoint that reads back whole; returns its
  path (None when there is none). A checkpoint whose files were damaged
  (a disk filled up, a copy was cut short) is reported and skipped for the
  one before it, rather than ending the run."""
  for path in reversed(manager.checkpoints):
    try:
      checkpoint.restore(path).assert_existing_objects_matched()
      return path
    # A truncated file surfaces as IndexError ("Read less bytes than
    # requested") from the checkpoint reader.
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
      first_line = str(error).strip().splitlines()[0]
      say(f"Checkpoint {path} cannot be restored ({first_line}); trying the "
          "one before it.")
  if manager.checkpoints:
    raise ValueError(f"No checkpoint in {manager.directory} can be restored; "
                     "move the directory away to start afresh.")
  return None


def remove_unfinished_checkpoints(directory: str):
  """Deletes what a save killed half-way leaves: TensorFlow writes a
  checkpoint under a "_temp" name and moves it into place when complete
  (the `checkpoint` index file is replaced atomically after that)."""
  if not os.path.isdir(directory):
    return
  for name in os.listdir(directory):
    if "_temp" in name:
      path = os.path.join(directory, name)
      if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
      else:
        os.remove(path)


def load_trained(model_dir: str):
  """(config, model) of a trained model dir, from its latest checkpoint.

  Raises ValueError when the dir has no config or checkpoint, or when its
  checkpoint does not fit the architecture its config describes.
  """
  config = read_config(model_dir)
  network = validate(config)
  path = os.path.join(model_dir, ARCHITECTURE_FILE)
  if os.path.exists(path):
    with open(path) as stream:
      recorded = json.load(stream)
    if recorded != architecture(config, network):
      raise ValueError(f"--model_dir={model_dir}: its {ARCHITECTURE_FILE} "
                       f"does not match its {CONFIG_FILE}.")
  # Evaluation and export run in float32 whatever the training precision.
  config = dataclasses.replace(config, mixed_precision="none")
  with strategy().scope():
    model, checkpoint, manager = build_model(config, network)
    if not manager.latest_checkpoint:
      raise ValueError(f"--model_dir={model_dir} holds no checkpoint; train "
                       "it first with trainers.train.")
    try:
      checkpoint.restore(manager.latest_checkpoint
                         ).assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as error:
      first_line = str(error).strip().splitlines()[0]
      raise ValueError(
          f"The checkpoint {manager.latest_checkpoint} does not fit the "
          f"architecture in {model_dir}/{CONFIG_FILE}: {first_line}") from None
  return config, model


def _luma(images: np.ndarray) -> np.ndarray:
  """[..., S, S, C] -> [..., S, S] grayscale for the contact sheets."""
  if images.shape[-1] == 3:
    return images @ np.array([0.299, 0.587, 0.114], images.dtype)
  return images[..., 0]


def factor_display_names(config: TrainConfig) -> dict:
  """Model slot -> the factor's name in the dataset (the same for faces)."""
  if config.dataset == "faces":
    return {name: name for name in factors.FACTORS}
  return dict(zip(factors.FACTORS, config.designated))


def write_sweeps(model, config: TrainConfig, data: dict, codes: np.ndarray,
                 scores: dict) -> list:
  """Figure 4/5-style sheets: test faces re-rendered as one latent sweeps.

  One PNG per extrinsic factor; each row is a test face (one per intrinsic
  group, the most frontal groups first), its input first, then the decoder's output as the factor's latent
  moves across the range it takes on that factor's test groups.
  """
  intrinsic = np.flatnonzero(data["group_type"] == factors.GroupType.INTRINSIC)
  if not intrinsic.size:  # A labelled source without intrinsic groups.
    intrinsic = np.arange(len(data["group_type"]))
  # One face from each of the most frontal intrinsic groups (an intrinsic
  # group shares one pose): a face seen from the front shows its features,
  # so the turn, the nod and the relighting are easy to see.
  _, first = np.unique(data["group_id"][intrinsic], return_index=True)
  candidates = intrinsic[first]
  frontal = np.argsort(np.abs(data["azimuth"][candidates]), kind="stable")
  faces = candidates[frontal][:config.sweep_faces]
  paths = []
  names = factor_display_names(config)
  for factor, score in scores.items():
    latent = score["latent"]
    mask = data["group_type"] == factors.FACTORS.index(factor)
    values = evaluation.sweep_values(codes[mask], latent, config.sweep_steps)
    swept = model.decode(evaluation.latent_sweep_codes(
        codes[faces], latent, values)).numpy()
    swept = swept.reshape(len(faces), len(values), *swept.shape[1:])
    rows = [np.concatenate([_luma(data["images"][face][None]), _luma(row)])
            for face, row in zip(faces, swept)]
    sheet = visualization.contact_sheet(
        rows, [f"z{latent + 1} {names[factor]}"] * len(rows))
    path = os.path.join(config.model_dir, f"sweep_{names[factor]}.png")
    sheet.save(path)
    paths.append(path)
  return paths


class Worker:
  """This process's place in a (multi-worker) run: whether it is the chief,
  which alone writes checkpoints, summaries, sheets, metrics and exports."""

  def __init__(self, strategy_name: str, environ=os.environ):
    self.cluster = (distribution.parse_tf_config(
        environ.get(distribution.TF_CONFIG))
                    if strategy_name == "multi_worker" else None)
    self.is_chief = distribution.is_chief(self.cluster)

  def checkpoint_dir(self, model_dir: str) -> str:
    """Where this worker saves: the model dir's for the chief; a scratch
    dir for the others, which must take part in every save (a save of
    mirrored variables is a collective operation) and delete it after."""
    if self.is_chief:
      return checkpoint_directory(model_dir)
    return tempfile.mkdtemp(prefix="dcign_tf-worker-checkpoint-")


def run(config: TrainConfig, verbose: int = 1, step_hooks=()) -> dict:
  """Trains (or resumes) and evaluates; returns the metrics it wrote.

  Every strategy runs the same custom loop (`training.StepRunner`; Keras
  `fit` fails under MultiWorkerMirroredStrategy). Every `checkpoint_every`
  steps the chief saves weights, optimizer and step; the data stream and
  the posterior noise are functions of the step, so a run killed anywhere
  and rerun ends with the weights of an uninterrupted one. `step_hooks`
  are called with each finished step's number (for tests and tools).
  Non-chief workers of a multi-worker run return {"steps": ...} only.
  """
  network = validate(config)
  worker = Worker(config.strategy)
  # The devices decide whether the global batch splits into whole groups:
  # checked before anything is written.
  source = labelled_source(config)
  if source is not None:
    print(f"{config.dataset} groups (usable combinations per type): train "
          f"{source.train_groups.describe()}; test "
          f"{source.test_groups.describe()}.", flush=True)
  run_strategy = strategy(config.strategy)
  replicas = run_strategy.num_replicas_in_sync
  distribution.check_groups_per_replica(config.groups_per_batch, replicas)
  if config.jit_compile and replicas > 1 and not tf.config.list_physical_devices(
      "GPU"):
    raise ValueError(f"--jit_compile with {replicas} CPU replicas: XLA cannot "
                     "place one replica's variables on another CPU device; "
                     "use one device on a CPU, or GPUs.")
  if worker.is_chief:
    check_model_dir(config, network)
    # The latest run's settings, for trainers.evaluate and the exports.
    write_json_atomically(os.path.join(config.model_dir, CONFIG_FILE),
                          config_to_dict(config))
    remove_unfinished_checkpoints(checkpoint_directory(config.model_dir))
  start = time.time()
  keras.utils.set_random_seed(config.seed)
  save_dir = worker.checkpoint_dir(config.model_dir)
  with run_strategy.scope():
    model, checkpoint, manager = build_model(config, network, save_dir)
    if worker.is_chief:
      restored = restore_latest(checkpoint, manager)
    else:  # Resume from the chief's checkpoints (a shared file system).
      restored = restore_latest(checkpoint, tf.train.CheckpointManager(
          checkpoint, checkpoint_directory(config.model_dir), max_to_keep=3))
  done_steps = int(model.optimizer.iterations.numpy())
  if restored:
    print(f"Resuming from {restored} at step {done_steps}.", flush=True)

  data = evaluation_groups(config, source) if worker.is_chief else None
  preempted_at = diverged_at = None
  if done_steps < config.train_steps:
    dataset = run_strategy.distribute_datasets_from_function(
        lambda context: train_dataset(config, done_steps,
                                      training.input_sharding(context),
                                      source))
    runner = training.StepRunner(model, run_strategy, config.jit_compile)
    log_dir = os.path.join(config.model_dir, "logs")
    if worker.is_chief:
      train_writer = tf.summary.create_file_writer(os.path.join(log_dir,
                                                                "train"))
      image_writer = tf.summary.create_file_writer(os.path.join(log_dir,
                                                                "images"))
    else:
      train_writer = image_writer = tf.summary.create_noop_writer()
    log_every = max(1, config.checkpoint_every // 10)
    sums, count = {}, 0
    progress = None
    iterator = iter(dataset)
    timer = run_time.StepTimer(
        done_steps, config.train_steps,
        say=print if verbose else (lambda *args, **kwargs: None),
        long_run_hint=("" if tf.config.list_physical_devices("GPU") else
                       "For a quick CPU run use "
                       "--flagfile=faces_quick.flags."))
    with SigtermFlag() as sigterm:
      for step in range(done_steps + 1, config.train_steps + 1):
        if progress is None and verbose:
          epoch_end = min(config.train_steps, -(-step // config.checkpoint_every)
                          * config.checkpoint_every)
          print(f"Steps {step}-{epoch_end} of {config.train_steps}",
                flush=True)
          progress = keras.utils.Progbar(epoch_end - step + 1,
                                         stateful_metrics=list(
                                             model.trackers))
        values = runner(iterator, 1.0 if sigterm.raised else 0.0)
        values = {name: float(value) for name, value in values.items()}
        stop = values.pop("stop") > 0
        if not math.isfinite(values["loss"]):
          diverged_at = step
          break
        count += 1
        for name, value in values.items():
          sums[name] = sums.get(name, 0.0) + value
        if progress is not None:
          progress.add(1, [(name, sums[name] / count) for name in values])
        if step % log_every == 0:
          with train_writer.as_default():
            for name in values:
              tf.summary.scalar(name, sums[name] / count, step=step)
          sums, count = {}, 0
        timer.step_done(step)
        for hook in step_hooks:
          hook(step)
        if stop or step % config.checkpoint_every == 0:
          # Numbered by step, so a pre-emption checkpoint fits in the
          # sequence. Every worker saves (the non-chiefs to scratch).
          manager.save(checkpoint_number=step)
          if not worker.is_chief:
            shutil.rmtree(save_dir, ignore_errors=True)
          progress = None
          if stop:
            preempted_at = step
            break
          if worker.is_chief:
            write_image_summaries(image_writer, model, data["images"][:8],
                                  model.factor_latents["azimuth"][0], step)
    train_writer.flush()
  if preempted_at is not None:
    saved = checkpoint_directory(config.model_dir)
    raise TrainingPreempted(
        f"Stopped by SIGTERM at step {preempted_at}; saved "
        f"{saved}/ckpt-{preempted_at}. Rerun the same command to resume.")
  if diverged_at is not None:
    kept = (f"the last good checkpoint is {manager.latest_checkpoint}"
            if manager.latest_checkpoint and worker.is_chief
            else "no checkpoint was written")
    raise TrainingDiverged(
        f"The loss became NaN or Inf at step {diverged_at}; training "
        f"stopped and {kept}.")
  steps = int(model.optimizer.iterations.numpy())
  if not worker.is_chief:
    return {"steps": steps}
  if source is None:
    print("Evaluating: novel views, identity retrieval, foreground quality "
          "and disentanglement on the factor grid.", flush=True)
    result = faces_evaluation.evaluate_model(
        "model", config.model_dir, config, model,
        faces_evaluation_data(config, data),
        evaluation_sizes(config),
        stage=lambda description: print(f"  {description}", flush=True))
    metrics, codes = result["metrics"], result["codes"]
    metrics["test_images"] = int(len(codes))
  else:
    metrics, codes = evaluate(model, config, data)
  metrics.update(training=config.training, steps=steps,
                 wall_time_s=round(time.time() - start, 1))
  metrics["sweeps"] = write_sweeps(model, config, data, codes,
                                   metrics["factors"])
  names = factor_display_names(config)
  metrics["factors"] = {names[slot]: score
                        for slot, score in metrics["factors"].items()}
  metrics["dataset"] = config.dataset
  write_json_atomically(os.path.join(config.model_dir, METRICS_FILE), metrics)
  return metrics
