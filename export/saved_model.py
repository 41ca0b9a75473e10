r"""Exports a trained DC-IGN as encoder and decoder SavedModels for TF Serving.

  python -m export.saved_model --model_dir=outputs/faces_quick \
      --export_dir=outputs/faces_quick/export
  python -m export.saved_model --preset=faces_64 --export_dir=outputs/faces_64

Writes export_dir/encoder/<version>/, export_dir/decoder/<version>/ and
export_dir/models.config; a new export takes the next version and never
overwrites an existing one.
"""

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import pretrained
from dcign_tf import saved_model_export

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "A trained model dir.")
_PRESET = flags.DEFINE_string(
    "preset", None, "A trained model shipped with dcign_tf (e.g. faces_64), "
    "instead of --model_dir; exported with its recorded calibration.")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Where the exports go (default: MODEL_DIR/export).")
_VERSION = flags.DEFINE_integer(
    "version", None, "Version number (default: the next free one).")
_CALIBRATION_GROUPS = flags.DEFINE_integer(
    "calibration_groups_per_type",
    saved_model_export.CALIBRATION_GROUPS_PER_TYPE, "Training groups per factor type that "
    "fit the degrees -> latent calibration stored with the exports.")
_WORKERS = flags.DEFINE_integer("workers", 0,
                                "Render processes (0: one per core).")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  if _PRESET.value and _MODEL_DIR.value:
    raise ValueError(f"--preset={_PRESET.value} and --model_dir="
                     f"{_MODEL_DIR.value} exclude each other; give one.")
  if _PRESET.value:
    # Without --export_dir the preset's own export, made once in its cache.
    export_dir = pretrained.export(_PRESET.value, _EXPORT_DIR.value,
                                   _VERSION.value)
    print(f"{_PRESET.value}: {export_dir}")
    return
  if not _MODEL_DIR.value:
    raise ValueError("--model_dir (or --preset) is required: the trained "
                     "model to export.")
  export_dir = (_EXPORT_DIR.value or
                saved_model_export.default_export_dir(_MODEL_DIR.value))
  paths = saved_model_export.export(
      _MODEL_DIR.value, export_dir, _VERSION.value,
      _CALIBRATION_GROUPS.value, _WORKERS.value)
  for name, path in paths.items():
    print(f"{name}: {path}")


if __name__ == "__main__":
  cli.run(main)
