"""`dcign_faces`: grouped renders of the built-in (or a user's) face model.

A tensorflow-datasets builder. Every example is one group: G images of which
exactly one factor varies, with the true factors of every image. Splits are
per split and group type (`train_azimuth`, ..., `test_intrinsic`) so the
input pipeline can draw group types in any ratio without reading and
discarding examples; `train` / `test` as a whole are the sums of their four
parts (see `split_names`). Train and test identities come from independent
random streams, so they are disjoint.

Groups render in parallel worker processes, one per core. Rendered groups
are kept in chunks of `CHUNK_GROUPS` beside the dataset (`PARTIAL_DIR`), each
written atomically, so a preparation that is killed and rerun renders only
the chunks it had not finished; a GroupSource decides every pixel of a
group, so the records are the same as those of an uninterrupted build. TFDS
writes into a temporary folder and renames it when the build completes; the
chunks are deleted then.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
from typing import Optional

import numpy as np
import tensorflow_datasets as tfds

from dcign_tf import run_time
from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.data import render_pool

PAPER_TRAIN_GROUPS_PER_TYPE = 3000
PAPER_TEST_GROUPS_PER_TYPE = 350
SPLITS = ("train", "test")
# Groups per chunk of a resumable preparation (a constant, so a rerun with
# another number of workers finds the same chunks).
CHUNK_GROUPS = 64
PARTIAL_DIR = "dcign_faces_partial"
EXAMPLE_KEYS = ("images", "group_type", "azimuth", "elevation", "light",
                "identity")


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
    self._timer = None

  @property
  def partial_dir(self) -> str:
    """Where rendered chunks wait until the whole build completes."""
    return os.path.join(self._data_dir_root, PARTIAL_DIR,
                        self.builder_config.name)

  def _download_and_prepare(self, dl_manager, download_config):
    # One pool of render processes serves all eight splits.
    config = self.builder_config
    total = sum(4 * config.groups_per_type(split) for split in SPLITS)
    done = count_chunked_groups(self.partial_dir)
    self._timer = PreparationTimer(total, done)
    with render_pool.worker_pool(self._num_workers) as pool:
      self._pool = pool
      try:
        result = super()._download_and_prepare(dl_manager, download_config)
      finally:
        self._pool = None
    shutil.rmtree(self.partial_dir, ignore_errors=True)
    with contextlib.suppress(OSError):  # Other configs' chunks may wait.
      os.rmdir(os.path.dirname(self.partial_dir))
    return result

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
    chunks = ChunkStore(self.partial_dir, split_name(split, group_type))
    starts = range(0, count, CHUNK_GROUPS)
    missing = [start for start in starts if not chunks.has(start)]
    tasks = [(split, int(group_type), index) for start in missing
             for index in range(start, min(start + CHUNK_GROUPS, count))]
    if self._pool is None:
      rendered = map(config.source.example, tasks)
    else:
      rendered = self._pool.imap(config.source.example, tasks, chunksize=2)
    for start in starts:
      size = min(CHUNK_GROUPS, count - start)
      if chunks.has(start):
        examples = chunks.load(start)
      else:
        examples = [next(rendered) for _ in range(size)]
        chunks.save(start, examples)
        if self._timer is not None:
          self._timer.add(size)
      for offset, example in enumerate(examples):
        yield start + offset, example


class ChunkStore:
  """Rendered groups of one split, CHUNK_GROUPS to a file, each written
  atomically (a killed write leaves no chunk)."""

  def __init__(self, directory: str, split: str):
    self.directory = os.path.join(directory, split)

  def path(self, start: int) -> str:
    return os.path.join(self.directory, f"groups-{start:07d}.npz")

  def has(self, start: int) -> bool:
    return os.path.exists(self.path(start))

  def save(self, start: int, examples: list):
    os.makedirs(self.directory, exist_ok=True)
    temporary = self.path(start) + f".tmp-{os.getpid()}.npz"
    np.savez(temporary, **{key: np.stack([e[key] for e in examples])
                           for key in EXAMPLE_KEYS})
    os.replace(temporary, self.path(start))

  def load(self, start: int) -> list:
    with np.load(self.path(start)) as stored:
      arrays = {key: stored[key] for key in EXAMPLE_KEYS}
    return [{key: (int(values[i]) if key == "group_type" else values[i])
             for key, values in arrays.items()}
            for i in range(len(arrays["images"]))]


def count_chunked_groups(directory: str) -> int:
  """Groups already rendered into finished chunks under `directory`."""
  total = 0
  if not os.path.isdir(directory):
    return 0
  for root, _, files in os.walk(directory):
    for name in files:
      if name.startswith("groups-") and name.endswith(".npz") and (
          ".tmp-" not in name):
        with np.load(os.path.join(root, name)) as stored:
          total += len(stored["group_type"])
  return total


class PreparationTimer:
  """Says how long the rest of a preparation will take, from the rate
  measured on this machine: timed from the end of the first rendered chunk
  (which also pays for starting the render processes) over the next
  `measure_groups` groups."""

  def __init__(self, total: int, done: int = 0, say=print,
               clock=time.monotonic, measure_groups: int = 2 * CHUNK_GROUPS):
    self.total, self.done = total, done
    self.say, self.clock = say, clock
    self.measure_groups = measure_groups
    self.rendered = 0
    self.first = None  # (time, groups) at the end of the first chunk.
    self.estimate_s = None
    if done:
      say(f"Resuming the preparation: {done} of {total} groups were "
          "already rendered.", flush=True)

  def add(self, groups_rendered: int):
    self.rendered += groups_rendered
    if self.first is None:
      self.first = (self.clock(), self.rendered)
      return
    measured = self.rendered - self.first[1]
    if self.estimate_s is not None or measured < self.measure_groups:
      return
    rate = measured / max(self.clock() - self.first[0], 1e-9)
    left = self.total - self.done - self.rendered
    self.estimate_s = left / rate
    self.say(f"Preparing {self.total} groups at {rate:.1f} groups/s on "
             "this machine: about "
             f"{run_time.format_duration(self.estimate_s)} to go.",
             flush=True)


def builder(config: DcignFacesConfig, data_dir: Optional[str] = None,
            num_workers: Optional[int] = None) -> DcignFaces:
  """The builder of `config` (prepare it with `download_and_prepare`)."""
  if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(
      data_dir):
    raise ValueError(f"--data_dir={data_dir} is a file, not a folder; "
                     "choose a folder (it is created if missing).")
  if num_workers is not None and num_workers < 0:
    raise ValueError(f"workers must be >= 0, got {num_workers}.")
  # TFDS refuses a config object that shares a predefined config's name, so
  # the paper-sized presets are asked for by name.
  if config.name in {preset.name for preset in DcignFaces.BUILDER_CONFIGS}:
    config = config.name
  return DcignFaces(config=config, data_dir=data_dir, num_workers=num_workers)
