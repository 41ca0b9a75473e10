r"""Renders and stores the `dcign_faces` dataset (TFDS), once.

  python -m trainers.prepare_data --image_size=64
  python -m trainers.prepare_data --image_size=150 --workers=16

Groups render in one process per core; TFDS shows progress per split and
writes into a temporary folder that is renamed into place only when the
build completes, so an interrupted build leaves no data a later run would
read. Running it again on prepared data does nothing.
"""

from absl import flags

from dcign_tf import cli
from dcign_tf.data import faces_dataset
from trainers import data_flags

data_flags.define_flags()


def prepare(config, data_dir=None, num_workers=None):
  """Prepares `config` in `data_dir`; returns the builder."""
  builder = faces_dataset.builder(config, data_dir, num_workers=num_workers)
  if builder.is_prepared():
    print(f"Already prepared: {builder.data_dir}")
    return builder
  builder.download_and_prepare()
  return builder


def main(argv):
  del argv
  config = data_flags.config_from_flags()
  builder = prepare(config, flags.FLAGS.data_dir, flags.FLAGS.workers or None)
  for name, split in builder.info.splits.items():
    print(f"{name:>16}: {split.num_examples} groups")
  print(f"Data: {builder.data_dir}")


if __name__ == "__main__":
  cli.run(main)
