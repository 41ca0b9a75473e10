"""`dcign_faces`: grouped renders of the built-in (or a user's) face model.

A tensorflow-datasets builder. Every example is one group: G images of which
exactly one factor varies, with the true factors of every image. Splits are
per split and group type (`train_azimuth`, ..., `test_intrinsic`) so the
input pipeline can draw group types in any ratio without reading and
discarding examples; `train` / `test` as a whole are the sums of their four
parts (see `split_names`). Train and test identities come from independent
random streams, so they are disjoint.

Groups render in parallel worker processes; TFDS writes into a temporary
folder and renames it when the build completes, so an interrupted build
leaves nothing a later run would read.
"""

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
from typing import Optional

import numpy as np
import tensorflow_datasets as tfds

from dcign_tf.data import factors
from dcign_tf.data import groups

PAPER_TRAIN_GROUPS_PER_TYPE = 3000
PAPER_TEST_GROUPS_PER_TYPE = 350
SPLITS = ("train", "test")


@dataclasses.dataclass(eq=False)
class DcignFacesConfig(tfds.core.BuilderConfig):
  """What to render. Build one with `make_config`, which names it uniquely."""

  image_size: int = 64
  group_size: int = 20
  train_groups_per_type: int = PAPER_TRAIN_GROUPS_PER_TYPE
  test_groups_per_type: int = PAPER_TEST_GROUPS_PER_TYPE
  face_model: str = "builtin"
  ranges: factors.FactorRanges = factors.FactorRanges()
  seed: int = 0
  supersample: int = 2

  @property
  def source(self) -> groups.GroupSource:
    return groups.GroupSource(face_model=self.face_model,
                              image_size=self.image_size,
                              group_size=self.group_size, ranges=self.ranges,
                              seed=self.seed, supersample=self.supersample)

  def groups_per_type(self, split: str) -> int:
    if split == "train":
      return self.train_groups_per_type
    if split == "test":
      return self.test_groups_per_type
    raise ValueError(f"Unknown split {split!r}; allowed: {', '.join(SPLITS)}.")


def make_config(image_size: int = 64, group_size: int = 20,
                train_groups_per_type: int = PAPER_TRAIN_GROUPS_PER_TYPE,
                test_groups_per_type: int = PAPER_TEST_GROUPS_PER_TYPE,
                face_model: str = "builtin",
                ranges: factors.FactorRanges = factors.FactorRanges(),
                seed: int = 0, supersample: int = 2) -> DcignFacesConfig:
  """A validated config whose name encodes everything that decides the data.

  TFDS finds prepared data by config name, so two configs that would render
  different pixels must never share one: the paper-sized default at S px is
  named "{S}px", anything else "{S}px_" plus a hash of its settings.
  """
  source = groups.GroupSource(face_model=face_model, image_size=image_size,
                              group_size=group_size, ranges=ranges, seed=seed,
                              supersample=supersample)
  for label, count in (("train_groups_per_type", train_groups_per_type),
                       ("test_groups_per_type", test_groups_per_type)):
    if isinstance(count, bool) or int(count) != count or count < 1:
      raise ValueError(f"{label} must be an integer >= 1, got {count!r}.")
  settings = dict(group_size=source.group_size,
                  train=int(train_groups_per_type),
                  test=int(test_groups_per_type), face_model=face_model,
                  ranges=ranges.to_dict(), seed=seed, supersample=supersample)
  default = dict(group_size=20, train=PAPER_TRAIN_GROUPS_PER_TYPE,
                 test=PAPER_TEST_GROUPS_PER_TYPE, face_model="builtin",
                 ranges=factors.FactorRanges().to_dict(), seed=0,
                 supersample=2)
  name = f"{image_size}px"
  if settings != default:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    name += "_" + digest.hexdigest()[:10]
  return DcignFacesConfig(
      name=name, description=json.dumps(settings, sort_keys=True),
      image_size=image_size, group_size=source.group_size,
      train_groups_per_type=int(train_groups_per_type),
      test_groups_per_type=int(test_groups_per_type), face_model=face_model,
      ranges=ranges, seed=seed, supersample=supersample)


def split_name(split: str, group_type) -> str:
  """The split holding one group type, e.g. ('train', 'azimuth')."""
  if split not in SPLITS:
    raise ValueError(f"Unknown split {split!r}; allowed: {', '.join(SPLITS)}.")
  return f"{split}_{factors.GroupType.parse(group_type).label}"


def split_names(split: str) -> str:
  """A TFDS split expression for every group of `split`."""
  return "+".join(split_name(split, t) for t in factors.GroupType)


class DcignFaces(tfds.core.GeneratorBasedBuilder):
  """Grouped face renders for DC-IGN (Kulkarni et al., 2015, §3.1)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Built-in procedural head, grouped renders."}
  BUILDER_CONFIGS = [make_config(64), make_config(150)]

  def __init__(self, *, num_workers: Optional[int] = None, **kwargs):
    """Args: num_workers: render processes (default: one per CPU core)."""
    super().__init__(**kwargs)
    self._num_workers = num_workers
    self._pool = None

  def _download_and_prepare(self, dl_manager, download_config):
    # One pool of render processes serves all eight splits.
    with worker_pool(self._num_workers) as pool:
      self._pool = pool
      try:
        return super()._download_and_prepare(dl_manager, download_config)
      finally:
        self._pool = None

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    size, count = config.image_size, config.group_size
    identity_size = groups.identity_size(config.face_model)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "images": tfds.features.Tensor(
                shape=(count, size, size, 1), dtype=np.uint8,
                encoding=tfds.features.Encoding.ZLIB),
            "group_type": tfds.features.ClassLabel(
                names=list(factors.GROUP_TYPE_NAMES)),
            "azimuth": tfds.features.Tensor(shape=(count,), dtype=np.float32),
            "elevation": tfds.features.Tensor(shape=(count,), dtype=np.float32),
            "light": tfds.features.Tensor(shape=(count,), dtype=np.float32),
            "identity": tfds.features.Tensor(shape=(count, identity_size),
                                             dtype=np.float32),
        }),
        homepage="https://arxiv.org/abs/1503.03167",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Everything is rendered; nothing is downloaded.
    return {
        split_name(split, group_type): self._generate_examples(split,
                                                               group_type)
        for split in SPLITS for group_type in factors.GroupType
    }

  def _generate_examples(self, split, group_type):
    config = self.builder_config
    count = config.groups_per_type(split)
    tasks = [(split, int(group_type), index) for index in range(count)]
    if self._pool is None:
      examples = map(config.source.example, tasks)
    else:
      chunk = max(1, min(8, count // (4 * self._pool._processes)))  # pylint: disable=protected-access
      examples = self._pool.imap(config.source.example, tasks, chunksize=chunk)
    for index, example in enumerate(examples):
      yield index, example


@contextlib.contextmanager
def worker_pool(num_workers: Optional[int] = None):
  """A pool of `num_workers` render processes (default: one per core), or
  None when one process is asked for (render in-process).

  Workers are spawned, not forked: they import only NumPy code and never
  inherit TensorFlow's threads. As with any spawning code, scripts that use
  it need an `if __name__ == "__main__":` guard.
  """
  workers = num_workers or os.cpu_count() or 1
  if workers <= 1:
    yield None
    return
  with multiprocessing.get_context("spawn").Pool(workers) as pool:
    yield pool


def builder(config: DcignFacesConfig, data_dir: Optional[str] = None,
            num_workers: Optional[int] = None) -> DcignFaces:
  """The builder of `config` (prepare it with `download_and_prepare`)."""
  # TFDS refuses a config object that shares a predefined config's name, so
  # the paper-sized presets are asked for by name.
  if config.name in {preset.name for preset in DcignFaces.BUILDER_CONFIGS}:
    config = config.name
  return DcignFaces(config=config, data_dir=data_dir, num_workers=num_workers)
