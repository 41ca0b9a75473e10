"""tf.data pipelines of grouped batches, from prepared data or rendered live.

Every element is a batch of K groups (a group is never split between
batches; prepared training data may keep M random members of each group):

  images      float32 [K, G, S, S, 1] in [0, 1]
  group_type  int32 [K]          (factors.GroupType values)
  azimuth     float32 [K, G]     degrees, and likewise elevation, light
  identity    float32 [K, G, D]  the face model's identity vectors

Group types are drawn in a configurable ratio (default the paper's
1:1:1:10, azimuth : elevation : light : intrinsic).
"""

import collections
import dataclasses
import functools
import multiprocessing.pool
from typing import Optional

import numpy as np
import tensorflow as tf

from dcign_tf import distribution
from dcign_tf.data import faces_dataset
from dcign_tf.data import factors
from dcign_tf.data import group_members
from dcign_tf.data import groups
from dcign_tf.data import render_pool

FACTOR_KEYS = ("azimuth", "elevation", "light")
# Rendered groups held to scatter the copies of reused live groups.
REUSE_SHUFFLE_GROUPS = 32
# Seeds the order of the slots in a reuse window (kept apart from the
# render streams of groups.SPLIT_STREAMS).
REUSE_STREAM = 100


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


@dataclasses.dataclass(frozen=True)
class Sharding:
  """Which replicas' shares of each global batch an input pipeline feeds.

  A global batch of K groups is split into R consecutive shares of K / R
  whole groups, share r for replica r (`replica_id_in_sync_group`). An
  input pipeline (one per worker under tf.distribute) feeds its local
  replicas, one share per element, in the order the strategy hands them
  out. The default feeds the whole batch to one replica.

  Attributes:
    replicas: R, the replicas in sync.
    local_replicas: the replica ids this pipeline feeds, increasing.
  """

  replicas: int = 1
  local_replicas: tuple = (0,)

  def __post_init__(self):
    local = tuple(int(r) for r in self.local_replicas)
    object.__setattr__(self, "local_replicas", local)
    if self.replicas < 1 or not local or list(local) != sorted(set(local)) \
        or local[0] < 0 or local[-1] >= self.replicas:
      raise ValueError(f"local_replicas {list(local)} must be distinct, "
                       f"increasing ids in [0, {self.replicas}).")

  def groups_per_replica(self, groups_per_batch: int) -> int:
    return distribution.check_groups_per_replica(
        _check_groups_per_batch(groups_per_batch), self.replicas)

  def slots(self, groups_per_batch: int, first_step: int = 0):
    """Endless global slot indices (step * K + position in the batch) of
    the groups this pipeline feeds, in feeding order."""
    share = self.groups_per_replica(groups_per_batch)
    step = first_step
    while True:
      for replica in self.local_replicas:
        first = step * groups_per_batch + replica * share
        yield from range(first, first + share)
      step += 1


def prepared_dataset(builder: faces_dataset.DcignFaces, split: str = "train",
                     ratio=factors.PAPER_RATIO, groups_per_batch: int = 1,
                     shuffle_buffer: int = 256, seed: Optional[int] = None,
                     first_step: int = 0, sharding: Sharding = Sharding(),
                     members_per_group: int = 0) -> tf.data.Dataset:
  """An endless, shuffled stream of K-group batches from prepared data.

  With a seed the stream is a fixed sequence, so a run resumed at
  `first_step` reads exactly the batches an uninterrupted run would have.

  Args:
    builder: a prepared `DcignFaces` builder.
    split: "train" or "test".
    ratio: group-type weights (see `factors.parse_ratio`).
    groups_per_batch: K, groups per global batch.
    shuffle_buffer: groups held for shuffling, per group type.
    seed: makes file order, shuffling and type draws reproducible.
    first_step: the global batch to start from (skipped by reading).
    sharding: which replicas' shares this pipeline yields (see `Sharding`);
      each element then holds K / R groups.
    members_per_group: M > 0 keeps M random members of each group (see
      `group_members.keep_members`); 0 keeps whole groups.
  """
  members_per_group = group_members.check_members_per_group(
      members_per_group, builder.builder_config.group_size)
  probabilities = factors.parse_ratio(ratio)
  share = sharding.groups_per_replica(groups_per_batch)
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
  if members_per_group:
    # The global slot index seeds the choice, so a resumed run (which
    # skips to its first slot) chooses the members an unbroken one would.
    member_seed = 0 if seed is None else seed
    dataset = dataset.enumerate().skip(first_step * groups_per_batch).map(
        lambda index, group: group_members.keep_members(
            group, members_per_group, member_seed, index))
  else:
    dataset = dataset.skip(first_step * groups_per_batch)
  dataset = dataset.batch(share, drop_remainder=True)
  if sharding.replicas > 1:
    local = tf.constant(sharding.local_replicas, tf.int64)
    dataset = dataset.enumerate().filter(
        lambda index, batch: tf.reduce_any(
            tf.equal(index % sharding.replicas, local))).map(
                lambda index, batch: batch)
  return dataset.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE
                     ).prefetch(tf.data.AUTOTUNE)


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


def reuse_window(reuse: int) -> int:
  """Groups per reuse window: the slots of W groups used R times each are
  a fixed permutation of W x R slots (W = 1 without reuse)."""
  return REUSE_SHUFFLE_GROUPS if reuse > 1 else 1


@functools.lru_cache(maxsize=8)
def _window_order(seed: int, window: int, reuse: int) -> np.ndarray:
  span = reuse_window(reuse) * reuse
  rng = np.random.default_rng([seed, REUSE_STREAM, window])
  return rng.permutation(span) // reuse


def group_of_slot(slot: int, reuse: int = 1, seed: int = 0) -> int:
  """The live group (its index in the stream) that fills global slot
  `slot`: the slot itself without reuse; with reuse R, slots come in
  windows of W x R that use the window's W groups R times each, in an
  order fixed by (seed, window). A pure function of the slot, so any
  replica, worker or resumed run finds the same group."""
  if reuse == 1:
    return slot
  span = reuse_window(reuse) * reuse
  window, offset = divmod(slot, span)
  return window * reuse_window(reuse) + int(
      _window_order(seed, window, reuse)[offset])


def group_type_of(index: int, probabilities, seed: int = 0) -> int:
  """The type of live group `index`, drawn from (seed, index) alone."""
  rng = np.random.default_rng([seed, groups.SPLIT_STREAMS["stream"], index])
  return int(rng.choice(len(probabilities), p=probabilities))


def live_groups(source: groups.GroupSource, ratio=factors.PAPER_RATIO,
                seed: int = 0, num_workers: int = 1,
                range_warmup: Optional[RangeWarmup] = None,
                first_step: int = 0, groups_per_batch: int = 1,
                reuse: int = 1, sharding: Sharding = Sharding()):
  """An endless generator of rendered groups (dataset examples), in the
  order of the global slots this pipeline feeds (`Sharding.slots`).

  Everything about a slot's group (its index, type, contents and warm-up
  ranges) is a function of the arguments and the slot, however many
  workers render it, so replicas, workers and resumed runs agree.

  Args:
    source: what to render.
    ratio: group-type weights.
    seed: the stream's seed (types, contents and reuse order).
    num_workers: render processes; 1 renders in the calling process.
    range_warmup: optional curriculum on the factor ranges; a group's step
      is the step of the first slot of its reuse window.
    first_step: the training step of the first batch (a resumed run's).
    groups_per_batch: K, groups per global batch.
    reuse: R, how many slots each rendered group fills.
    sharding: which replicas' shares to yield.
  """
  probabilities = _check_live(source, ratio, range_warmup, reuse)
  window = reuse_window(reuse)
  wanted = (group_of_slot(slot, reuse, seed)
            for slot in sharding.slots(groups_per_batch, first_step))

  def task(index):
    group_type = group_type_of(index, probabilities, seed)
    task_source = source
    step = (index // window) * window * reuse // groups_per_batch
    if range_warmup is not None and step < range_warmup.steps:
      task_source = dataclasses.replace(
          source, ranges=range_warmup.ranges_at(step, source.ranges))
    return task_source, ("stream", group_type, index)

  with render_pool.worker_pool(num_workers) as pool:
    # Rendered (or pending) groups by index, kept until the stream has moved
    # past their reuse window; a bounded look-ahead keeps the pool busy.
    rendered, upcoming = {}, collections.deque()

    def render(index):
      if index not in rendered:
        task_source, group_task = task(index)
        rendered[index] = (
            task_source.example(group_task) if pool is None else
            pool.apply_async(task_source.example, (group_task,)))

    def look_ahead():
      index = next(wanted)
      upcoming.append(index)
      render(index)
      if pool is not None and reuse > 1:
        # The first slots of a window use groups from all over it: render
        # the next window in order while this one is used, so the pool
        # works at a steady rate instead of in bursts at window starts.
        first = (index // window + 1) * window
        for later in range(first, first + window):
          render(later)

    for _ in range(4 * max(1, num_workers) * reuse):
      look_ahead()
    while True:
      index = upcoming.popleft()
      result = rendered[index]
      if pool is not None and not isinstance(result, dict):
        # Poll rather than block: if the interpreter is shutting down, the
        # pool is terminated under us and a plain get() would wait forever.
        while not result.ready():
          if pool._state != multiprocessing.pool.RUN:  # pylint: disable=protected-access
            return
          result.wait(0.5)
        result = rendered[index] = result.get()
      for old in [i for i in rendered if i // window < index // window]:
        del rendered[old]
      yield result
      look_ahead()


def live_dataset(source: groups.GroupSource, ratio=factors.PAPER_RATIO,
                 groups_per_batch: int = 1, seed: int = 0,
                 num_workers: int = 1,
                 range_warmup: Optional[RangeWarmup] = None,
                 first_step: int = 0, reuse: int = 1,
                 sharding: Sharding = Sharding()) -> tf.data.Dataset:
  """K-group batches rendered on the fly: nothing to prepare, for quick runs.

  With `reuse` = R > 1 every rendered group fills R slots, scattered over
  a window of REUSE_SHUFFLE_GROUPS x R slots, so a CPU run spends 1/R of
  the rendering per step (a 64 px group takes about as long to render as a
  training step takes to run). Batch n is the same for the same arguments
  whether the stream started at step 0 or at `first_step` = n. With a
  `sharding`, each element is one replica's share of K / R groups. See
  `live_groups` for the other arguments.
  """
  share = sharding.groups_per_replica(groups_per_batch)
  # Fail on a bad ratio, warm-up or reuse now, not on the first read.
  _check_live(source, ratio, range_warmup, reuse)
  dataset = tf.data.Dataset.from_generator(
      lambda: live_groups(source, ratio, seed, num_workers, range_warmup,
                          first_step, groups_per_batch, reuse, sharding),
      output_signature=group_signature(source))
  return _finish(dataset, share)


def slot_group_types(designated, slots=None) -> np.ndarray:
  """The model's group type (factors.GroupType) of each labelled group type.

  A labelled dataset's designated factors take the model's factor slots
  (`slots`, default: the factors' own names, which must then be azimuth,
  elevation or light), in order; its intrinsic groups stay intrinsic.
  """
  slots = tuple(designated if slots is None else slots)
  if len(slots) != len(designated) or len(set(slots)) != len(slots) or (
      not set(slots) <= set(factors.FACTORS)):
    raise ValueError(
        f"The designated factors {list(designated)} need one distinct model "
        f"slot each from {', '.join(factors.FACTORS)}; got {list(slots)}.")
  return np.array([factors.FACTORS.index(s) for s in slots] +
                  [int(factors.GroupType.INTRINSIC)], np.int32)


def labelled_dataset(images: np.ndarray, groups_of_labels, weights,
                     groups_per_batch: int = 1, seed: int = 0,
                     first_step: int = 0, sharding: Sharding = Sharding(),
                     slots=None) -> tf.data.Dataset:
  """K-group batches selected from a labelled dataset (`labelled`).

  Args:
    images: uint8 [N, S, S, C], the dataset's images.
    groups_of_labels: a `labelled.LabelledGroups` over their labels.
    weights: one weight per labelled group type (designated factors, then
      intrinsic), checked against the labels before any read.
    groups_per_batch: K, groups per global batch.
    seed: group index i is drawn from (seed, i) alone, so batch n is the
      same whether the stream started at 0 or at `first_step` = n.
    first_step: the first global batch.
    sharding: which replicas' shares to yield (see `Sharding`).
    slots: the model factor slot of each designated factor (see
      `slot_group_types`).

  Elements: images float32 [K/R, G, S, S, C] in [0, 1], group_type int32
  [K/R] (model group types), labels int64 [K/R, G, F].
  """
  share = sharding.groups_per_replica(groups_per_batch)
  weights = groups_of_labels.check_ratio(weights)
  model_types = slot_group_types(groups_of_labels.designated, slots)
  if images.ndim != 4 or images.shape[1] != images.shape[2] or (
      len(images) != groups_of_labels.num_images):
    raise ValueError(f"images must be [N, S, S, C] with N = "
                     f"{groups_of_labels.num_images} labelled images; got "
                     f"{images.shape}.")
  labels = groups_of_labels.labels
  size, channels = images.shape[1], images.shape[3]
  count = groups_of_labels.group_size

  def generate():
    for slot in sharding.slots(groups_per_batch, first_step):
      group_type, indices = groups_of_labels.group(slot, seed, weights)
      yield {"images": images[indices],
             "group_type": model_types[group_type],
             "labels": labels[indices].astype(np.int64)}

  dataset = tf.data.Dataset.from_generator(generate, output_signature={
      "images": tf.TensorSpec((count, size, size, channels), tf.uint8),
      "group_type": tf.TensorSpec((), tf.int32),
      "labels": tf.TensorSpec((count, labels.shape[1]), tf.int64)})
  return dataset.batch(share, drop_remainder=True).map(
      lambda batch: {**batch, "images": tf.cast(batch["images"], tf.float32)
                     / 255.0}, num_parallel_calls=tf.data.AUTOTUNE
  ).prefetch(tf.data.AUTOTUNE)
