"""Rendering speed behind `trainers.benchmark --what=render`: the renderer
alone, whole groups, and a real TFDS build, in images per second."""

import tempfile
import time

import numpy as np

from dcign_tf.data import faces_dataset
from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

# Images of the paper-sized dataset (train and test groups of 20).
PAPER_IMAGES = (4 * faces_dataset.PAPER_TRAIN_GROUPS_PER_TYPE +
                4 * faces_dataset.PAPER_TEST_GROUPS_PER_TYPE) * 20


def timed_rate(step, seconds: float, clock=time.perf_counter) -> float:
  """Runs step() (returning an image count) for >= `seconds` after one
  warm-up call; images per second of `clock`."""
  step()  # Warm-up: caches, topology.
  images, start = 0, clock()
  while clock() - start < seconds:
    images += step()
  return images / (clock() - start)


def render_rate(image_size: int, seconds: float, seed: int = 0,
                clock=time.perf_counter) -> float:
  """Images/s of the renderer alone, one core: one mesh, changing poses."""
  source = groups.GroupSource(image_size=image_size)
  model = source.model()
  mesh = model.mesh(model.sample_identity(np.random.default_rng(seed)),
                    image_size=image_size)
  rng = np.random.default_rng(seed)
  ranges = factors.FactorRanges()

  def step():
    for _ in range(10):
      renderer.render(mesh, rng.uniform(*ranges.azimuth),
                      rng.uniform(*ranges.elevation),
                      rng.uniform(*ranges.light), source.camera)
    return 10

  return timed_rate(step, seconds, clock)


def group_rate(image_size: int, seconds: float, seed: int = 0,
               clock=time.perf_counter) -> float:
  """Images/s of whole groups in the paper's type mix, one core."""
  source = groups.GroupSource(image_size=image_size, seed=seed)
  rng = np.random.default_rng(seed)
  probabilities = factors.parse_ratio(factors.PAPER_RATIO)
  counter = iter(range(10**9))

  def step():
    group_type = int(rng.choice(4, p=probabilities))
    source.example(("stream", group_type, next(counter)))
    return source.group_size

  return timed_rate(step, seconds, clock)


def prepare_rate(image_size: int, groups_per_type: int, workers: int) -> float:
  """Images/s of a real TFDS build with `workers` render processes."""
  config = faces_dataset.make_config(
      image_size=image_size, train_groups_per_type=groups_per_type,
      test_groups_per_type=1, seed=int(time.time()))
  with tempfile.TemporaryDirectory() as data_dir:
    builder = faces_dataset.builder(config, data_dir, num_workers=workers)
    start = time.perf_counter()
    builder.download_and_prepare()
    elapsed = time.perf_counter() - start
  return 4 * (groups_per_type + 1) * config.group_size / elapsed
