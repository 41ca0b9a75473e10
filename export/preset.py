r"""Writes a trained model dir as a preset shipped inside the package.

  python -m export.preset --model_dir=outputs/faces_quick --name=faces_64

The weights are stored in float16 (every file stays under 2 MB), the
degrees -> latent calibration is refitted with those weights, and the
trainer's metrics.json, the reproducing command and a SHA256SUMS of every
file go beside them. Load it with `DCIGN.from_preset(NAME)` or `--preset=NAME`.
"""

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import pretrained

_MODEL_DIR = flags.DEFINE_string("model_dir", None,
                                 "A model dir trained to the end.")
_NAME = flags.DEFINE_string("name", None, "The preset's name, e.g. faces_64.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", "dcign_tf/presets",
    "Where the preset folder goes (the package's presets folder when run "
    "from the repository root).")
_COMMAND = flags.DEFINE_string(
    "command", None, "The command that trained the model (default: "
    "trainers.train with --flagfile=faces_quick.flags, then this one).")
_DESCRIPTION = flags.DEFINE_string("description", "",
                                   "One line saying what the model is.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace an existing preset of that name.")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  for name, flag in (("model_dir", _MODEL_DIR), ("name", _NAME)):
    if not flag.value:
      raise ValueError(f"--{name} is required.")
  command = _COMMAND.value or (
      "python -m trainers.train --flagfile=faces_quick.flags && "
      f"python -m export.preset --model_dir={_MODEL_DIR.value} "
      f"--name={_NAME.value}")
  path = pretrained.write_preset(_MODEL_DIR.value, _NAME.value,
                                 _OUTPUT_DIR.value, command,
                                 _DESCRIPTION.value, _OVERWRITE.value)
  print(f"{path}: preset {_NAME.value!r} written; check it with "
        f"`cd {path} && sha256sum -c SHA256SUMS`.")


if __name__ == "__main__":
  cli.run(main)
