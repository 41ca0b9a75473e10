"""tf.data pipelines of grouped batches, from prepared data or rendered live.

Every element is a batch of K whole groups (a group is never split):

  images      float32 [K, G, S, S, 1] in [0, 1]
  group_type  int32 [K]          (factors.GroupType values)
  azimuth     float32 [K, G]     degrees, and likewise elevation, light
  identity    float32 [K, G, D]  the face model's identity vectors

Group types are drawn in a configurable ratio (default the paper's
1:1:1:10, azimuth : elevation : light : intrinsic).
"""

import collections
import dataclasses
import multiprocessing.pool
from typing import Optional

import numpy as np
import tensorflow as tf

from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups

FACTOR_KEYS = ("azimuth", "elevation", "light")
# Rendered groups held to scatter the copies of reused live groups.
REUSE_SHUFFLE_GROUPS = 32


def draw_group_types(ratio, count: int, rng: np.random.Generator) -> np.ndarray:
  """Draws `count` group types (ints) with probabilities from `ratio`."""
  probabilities = factors.parse_ratio(ratio)
  return rng.choice(len(probabilities), size=count, p=probabilities)


def to_model_inputs(example: dict) -> dict:
  """A stored group (uint8 images) -> float32 images in [0, 1]."""
  return {
      "images": tf.cast(example["images"], tf.float32) / 255.0,
      "group_type": tf.cast(example["group_type"], tf.int32),
      **{key: example[key] for key in FACTOR_KEYS},
      "identity": example["identity"],
  }


def _check_groups_per_batch(groups_per_batch) -> int:
  if (isinstance(groups_per_batch, bool) or
      int(groups_per_batch) != groups_per_batch or groups_per_batch < 1):
    raise ValueError("groups_per_batch must be an integer >= 1, got "
                     f"{groups_per_batch!r}.")
  return int(groups_per_batch)


def prepared_dataset(builder: faces_dataset.DcignFaces, split: str = "train",
                     ratio=factors.PAPER_RATIO, groups_per_batch: int = 1,
                     shuffle_buffer: int = 256, seed: Optional[int] = None
                     ) -> tf.data.Dataset:
  """An endless, shuffled stream of K-group batches from prepared data.

  Args:
    builder: a prepared `DcignFaces` builder.
    split: "train" or "test".
    ratio: group-type weights (see `factors.parse_ratio`).
    groups_per_batch: K.
    shuffle_buffer: groups held for shuffling, per group type.
    seed: makes file order, shuffling and type draws reproducible.
  """
  probabilities = factors.parse_ratio(ratio)
  groups_per_batch = _check_groups_per_batch(groups_per_batch)
  read_config = faces_dataset.tfds.ReadConfig(shuffle_seed=seed)
  streams, weights = [], []
  for group_type in factors.GroupType:
    if probabilities[group_type] == 0:
      continue
    stream = builder.as_dataset(
        split=faces_dataset.split_name(split, group_type), shuffle_files=True,
        read_config=read_config)
    streams.append(stream.repeat().shuffle(shuffle_buffer, seed=seed))
    weights.append(float(probabilities[group_type]))
  if len(streams) == 1:
    dataset = streams[0]
  else:
    dataset = tf.data.Dataset.sample_from_datasets(streams, weights, seed=seed)
  return _finish(dataset, groups_per_batch)


def evaluation_dataset(builder: faces_dataset.DcignFaces, split: str = "test",
                       groups_per_batch: int = 1) -> tf.data.Dataset:
  """Every group of `split` once, type by type, in a fixed order."""
  groups_per_batch = _check_groups_per_batch(groups_per_batch)
  dataset = builder.as_dataset(split=faces_dataset.split_names(split),
                               shuffle_files=False)
  return _finish(dataset, groups_per_batch, drop_remainder=False)


def _finish(dataset, groups_per_batch, drop_remainder=True):
  return dataset.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE
                     ).batch(groups_per_batch, drop_remainder=drop_remainder
                             ).prefetch(tf.data.AUTOTUNE)


def group_signature(source: groups.GroupSource) -> dict:
  size, count = source.image_size, source.group_size
  return {
      "images": tf.TensorSpec((count, size, size, 1), tf.uint8),
      "group_type": tf.TensorSpec((), tf.int64),
      **{key: tf.TensorSpec((count,), tf.float32) for key in FACTOR_KEYS},
      "identity": tf.TensorSpec((count, source.model().identity_size),
                                tf.float32),
  }


@dataclasses.dataclass(frozen=True)
class RangeWarmup:
  """A curriculum on the factor ranges of live training groups.

  Groups of the first steps are drawn from the narrower `start` ranges,
  which widen linearly to the source's full ranges at `steps`. Why: over a
  full +-90 degree azimuth sweep, "how frontal" and "which way" explain
  about equally much of the pixel variance (17 % and 16 % at 64 px), and a
  network that picks up frontality first learns a z_azimuth folded at 0
  degrees that it rarely unfolds. Near the front the signed turn dominates,
  so a narrow start makes z_azimuth signed from the beginning.

  Attributes:
    start: the ranges at step 0 (each inside the full range).
    steps: the step at which groups reach the full ranges (> 0).
  """

  start: factors.FactorRanges
  steps: int

  def __post_init__(self):
    if isinstance(self.steps, bool) or int(self.steps) != self.steps or (
        self.steps < 1):
      raise ValueError("The range warm-up needs a whole number of steps "
                       f">= 1, got {self.steps!r}.")

  def ranges_at(self, step: int, full: factors.FactorRanges
                ) -> factors.FactorRanges:
    return self.start.widen_towards(full, step / self.steps)


def check_reuse(reuse) -> int:
  if isinstance(reuse, bool) or int(reuse) != reuse or not 1 <= reuse <= 16:
    raise ValueError("Each live group can be used a whole number of times "
                     f"from 1 to 16, got reuse={reuse!r}.")
  return int(reuse)


def _check_live(source, ratio, range_warmup, reuse=1) -> np.ndarray:
  """The ratio's probabilities, once it and the warm-up fit the source."""
  check_reuse(reuse)
  probabilities = factors.parse_ratio(ratio)
  factors.check_ratio_against_ranges(probabilities, source.ranges)
  if range_warmup is not None:
    range_warmup.start.check_within(source.ranges, "warm-up range")
    factors.check_ratio_against_ranges(probabilities, range_warmup.start)
  return probabilities


def live_groups(source: groups.GroupSource, ratio=factors.PAPER_RATIO,
                seed: int = 0, num_workers: int = 1,
                range_warmup: Optional[RangeWarmup] = None,
                first_step: int = 0, groups_per_batch: int = 1,
                reuse: int = 1):
  """An endless generator of rendered groups (dataset examples).

  Group i of the stream is the same for the same arguments, however many
  workers render it.

  Args:
    source: what to render.
    ratio: group-type weights.
    seed: the stream's seed (types and contents).
    num_workers: render processes; 1 renders in the calling process.
    range_warmup: optional curriculum on the factor ranges; group i belongs
      to training step first_step + i // groups_per_batch.
    first_step: the training step of the first group (a resumed run's).
    groups_per_batch: K, groups per training step.
    reuse: how many times the dataset uses each group (for the warm-up's
      step count only; `live_dataset` does the repeating).
  """
  probabilities = _check_live(source, ratio, range_warmup, reuse)
  rng = np.random.default_rng([seed, groups.SPLIT_STREAMS["stream"]])

  def tasks():
    index = 0
    while True:
      group_type = int(rng.choice(len(probabilities), p=probabilities))
      task_source = source
      step = first_step + index * reuse // groups_per_batch
      if range_warmup is not None and step < range_warmup.steps:
        task_source = dataclasses.replace(
            source, ranges=range_warmup.ranges_at(step, source.ranges))
      yield task_source, ("stream", group_type, index)
      index += 1

  task_stream = tasks()
  with faces_dataset.worker_pool(num_workers) as pool:
    if pool is None:
      for task_source, task in task_stream:
        yield task_source.example(task)
      return
    # A bounded window of pending renders: Pool.imap would drain the endless
    # task generator into memory.
    pending = collections.deque()

    def submit():
      task_source, task = next(task_stream)
      pending.append(pool.apply_async(task_source.example, (task,)))

    for _ in range(4 * num_workers):
      submit()
    while True:
      result = pending.popleft()
      # Poll rather than block: if the interpreter is shutting down, the
      # pool is terminated under us and a plain get() would wait forever.
      while not result.ready():
        if pool._state != multiprocessing.pool.RUN:  # pylint: disable=protected-access
          return
        result.wait(0.5)
      yield result.get()
      submit()


def live_dataset(source: groups.GroupSource, ratio=factors.PAPER_RATIO,
                 groups_per_batch: int = 1, seed: int = 0,
                 num_workers: int = 1,
                 range_warmup: Optional[RangeWarmup] = None,
                 first_step: int = 0, reuse: int = 1) -> tf.data.Dataset:
  """K-group batches rendered on the fly: nothing to prepare, for quick runs.

  With `reuse` = R > 1 every rendered group appears R times, its copies
  scattered by a shuffle buffer of REUSE_SHUFFLE_GROUPS x R groups, so a
  CPU run spends 1/R of the rendering per step (a 64 px group takes about
  as long to render as a training step takes to run). See `live_groups`
  for the other arguments.
  """
  groups_per_batch = _check_groups_per_batch(groups_per_batch)
  # Fail on a bad ratio, warm-up or reuse now, not on the first read.
  _check_live(source, ratio, range_warmup, reuse)
  dataset = tf.data.Dataset.from_generator(
      lambda: live_groups(source, ratio, seed, num_workers, range_warmup,
                          first_step, groups_per_batch, reuse),
      output_signature=group_signature(source))
  if reuse > 1:
    dataset = dataset.flat_map(
        lambda group: tf.data.Dataset.from_tensors(group).repeat(reuse)
    ).shuffle(REUSE_SHUFFLE_GROUPS * reuse, seed=seed)
  return _finish(dataset, groups_per_batch)
