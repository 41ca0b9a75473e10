"""The flags of `trainers.train`, one per `TrainConfig` setting, with the
library's defaults; `config_from_flags` reads them into a TrainConfig."""

from absl import flags

from dcign_tf import distribution
from dcign_tf import losses
from dcign_tf import model as model_lib
from dcign_tf import optimizers
from dcign_tf import precision
from dcign_tf import train_config as train_config_lib
from dcign_tf import xla
from dcign_tf.data import factors
from trainers import data_flags
from trainers import source_flags

# A TrainConfig's defaults (model_dir is the only setting without one).
_DEFAULTS = train_config_lib.TrainConfig(model_dir="")
# Settings read from the flag of the same name, as they are.
_PLAIN = ("ratio", "groups_per_batch", "members_per_group", "data", "network",
          "dense_units", "latent_size", "training", "invariance_scale",
          "invariance_spread_scale", "beta", "clamp_gradient",
          "clamp_target", "likelihood", "pixel_stddev", "kl_warmup_steps",
          "range_warmup_steps", "live_reuse", "strategy", "mixed_precision", "jit_compile",
          "decoder_phases", "optimizer", "learning_rate",
          "learning_rate_schedule", "train_steps", "checkpoint_every",
          "eval_groups_per_type", "grid_identities", "grid_bins",
          "metric_samples", "seed")


def _define(kind, name, help_text, *choices):
  getattr(flags, f"DEFINE_{kind}")(name, getattr(_DEFAULTS, name),
                                   *(list(c) for c in choices), help_text)


data_flags.define_flags()
source_flags.define_flags()
flags.DEFINE_string("model_dir", "outputs/faces",
                    "Where checkpoints, logs and results go.")
_define("string", "ratio", "Group-type weights azimuth:elevation:light:"
        "intrinsic.")
_define("integer", "groups_per_batch", "Groups per training batch (K).")
_define("integer", "members_per_group", "Prepared data only: keep this many "
        "random members of each group in a training batch (0: the whole "
        "group); K groups of M members show the decoder K faces a step.")
_define("enum", "data", "live: render groups on the fly; prepared: read the "
        "dcign_faces TFDS dataset (prepared if missing).",
        train_config_lib.DATA_MODES)
_define("string", "network", "Network preset: paper, medium or small.")
_define("integer", "dense_units", "Width of a hidden fully connected ReLU "
        "layer on each side of the code, after the encoder's convolutions "
        "and before the decoder's (0: the paper's linear maps).")
_define("integer", "latent_size", "Latents (N).")
_define("string", "training", "dcign (clamp and pull to the group mean), "
        "vae (the paper's baseline), gvae (Group-VAE: the posteriors of the "
        "latents a group shares averaged) or ada_gvae (Ada-GVAE: pairs of "
        "group members, the shared latents inferred); one of "
        f"{', '.join(model_lib.TRAINING_MODES)}.")
_define("float", "invariance_scale", "Pull of inactive latents to their "
        "group mean, relative to a loss summed over one image's pixels.")
_define("float", "beta", "Weight of the KL term.")
_define("enum", "clamp_gradient", "What the clamped latents receive in the "
        "backward pass: pull (the paper's: only the pull to the group mean), "
        "or mean_and_pull (also the decoder's gradient at the group mean).",
        model_lib.CLAMP_GRADIENTS)
_define("enum", "clamp_target", "What the decoder receives at the clamped "
        "latents: group_mean (the paper's clamp) or other_member (the code "
        "of another image of the group; the pull becomes a loss term).",
        model_lib.CLAMP_TARGETS)
_define("float", "invariance_spread_scale", "A pull added to "
        "--invariance_scale's that measures each latent's deviation from its "
        "group mean in the latent's standard deviations over the batch "
        "(differentiated through them too), so that shrinking a latent "
        "cannot weaken it (0: none).")
_define("enum", "likelihood", "Pixel likelihood of the reconstruction: "
        "bernoulli (the paper's), gaussian with --pixel_stddev (weighs "
        "the face as much as the background; its mean is a sigmoid of the "
        "decoder's output) or gaussian_linear (the same, its mean the "
        "output itself: no sigmoid to saturate).", losses.LIKELIHOODS)
_define("float", "pixel_stddev", "Standard deviation of the gaussian "
        "likelihood, on [0, 1] pixels.")
_define("integer", "kl_warmup_steps", "Ramp the KL weight from 0 to beta "
        "over this many steps (0: none).")
flags.DEFINE_list(
    "mirror_odd_factors", list(_DEFAULTS.mirror_odd_factors),
    "Factors (azimuth, light) whose latents the encoder makes odd under a "
    "horizontal mirror of the image (empty: the paper's encoder).")
_define("integer", "range_warmup_steps", "Live data only: over this many "
        "steps the factor ranges widen linearly from --warmup_*_range to "
        "the full --*_range (0: no warm-up).")
for _name in factors.FACTORS:
  flags.DEFINE_list(f"warmup_{_name}_range", [],
                    f"low,high of the {_name} in degrees at the start of the "
                    f"range warm-up (empty: the full --{_name}_range).")
_define("integer", "live_reuse", "Live data only: use each rendered group "
        "this many times (1-16), its copies shuffled apart.")
_define("string", "optimizer", "paper (Adam, beta2 0.99, eps 1e-8, as the "
        f"original code); one of {', '.join(optimizers.OPTIMIZERS)}.")
_define("float", "learning_rate", "Learning rate.")
_define("enum", "learning_rate_schedule", "constant, or cosine: decayed "
        f"from --learning_rate to {optimizers.COSINE_FINAL_SHARE:g} of it at "
        "--train_steps, or warmup_cosine: the same after a linear rise from 0 "
        f"over {optimizers.WARMUP_SHARE:.0%} of the steps.",
        optimizers.LEARNING_RATE_SCHEDULES)
_define("integer", "train_steps", "Training steps.")
_define("integer", "checkpoint_every", "Steps per checkpoint (a rerun after "
        "a kill anywhere ends with the weights of an uninterrupted run).")
_define("integer", "eval_groups_per_type", "Test groups per type to score.")
_define("integer", "grid_identities", "Identities of the factor grid the "
        "final DCI and MIG are computed on.")
_define("integer", "grid_bins", "Bins per factor of that grid (identities x "
        "bins^3 renders).")
_define("integer", "metric_samples", "Grid samples the final DCI and MIG "
        "train on (half as many test).")
_define("enum", "strategy", "tf.distribute strategy: auto (mirrored over "
        "all GPUs when there are several, else one device), one_device, "
        "mirrored, or multi_worker (the cluster in TF_CONFIG).",
        distribution.STRATEGIES)
_define("enum", "mixed_precision", "bfloat16 (a GPU, or a CPU with "
        "AVX512-BF16/AMX), float16 with loss scaling (GPU only), none, or "
        "auto (bfloat16 where it is fast); variables and losses stay "
        "float32.", precision.MIXED_PRECISION)


class _JitCompileParser(flags.ArgumentParser):
  """true, false or auto; a bare --jit_compile is true, --nojit_compile
  false, as for a boolean flag."""

  def parse(self, argument):
    return xla.parse(argument)

  def flag_type(self):
    return "bool or auto"


JIT_COMPILE_FLAG = flags.Flag(
    _JitCompileParser(), flags.ArgumentSerializer(), "jit_compile",
    _DEFAULTS.jit_compile, "Compile each replica's training step with XLA: "
    "--jit_compile, --nojit_compile, or --jit_compile=auto (XLA on a CPU "
    "without AVX-512 on one device, where it has trained faster; "
    "TensorFlow's kernels elsewhere).", boolean=True)
flags.DEFINE_flag(JIT_COMPILE_FLAG)
_define("bool", "decoder_phases", "Compute each decoder stage at the low "
        "resolution in four output phases (the same values, fewer "
        "multiply-adds); --nodecoder_phases upsamples, then convolves.")
_define("integer", "seed", "Seed of the weights and sampler.")
EXPORT = flags.DEFINE_bool(
    "export", True, "Export the encoder and decoder for TF Serving at the end "
    "(as export.saved_model does).")
EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Where the exports go (default: MODEL_DIR/export); "
    "each run adds the next version.")
ALLOW_DATA_CHANGE = flags.DEFINE_bool(
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


def config_from_flags(values=flags.FLAGS) -> train_config_lib.TrainConfig:
  return train_config_lib.TrainConfig(
      model_dir=values.model_dir, **source_flags.settings_from_flags(values),
      image_size=values.image_size, group_size=values.group_size,
      face_model=values.face_model,
      ranges=data_flags.ranges_from_flags(values),
      data_seed=values.data_seed,
      train_groups_per_type=values.train_groups_per_type,
      test_groups_per_type=values.test_groups_per_type,
      data_dir=values.data_dir, workers=values.workers,
      mirror_odd_factors=tuple(values.mirror_odd_factors),
      warmup_ranges=warmup_ranges_from_flags(values),
      **{name: getattr(values, name) for name in _PLAIN})
