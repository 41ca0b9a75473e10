r"""Trains DC-IGN on grouped renders of faces.

  python -m trainers.train --flagfile=faces.flags        # the paper's setup
  python -m trainers.train --flagfile=faces_quick.flags  # ~15 min on a CPU
  python -m trainers.train --flagfile=faces_quick.flags --training=vae \
      --model_dir=outputs/faces_quick_vae                # entangled baseline

Writes to --model_dir: checkpoints (a rerun resumes), TensorBoard logs
(scalars for every metric, image summaries), sweep_{factor}.png sheets and
metrics.json; then exports the encoder and decoder SavedModels for TF
Serving to --export_dir (default MODEL_DIR/export; --noexport skips it).
"""

import os
import sys

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import faces_evaluation
from dcign_tf import model as model_lib
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import optimizers
from dcign_tf import saved_model_export
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer
from dcign_tf.data import factors
from trainers import data_flags

data_flags.define_flags()
_DATASET = flags.DEFINE_enum(
    "dataset", "faces",
    ["faces", "npz", "chairs", "objects", "smallnorb", "shapes3d",
     "dsprites"],
    "faces (rendered by dcign_tf), npz (a .npz in the dSprites layout: imgs, "
    "latents_classes), chairs (the 3D chairs of Aubry et al.), objects (a "
    "folder of OBJ meshes, rendered at a grid of views), or smallnorb, "
    "shapes3d, dsprites (TFDS's builders, prepared offline from the "
    "original files).")
_DATASET_PATH = flags.DEFINE_string(
    "dataset_path", None, "--dataset=npz: the .npz file; chairs: the folder "
    "holding rendered_chairs.tar or rendered_chairs/; objects: the folder "
    "of .obj files (searched recursively); smallnorb, shapes3d, "
    "dsprites: the folder holding the original files (default "
    "DATA_DIR/downloads/manual).")
_FACTOR_NAMES = flags.DEFINE_list(
    "factor_names", [], "--dataset=npz: names of the label columns (default "
    "dSprites': color, shape, scale, orientation, position_x, position_y).")
_DESIGNATED = flags.DEFINE_list(
    "designated", [], "Labelled datasets: the factors that get a latent, in "
    "order (z1, z2, z3); every other factor is intrinsic. chairs: azimuth.")
_CHANNELS = flags.DEFINE_enum(
    "channels", "1", ["1", "3"], "1: grayscale (colour sources are converted "
    "with BT.601 luma); 3: colour, for colour labelled sources (npz, "
    "shapes3d).")
_OBJECT_AZIMUTHS = flags.DEFINE_integer(
    "object_azimuths", 24, "--dataset=objects: azimuths rendered, evenly "
    "spaced over 360 degrees.")
_OBJECT_ELEVATIONS = flags.DEFINE_list(
    "object_elevations", ["0", "20"], "--dataset=objects: camera elevations "
    "rendered, degrees.")
_OBJECT_LIGHTS = flags.DEFINE_list(
    "object_lights", ["0"], "--dataset=objects: light azimuths rendered, "
    "degrees.")
_OBJECT_UP_AXIS = flags.DEFINE_enum(
    "object_up_axis", "y", ["y", "z"], "--dataset=objects: the meshes' up "
    "axis (many CAD exports use z).")
_MODEL_DIR = flags.DEFINE_string("model_dir", "outputs/faces",
                                 "Where checkpoints, logs and results go.")
_RATIO = flags.DEFINE_string("ratio", "1:1:1:10", "Group-type weights "
                             "azimuth:elevation:light:intrinsic.")
_GROUPS_PER_BATCH = flags.DEFINE_integer("groups_per_batch", 1,
                                         "Groups per training batch (K).")
_DATA = flags.DEFINE_enum("data", "live", train_config_lib.DATA_MODES,
                          "live: render groups on the fly; prepared: read "
                          "the dcign_faces TFDS dataset (prepared if missing).")
_NETWORK = flags.DEFINE_string("network", "small",
                               "Network preset: paper, medium or small.")
_LATENT_SIZE = flags.DEFINE_integer("latent_size", 32, "Latents (N).")
_TRAINING = flags.DEFINE_string("training", "dcign", "dcign (clamp and pull "
                                "to the group mean) or vae (the baseline).")
_INVARIANCE_SCALE = flags.DEFINE_float(
    "invariance_scale", 0.01, "Pull of inactive latents to their group mean, "
    "relative to a loss summed over one image's pixels.")
_BETA = flags.DEFINE_float("beta", 1.0, "Weight of the KL term.")
_CLAMP_GRADIENT = flags.DEFINE_enum(
    "clamp_gradient", train_config_lib.TrainConfig.clamp_gradient,
    ["pull", "mean_and_pull"],
    "What the clamped (inactive) latents receive in the backward pass: "
    "pull (the paper's: only the pull to the group mean), or mean_and_pull "
    "(also the decoder's gradient at the group mean, so the identity "
    "latents learn from every group type).")
_CLAMP_TARGET = flags.DEFINE_enum(
    "clamp_target", train_config_lib.TrainConfig.clamp_target,
    list(model_lib.CLAMP_TARGETS),
    "What the decoder receives at the clamped (inactive) latents: "
    "group_mean (the paper's clamp) or other_member (the code of another "
    "image of the same group, plus the pull as a loss term: the decoder "
    "renders each view from the rest of the scene as another view encodes "
    "it).")
_LIKELIHOOD = flags.DEFINE_enum(
    "likelihood", train_config_lib.TrainConfig.likelihood, ["bernoulli", "gaussian"],
    "Pixel likelihood of the reconstruction term: bernoulli (the paper's) "
    "or gaussian with --pixel_stddev (weighs errors on the face as much as "
    "on the background).")
_PIXEL_STDDEV = flags.DEFINE_float(
    "pixel_stddev", train_config_lib.TrainConfig.pixel_stddev,
    "Standard deviation of the gaussian likelihood, on [0, 1] pixels.")
_KL_WARMUP_STEPS = flags.DEFINE_integer(
    "kl_warmup_steps", 0, "Ramp the KL weight from 0 to beta over this many "
    "steps (0: none).")
_MIRROR_ODD_FACTORS = flags.DEFINE_list(
    "mirror_odd_factors", [], "Factors (azimuth, light) whose latents the "
    "encoder makes odd under a horizontal mirror of the image, so that "
    "z_azimuth is signed (empty: the paper's encoder).")
_RANGE_WARMUP_STEPS = flags.DEFINE_integer(
    "range_warmup_steps", 0, "Live data only: over this many steps the factor "
    "ranges of training groups widen linearly from --warmup_*_range to the "
    "full --*_range (0: no warm-up).")
for _name in factors.FACTORS:
  flags.DEFINE_list(f"warmup_{_name}_range", [],
                    f"low,high of the {_name} in degrees at the start of the "
                    f"range warm-up (empty: the full --{_name}_range).")
_LIVE_REUSE = flags.DEFINE_integer(
    "live_reuse", 1, "Live data only: use each rendered group this many "
    "times (1-16), its copies shuffled apart. On a 2-core CPU rendering a "
    "64 px group costs about as much as a training step, so 2 nearly halves "
    "the rendering per step.")
_OPTIMIZER = flags.DEFINE_string("optimizer", "paper", "paper (Adam, beta2 "
                                 "0.99, eps 1e-8, as the original code), adam "
                                 "or rmsprop.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 5e-4, "Learning rate.")
_LEARNING_RATE_SCHEDULE = flags.DEFINE_enum(
    "learning_rate_schedule", train_config_lib.TrainConfig.learning_rate_schedule,
    list(optimizers.LEARNING_RATE_SCHEDULES),
    "constant, or cosine: decayed from --learning_rate to "
    f"{optimizers.COSINE_FINAL_SHARE:g} of it at --train_steps.")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 1000, "Training steps.")
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    "checkpoint_every", 100, "Steps per checkpoint (weights, optimizer and "
    "step; the data and the noise follow from the step, so a rerun after a "
    "kill anywhere ends with the weights of an uninterrupted run).")
_EVAL_GROUPS = flags.DEFINE_integer("eval_groups_per_type", 40,
                                    "Test groups per type to score.")
_GRID_IDENTITIES = flags.DEFINE_integer(
    "grid_identities", train_config_lib.TrainConfig.grid_identities,
    "Identities of the factor grid the final DCI and MIG are computed on.")
_GRID_BINS = flags.DEFINE_integer(
    "grid_bins", train_config_lib.TrainConfig.grid_bins,
    "Bins per factor of that grid (identities x bins^3 renders).")
_METRIC_SAMPLES = flags.DEFINE_integer(
    "metric_samples", train_config_lib.TrainConfig.metric_samples,
    "Grid samples the final DCI and MIG train on (half as many test).")
_STRATEGY = flags.DEFINE_enum(
    "strategy", "auto", ["auto", "one_device", "mirrored", "multi_worker"],
    "tf.distribute strategy: auto (mirrored over all GPUs when there are "
    "several, else one device), one_device, mirrored, or multi_worker (the "
    "cluster in TF_CONFIG). --groups_per_batch must split into whole groups "
    "per replica.")
_MIXED_PRECISION = flags.DEFINE_enum(
    "mixed_precision", "none", ["none", "bfloat16", "float16", "auto"],
    "Reduced-precision compute for convolutions and linear layers: bfloat16 "
    "(a GPU, or a CPU with AVX512-BF16/AMX), float16 with loss scaling (GPU "
    "only), none, or auto (bfloat16 where it is fast, else none). Variables, "
    "latents and losses stay float32.")
_JIT_COMPILE = flags.DEFINE_bool(
    "jit_compile", False, "Compile each replica's forward and backward pass "
    "with XLA.")
_DECODER_PHASES = flags.DEFINE_bool(
    "decoder_phases", True, "Compute each decoder stage (x2 upsampling, then "
    "a convolution) at the low resolution, in four output phases: the same "
    "values and weights in about a third of the multiply-adds for 7x7 "
    "kernels. --nodecoder_phases upsamples, then convolves.")
_EXPORT = flags.DEFINE_bool(
    "export", True, "Export the encoder and decoder for TF Serving at the end "
    "(as export.saved_model does).")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Where the exports go (default: MODEL_DIR/export); "
    "each run adds the next version.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the weights and sampler.")
_ALLOW_DATA_CHANGE = flags.DEFINE_bool(
    "allow_data_change", False, "Resume a model dir's checkpoints on data "
    "settings other than the recorded ones (face model, ranges, dataset, "
    "group size, ...); refused without it.")


def warmup_ranges_from_flags(values):
  """The range warm-up's start ranges, or None when no --warmup_*_range is
  set (factors left unset start at their full range)."""
  if not any(getattr(values, f"warmup_{name}_range")
             for name in factors.FACTORS):
    return None
  full = data_flags.ranges_from_flags(values)
  ranges = {}
  for name in factors.FACTORS:
    raw = getattr(values, f"warmup_{name}_range")
    ranges[name] = data_flags.parse_range(raw, f"warmup_{name}_range") if (
        raw) else full.span(name)
  return factors.FactorRanges(**ranges)


def _degrees(values, name) -> tuple:
  try:
    return tuple(float(v) for v in values)
  except ValueError:
    raise ValueError(f"--{name}={','.join(values)} must be a list of "
                     "numbers in degrees.") from None


def config_from_flags() -> train_config_lib.TrainConfig:
  values = flags.FLAGS
  return train_config_lib.TrainConfig(
      model_dir=_MODEL_DIR.value, dataset=_DATASET.value,
      dataset_path=_DATASET_PATH.value,
      factor_names=tuple(_FACTOR_NAMES.value),
      designated=tuple(_DESIGNATED.value), channels=int(_CHANNELS.value),
      object_azimuths=_OBJECT_AZIMUTHS.value,
      object_elevations=_degrees(_OBJECT_ELEVATIONS.value,
                                 "object_elevations"),
      object_lights=_degrees(_OBJECT_LIGHTS.value, "object_lights"),
      object_up_axis=_OBJECT_UP_AXIS.value,
      image_size=values.image_size,
      group_size=values.group_size, face_model=values.face_model,
      ranges=data_flags.ranges_from_flags(values),
      data_seed=values.data_seed, ratio=_RATIO.value,
      groups_per_batch=_GROUPS_PER_BATCH.value, data=_DATA.value,
      train_groups_per_type=values.train_groups_per_type,
      test_groups_per_type=values.test_groups_per_type,
      data_dir=values.data_dir, workers=values.workers,
      network=_NETWORK.value, latent_size=_LATENT_SIZE.value,
      training=_TRAINING.value, invariance_scale=_INVARIANCE_SCALE.value,
      beta=_BETA.value, likelihood=_LIKELIHOOD.value,
      clamp_gradient=_CLAMP_GRADIENT.value,
      clamp_target=_CLAMP_TARGET.value,
      pixel_stddev=_PIXEL_STDDEV.value,
      kl_warmup_steps=_KL_WARMUP_STEPS.value,
      mirror_odd_factors=tuple(_MIRROR_ODD_FACTORS.value),
      range_warmup_steps=_RANGE_WARMUP_STEPS.value,
      live_reuse=_LIVE_REUSE.value, strategy=_STRATEGY.value,
      mixed_precision=_MIXED_PRECISION.value, jit_compile=_JIT_COMPILE.value,
      decoder_phases=_DECODER_PHASES.value,
      warmup_ranges=warmup_ranges_from_flags(values),
      optimizer=_OPTIMIZER.value,
      learning_rate=_LEARNING_RATE.value,
      learning_rate_schedule=_LEARNING_RATE_SCHEDULE.value,
      train_steps=_TRAIN_STEPS.value,
      checkpoint_every=_CHECKPOINT_EVERY.value,
      eval_groups_per_type=_EVAL_GROUPS.value,
      grid_identities=_GRID_IDENTITIES.value, grid_bins=_GRID_BINS.value,
      metric_samples=_METRIC_SAMPLES.value, seed=_SEED.value)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  try:
    config = config_from_flags()
    export_dir = (_EXPORT_DIR.value or
                  saved_model_export.default_export_dir(config.model_dir))
    if _EXPORT.value:  # Refused before training, not after.
      saved_model_export.check_export_dir(config.model_dir, export_dir)
    metrics = trainer.run(config,
                          allow_data_change=_ALLOW_DATA_CHANGE.value)
  except trainer.TrainingDiverged as error:
    print(f"error: {error}", file=sys.stderr)
    cli.exit_now(3)
  except trainer.TrainingPreempted as error:
    # 128 + SIGTERM, as a process killed by it would report.
    print(f"pre-empted: {error}", file=sys.stderr)
    cli.exit_now(143)
  if "sweeps" not in metrics:  # A non-chief worker: the chief reports.
    print(f"Worker done after {metrics['steps']} steps; the chief writes the "
          "results.")
    return
  print(faces_evaluation.summary_line(config.model_dir, metrics))
  print(f"Metrics: {os.path.join(config.model_dir, model_dir_lib.METRICS_FILE)}")
  print("Sweeps: " + ", ".join(metrics["sweeps"]))
  if _EXPORT.value:
    paths = saved_model_export.export(
        config.model_dir, export_dir,
        calibration_groups_per_type=config.eval_groups_per_type,
        workers=config.workers)
    print(f"Exported for TF Serving: {paths['encoder']}, {paths['decoder']} "
          f"(serve with {paths['models_config']}).")


if __name__ == "__main__":
  cli.run(main)
