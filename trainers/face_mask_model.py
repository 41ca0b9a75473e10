r"""Writes a face-mask morphable model built from the built-in heads (.npz).

  python -m trainers.face_mask_model --output=outputs/face_mask.npz
  python -m trainers.train --flagfile=faces_quick.flags \
      --face_model=npz:outputs/face_mask.npz --model_dir=outputs/faces_mask

A stand-in for the face models users own (the Basel Face Model and its
kind): cut to the face, no hair at the back, ears or neck, PCA shape and
albedo modes. How it is built: dcign_tf/graphics/face_mask_model.py.
"""

import os

from absl import flags
import tqdm

from dcign_tf import atomic_files
from dcign_tf import cli
from dcign_tf.graphics import face_mask_model

_OUTPUT = flags.DEFINE_string("output", "outputs/face_mask.npz",
                              "Where the .npz goes.")
_HEADS = flags.DEFINE_integer("num_heads", 300, "Built-in identities sampled.")
_SHAPE_MODES = flags.DEFINE_integer("shape_modes", 40,
                                    "Shape principal components kept.")
_ALBEDO_MODES = flags.DEFINE_integer("albedo_modes", 20,
                                     "Albedo principal components kept.")
_SEED = flags.DEFINE_integer("seed", 0, "Draws the identities.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace an existing --output.")


def main(argv):
  del argv
  output = _OUTPUT.value
  face_mask_model.check_sizes(_HEADS.value, _SHAPE_MODES.value,
                              _ALBEDO_MODES.value)
  atomic_files.check_output_file(output, "output")
  if not output.endswith(".npz"):
    raise ValueError(f"--output={output} must end in .npz (the npz: face "
                     "model format).")
  if not _OVERWRITE.value and os.path.exists(output):
    raise ValueError(f"--output={output} exists; choose another path or "
                     "pass --overwrite.")
  with tqdm.tqdm(total=_HEADS.value, desc="meshing heads",
                 unit="head") as bar:
    arrays = face_mask_model.build(_HEADS.value, _SHAPE_MODES.value,
                                   _ALBEDO_MODES.value, _SEED.value,
                                   progress=bar.update)
  face_mask_model.write_npz(output, arrays, overwrite=_OVERWRITE.value)
  print(face_mask_model.describe(arrays, output))
  print(f"Train on it: --face_model=npz:{output}")


if __name__ == "__main__":
  cli.run(main)
