r"""Writes a contact sheet of rendered groups: one group per row.

Every group type is present, so a person can see faces turn (azimuth), nod
(elevation), be relit (light) and change identity (intrinsic).

  python -m trainers.render_preview --image_size=64 \
      --output=outputs/preview_64px.png
"""

import os

from absl import flags
import numpy as np

from trainers import cli
from dcign_tf import visualization
from dcign_tf.data import factors
from dcign_tf.data import groups

_IMAGE_SIZE = flags.DEFINE_integer("image_size", 64, "Image size in pixels "
                                   "(32-256; 150 is the paper's).")
_GROUP_SIZE = flags.DEFINE_integer("group_size", 12, "Images per group.")
_GROUPS_PER_TYPE = flags.DEFINE_integer("groups_per_type", 2,
                                        "Rows per group type.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")
_FACE_MODEL = flags.DEFINE_string(
    "face_model", "builtin",
    "builtin, bfm:PATH, obj:FOLDER[?keep=N|FILE] or npz:PATH.")
_OUTPUT = flags.DEFINE_string(
    "output", None, "PNG path (default outputs/preview_{size}px.png).")


def preview_sheet(source: groups.GroupSource, groups_per_type: int = 2):
  """Renders `groups_per_type` groups of every type as a contact sheet."""
  if groups_per_type < 1:
    raise ValueError(f"groups_per_type must be >= 1, got {groups_per_type}.")
  rows, labels = [], []
  for group_type in factors.GroupType:
    for index in range(groups_per_type):
      spec = source.spec("preview", group_type, index)
      rows.append(groups.render_group(spec, source.model(), source.camera))
      labels.append(group_type.label)
  return visualization.contact_sheet(rows, labels)


def main(argv):
  del argv
  source = groups.GroupSource(face_model=_FACE_MODEL.value,
                              image_size=_IMAGE_SIZE.value,
                              group_size=_GROUP_SIZE.value, seed=_SEED.value)
  output = _OUTPUT.value or os.path.join(
      "outputs", f"preview_{_IMAGE_SIZE.value}px.png")
  sheet = preview_sheet(source, _GROUPS_PER_TYPE.value)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  sheet.save(output)
  print(f"Wrote {output} ({sheet.width}x{sheet.height}): "
        f"{_GROUPS_PER_TYPE.value} groups of each type, "
        f"{_GROUP_SIZE.value} images each, at {_IMAGE_SIZE.value} px.")


if __name__ == "__main__":
  cli.run(main)
