r"""Exports a trained DC-IGN as encoder and decoder SavedModels for TF Serving.

  python -m export.saved_model --model_dir=outputs/faces_quick \
      --export_dir=outputs/faces_quick/export

Writes export_dir/encoder/<version>/, export_dir/decoder/<version>/ and
export_dir/models.config; a new export takes the next version and never
overwrites an existing one.
"""

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import saved_model_export

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "A trained model dir.")
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
  if not _MODEL_DIR.value:
    raise ValueError("--model_dir is required: the trained model to export.")
  export_dir = (_EXPORT_DIR.value or
                saved_model_export.default_export_dir(_MODEL_DIR.value))
  paths = saved_model_export.export(
      _MODEL_DIR.value, export_dir, _VERSION.value,
      _CALIBRATION_GROUPS.value, _WORKERS.value)
  for name, path in paths.items():
    print(f"{name}: {path}")


if __name__ == "__main__":
  cli.run(main)
