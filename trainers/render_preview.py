r"""Writes a contact sheet of rendered groups: one group per row.

Every group type is present, so a person can see faces turn (azimuth), nod
(elevation), be relit (light) and change identity (intrinsic).

  python -m trainers.render_preview --image_size=64
  python -m trainers.render_preview --image_size=150 --group_size=12 \
      --face_model=bfm:/data/01_MorphableModel.mat --output=bfm.png
"""

import os

from absl import flags

from dcign_tf import atomic_files
from dcign_tf import cli
from dcign_tf import visualization
from dcign_tf.data import factors
from dcign_tf.data import groups
from trainers import data_flags

data_flags.define_flags()
_GROUPS_PER_TYPE = flags.DEFINE_integer("groups_per_type", 2,
                                        "Rows per group type.")
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
  source = data_flags.source_from_flags()
  output = _OUTPUT.value or os.path.join(
      "outputs", f"preview_{source.image_size}px.png")
  atomic_files.check_output_file(output, "output")
  sheet = preview_sheet(source, _GROUPS_PER_TYPE.value)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  sheet.save(output)
  print(f"Wrote {output} ({sheet.width}x{sheet.height}): "
        f"{_GROUPS_PER_TYPE.value} groups of each type, "
        f"{source.group_size} images each, at {source.image_size} px.")


if __name__ == "__main__":
  cli.run(main)
