r"""Speed benchmarks that print figures (see the issues' targets).

  python -m trainers.benchmark --what=render
  python -m trainers.benchmark --what=export

--what=export prints, at 64 and 150 px, the per-image latency at batch 1 and
  32 of the encoder and decoder SavedModels and of each TFLite variant on 1
  and 2 threads, the file sizes, and the issue's targets (export.benchmark_lib).

--what=render prints, at 64 and 150 px, images per second per CPU core for
  * render:   one mesh drawn at changing poses (the renderer alone);
  * groups:   whole groups in the paper's type mix, identities sampled and
              meshes built as the dataset builder does (one process);
  * prepare:  a small `dcign_faces` build through TFDS with one render process
              per core (writing and compression included), and the time the
              paper-sized build (13,400 groups x 20 images) would take on 16
              cores at that per-core rate.
"""

import os
import tempfile
import time

from absl import logging
from absl import flags
import numpy as np

from export import benchmark_lib
from trainers import cli
from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

PAPER_IMAGES = (4 * faces_dataset.PAPER_TRAIN_GROUPS_PER_TYPE +
                4 * faces_dataset.PAPER_TEST_GROUPS_PER_TYPE) * 20

_WHAT = flags.DEFINE_enum("what", "render", ["render", "export"],
                          "What to measure.")
_IMAGE_SIZES = flags.DEFINE_list("image_sizes", ["64", "150"],
                                 "Image sizes to measure.")
_SECONDS = flags.DEFINE_float("seconds", 5.0,
                              "Minimum time per measurement.")
_PREPARE_GROUPS = flags.DEFINE_integer(
    "prepare_groups_per_type", 16, "Train groups per type in the prepare test "
    "(0 skips it).")
_WORKERS = flags.DEFINE_integer("prepare_workers", 0,
                                "Render processes for prepare (0: one per "
                                "core).")


def _timed(step, seconds):
  """Runs step() (returning an image count) for >= `seconds`; images/s."""
  step()  # Warm-up: caches, topology.
  images, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    images += step()
  return images / (time.perf_counter() - start)


def render_rate(image_size: int, seconds: float, seed: int = 0) -> float:
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

  return _timed(step, seconds)


def group_rate(image_size: int, seconds: float, seed: int = 0) -> float:
  """Images/s of whole groups in the paper's type mix, one core."""
  source = groups.GroupSource(image_size=image_size, seed=seed)
  rng = np.random.default_rng(seed)
  probabilities = factors.parse_ratio(factors.PAPER_RATIO)
  counter = iter(range(10**9))

  def step():
    group_type = int(rng.choice(4, p=probabilities))
    source.example(("stream", group_type, next(counter)))
    return source.group_size

  return _timed(step, seconds)


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


def export_main():
  print(f"dcign_tf export benchmark: {os.cpu_count()} CPU cores here; "
        "untrained models (latency and size do not depend on the weights); "
        "ms per image is the median call time / batch.")
  print(benchmark_lib.HEADER, flush=True)
  rows = []
  for size in (int(s) for s in _IMAGE_SIZES.value):
    float32 = {}

    def show(row):
      if row.runtime == "TFLite float32":
        float32[row.model] = row.bytes
      print(benchmark_lib.format_row(row, float32.get(row.model, 0)),
            flush=True)

    rows += benchmark_lib.measure(size, _SECONDS.value, show)
  print("\nTargets:")
  for line in benchmark_lib.verdicts(rows):
    print("  " + line)


def main(argv):
  del argv
  logging.set_verbosity(logging.ERROR)
  if _WHAT.value == "export":
    export_main()
    return
  faces_dataset.tfds.disable_progress_bar()
  cores = _WORKERS.value or os.cpu_count() or 1
  print(f"dcign_tf render benchmark: {os.cpu_count()} CPU cores here; "
        "figures are images per second per core.")
  print(f"{'size':>6} {'render':>10} {'groups':>10} {'prepare':>10} "
        f"{'paper build on 16 cores':>26}")
  for size in (int(s) for s in _IMAGE_SIZES.value):
    render = render_rate(size, _SECONDS.value)
    mix = group_rate(size, _SECONDS.value)
    prepare = projected = float("nan")
    if _PREPARE_GROUPS.value > 0:
      prepare = prepare_rate(size, _PREPARE_GROUPS.value, cores) / cores
      projected = PAPER_IMAGES / (16 * prepare) / 60
    print(f"{size:>4}px {render:>10.1f} {mix:>10.1f} {prepare:>10.1f} "
          f"{projected:>20.1f} min", flush=True)


if __name__ == "__main__":
  cli.run(main)
