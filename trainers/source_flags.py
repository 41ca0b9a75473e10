"""The flags of `trainers.train` that choose a labelled dataset instead of
the rendered faces, with the library's defaults."""

from absl import flags

from dcign_tf import train_config as train_config_lib

_DEFAULTS = train_config_lib.TrainConfig(model_dir="")


def define_flags():
  flags.DEFINE_enum(
      "dataset", _DEFAULTS.dataset, list(train_config_lib.DATASETS),
      "faces (rendered by dcign_tf), npz (a .npz in the dSprites layout: "
      "imgs, latents_classes), chairs (the 3D chairs of Aubry et al.), "
      "objects (a folder of OBJ meshes, rendered at a grid of views), or "
      "smallnorb, shapes3d, dsprites (TFDS's builders, prepared offline).")
  flags.DEFINE_string(
      "dataset_path", _DEFAULTS.dataset_path,
      "npz: the .npz file; chairs: the folder holding rendered_chairs.tar or "
      "rendered_chairs/; objects: the folder of .obj files (searched "
      "recursively); smallnorb, shapes3d, dsprites: the folder holding the "
      "original files (default DATA_DIR/downloads/manual).")
  flags.DEFINE_list(
      "factor_names", list(_DEFAULTS.factor_names),
      "--dataset=npz: names of the label columns (default dSprites': color, "
      "shape, scale, orientation, position_x, position_y).")
  flags.DEFINE_list(
      "designated", list(_DEFAULTS.designated),
      "Labelled datasets: the factors that get a latent, in order (z1, z2, "
      "z3); every other factor is intrinsic. chairs: azimuth.")
  flags.DEFINE_enum(
      "channels", str(_DEFAULTS.channels), ["1", "3"],
      "1: grayscale (colour sources become BT.601 luma); 3: colour, for "
      "colour labelled sources (npz, shapes3d).")
  flags.DEFINE_list(
      "circular_factors", list(_DEFAULTS.circular_factors),
      "Labelled datasets: NAME:PERIOD for each designated factor whose labels "
      "are angles that wrap every PERIOD label units, scored with circular "
      "statistics (chairs, objects and smallNORB declare their azimuth "
      "themselves).")
  flags.DEFINE_integer(
      "object_azimuths", _DEFAULTS.object_azimuths,
      "--dataset=objects: azimuths rendered, evenly spaced over 360 degrees.")
  flags.DEFINE_list(
      "object_elevations", [f"{v:g}" for v in _DEFAULTS.object_elevations],
      "--dataset=objects: camera elevations rendered, degrees.")
  flags.DEFINE_list(
      "object_lights", [f"{v:g}" for v in _DEFAULTS.object_lights],
      "--dataset=objects: light azimuths rendered, degrees.")
  flags.DEFINE_enum(
      "object_up_axis", _DEFAULTS.object_up_axis, ["y", "z"],
      "--dataset=objects: the meshes' up axis (many CAD exports use z).")


def _degrees(values, name) -> tuple:
  try:
    return tuple(float(v) for v in values)
  except ValueError:
    raise ValueError(f"--{name}={','.join(values)} must be a list of "
                     "numbers in degrees.") from None


def settings_from_flags(values=flags.FLAGS) -> dict:
  """The TrainConfig settings these flags give."""
  return dict(
      dataset=values.dataset, dataset_path=values.dataset_path,
      factor_names=tuple(values.factor_names),
      designated=tuple(values.designated), channels=int(values.channels),
      circular_factors=tuple(values.circular_factors),
      object_azimuths=values.object_azimuths,
      object_elevations=_degrees(values.object_elevations,
                                 "object_elevations"),
      object_lights=_degrees(values.object_lights, "object_lights"),
      object_up_axis=values.object_up_axis)
