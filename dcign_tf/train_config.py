"""The settings of a training run (`TrainConfig`), their JSON form, and the
checks that refuse a run that cannot work, before anything is written."""

import dataclasses
from typing import Optional, Union

import tensorflow as tf

from dcign_tf import configs
from dcign_tf import data_sources
from dcign_tf import distribution
from dcign_tf import losses
from dcign_tf import model as model_lib
from dcign_tf import optimizers
from dcign_tf import precision
from dcign_tf import xla
from dcign_tf.data import faces_dataset
from dcign_tf.data import factors
from dcign_tf.data import group_members
from dcign_tf.data import pipeline

DATA_MODES = ("live", "prepared")
# Where the training data comes from: the rendered faces or a labelled
# source (dcign_tf.data_sources).
DATASETS = data_sources.names()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything a training run needs (the flags of trainers.train)."""

  model_dir: str
  # "faces" (rendered) or a labelled source (dcign_tf.data_sources).
  dataset: str = "faces"
  dataset_path: Optional[str] = None
  factor_names: tuple = ()
  designated: tuple = ()
  # --dataset=objects: the views rendered (objects_dataset.make_config).
  object_azimuths: int = 24
  object_elevations: tuple = (0.0, 20.0)
  object_lights: tuple = (0.0,)
  object_up_axis: str = "y"
  # Labelled sources: "factor:period" for factors whose labels are angles
  # that wrap every `period` label units (scored on the circle), beside the
  # ones the source declares itself (chairs and objects azimuth, smallNORB
  # azimuth).
  circular_factors: tuple = ()
  image_size: int = 64
  # 3: colour images (labelled colour sources only).
  channels: int = 1
  group_size: int = 20
  face_model: str = "builtin"
  ranges: factors.FactorRanges = factors.FactorRanges()
  data_seed: int = 0
  ratio: str = "1:1:1:10"
  groups_per_batch: int = 1
  # Prepared data: the members of each group kept in a training batch
  # (0: the whole group).
  members_per_group: int = 0
  data: str = "live"
  train_groups_per_type: int = faces_dataset.PAPER_TRAIN_GROUPS_PER_TYPE
  test_groups_per_type: int = faces_dataset.PAPER_TEST_GROUPS_PER_TYPE
  data_dir: Optional[str] = None
  workers: int = 0
  network: str = "small"
  # A hidden ReLU layer this wide on each side of the code (0: none).
  dense_units: int = 0
  latent_size: int = 32
  training: str = "dcign"
  invariance_scale: float = model_lib.DEFAULT_INVARIANCE_SCALE
  beta: float = 1.0
  clamp_gradient: str = "pull"
  clamp_target: str = "group_mean"
  invariance_spread_scale: float = 0.0
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
  # True, False or "auto" (XLA where it has trained faster: dcign_tf/xla.py).
  jit_compile: Union[bool, str] = False
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
              "circular_factors",
              "object_elevations", "object_lights"):
    if key in values:
      values[key] = tuple(values[key])
  for key in ("ranges", "warmup_ranges"):
    if values.get(key) is not None:
      values[key] = factors.FactorRanges.from_mapping(values[key])
  return TrainConfig(**values)



def network_config(config: TrainConfig) -> configs.NetworkConfig:
  network = configs.preset(config.network, image_size=config.image_size,
                           latent_size=config.latent_size,
                           channels=config.channels)
  if config.dense_units:
    network = dataclasses.replace(network, dense_units=config.dense_units)
  return network


def validate(config: TrainConfig) -> configs.NetworkConfig:
  """Raises ValueError naming the first setting that cannot work."""
  network = network_config(config)
  probabilities = factors.parse_ratio(config.ratio)
  data_sources.source_for(config).check()
  if config.training not in model_lib.TRAINING_MODES:
    raise ValueError(f"Unknown training mode {config.training!r}; allowed: "
                     f"{', '.join(model_lib.TRAINING_MODES)}.")
  if config.clamp_gradient not in model_lib.CLAMP_GRADIENTS:
    raise ValueError(f"Unknown clamp gradient {config.clamp_gradient!r}; "
                     f"allowed: {', '.join(model_lib.CLAMP_GRADIENTS)}.")
  if config.clamp_target not in model_lib.CLAMP_TARGETS:
    raise ValueError(f"Unknown clamp target {config.clamp_target!r}; "
                     f"allowed: {', '.join(model_lib.CLAMP_TARGETS)}.")
  if config.invariance_scale < 0 or config.invariance_spread_scale < 0:
    raise ValueError(
        f"invariance_scale={config.invariance_scale} and "
        f"invariance_spread_scale={config.invariance_spread_scale} must be "
        ">= 0.")
  if config.likelihood not in losses.LIKELIHOODS:
    raise ValueError(f"Unknown likelihood {config.likelihood!r}; allowed: "
                     f"{', '.join(losses.LIKELIHOODS)}.")
  if not config.pixel_stddev > 0:
    raise ValueError(f"pixel_stddev must be > 0, got {config.pixel_stddev}.")
  if config.optimizer not in optimizers.OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {config.optimizer!r}; allowed: "
                     f"{', '.join(optimizers.OPTIMIZERS)}.")
  if config.data not in DATA_MODES:
    raise ValueError(f"Unknown data mode {config.data!r}; allowed: "
                     f"{', '.join(DATA_MODES)}.")
  if config.learning_rate_schedule not in optimizers.LEARNING_RATE_SCHEDULES:
    raise ValueError("Unknown learning rate schedule "
                     f"{config.learning_rate_schedule!r}; allowed: "
                     f"{', '.join(optimizers.LEARNING_RATE_SCHEDULES)}.")
  if not config.learning_rate > 0:
    raise ValueError(f"learning_rate must be > 0, got {config.learning_rate}.")
  if config.workers < 0:
    raise ValueError(f"workers must be >= 0 (0: chosen from the CPU cores), got "
                     f"{config.workers}.")
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
  xla.check(config.jit_compile)
  precision.check_supported(config.mixed_precision,
                            len(tf.config.list_physical_devices("GPU")))
  pipeline.check_reuse(config.live_reuse)
  group_members.check_members_per_group(config.members_per_group,
                                        config.group_size)
  if config.members_per_group and (config.data != "prepared" or
                                  config.dataset != "faces"):
    raise ValueError(f"members_per_group={config.members_per_group} needs "
                     "the prepared faces (--dataset=faces --data=prepared); "
                     "live and labelled groups are drawn at the size they "
                     "are used (set --group_size instead).")
  if config.live_reuse > 1 and config.data != "live":
    raise ValueError(f"live_reuse={config.live_reuse} applies to live data "
                     "(--data=live); a prepared dataset is read once per "
                     "epoch.")
  if config.warmup_ranges is not None:
    config.warmup_ranges.check_within(config.ranges, "warm-up range")
    factors.check_ratio_against_ranges(probabilities, config.warmup_ranges)
  if config.eval_groups_per_type * config.group_size < 8:
    raise ValueError("eval_groups_per_type * group_size must be >= 8 to score "
                     "the latents.")
  return network



def factor_latents(config: TrainConfig) -> dict:
  """Model slot -> latents of the run's source (the paper's z1-z3 for the
  faces; one latent per designated factor of a labelled source)."""
  return data_sources.source_for(config).factor_latents()
