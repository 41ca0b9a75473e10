"""Flags shared by the binaries that read or render the faces dataset."""

from absl import flags

from dcign_tf import train_config
from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups

# The library's defaults of every data setting.
_DEFAULTS = train_config.TrainConfig(model_dir="")


def define_flags():
  """Defines the dataset flags; binaries call it at import (idempotent, so
  several binaries can live in one process, as in tests)."""
  if "image_size" in flags.FLAGS:
    return
  flags.DEFINE_integer("image_size", _DEFAULTS.image_size,
                       "Image size in pixels (32-256; the paper's is 150).")
  flags.DEFINE_integer("group_size", _DEFAULTS.group_size,
                       "Images per group (G >= 2).")
  flags.DEFINE_integer("train_groups_per_type",
                       _DEFAULTS.train_groups_per_type,
                       "Training groups of each of the four types.")
  flags.DEFINE_integer("test_groups_per_type",
                       _DEFAULTS.test_groups_per_type,
                       "Test groups of each of the four types.")
  flags.DEFINE_string("face_model", _DEFAULTS.face_model,
                      "builtin, bfm:PATH, obj:FOLDER[?keep=N|FILE] or "
                      "npz:PATH.")
  for name in factors.FACTORS:
    default = _DEFAULTS.ranges.span(name)
    flags.DEFINE_list(f"{name}_range", [str(v) for v in default],
                      f"low,high of the {name} in degrees, within "
                      "[-180, 180].")
  flags.DEFINE_integer("data_seed", _DEFAULTS.data_seed,
                       "Seed of the rendered dataset.")
  flags.DEFINE_string("data_dir", None, "TFDS data folder (default "
                      "~/tensorflow_datasets).")
  flags.DEFINE_integer("workers", _DEFAULTS.workers,
                       "Render processes (0: one per core).", lower_bound=0)


def parse_range(raw, flag: str) -> tuple:
  """['low', 'high'] from a list flag -> (low, high) floats."""
  try:
    values = tuple(float(v) for v in raw)
  except ValueError:
    values = ()
  if len(values) != 2:
    raise ValueError(f"--{flag}={','.join(raw)} must be two numbers "
                     "low,high in degrees.")
  return values


def ranges_from_flags(values) -> factors.FactorRanges:
  return factors.FactorRanges(**{
      name: parse_range(getattr(values, f"{name}_range"), f"{name}_range")
      for name in factors.FACTORS})


def source_from_flags(values=flags.FLAGS) -> groups.GroupSource:
  """What to render, without split sizes (previews, live rendering)."""
  return groups.GroupSource(face_model=values.face_model,
                            image_size=values.image_size,
                            group_size=values.group_size,
                            ranges=ranges_from_flags(values),
                            seed=values.data_seed)


def config_from_flags(values=flags.FLAGS) -> faces_dataset.DcignFacesConfig:
  """The dataset config the flags describe (validated)."""
  return faces_dataset.make_config(
      image_size=values.image_size, group_size=values.group_size,
      train_groups_per_type=values.train_groups_per_type,
      test_groups_per_type=values.test_groups_per_type,
      face_model=values.face_model, ranges=ranges_from_flags(values),
      seed=values.data_seed)
