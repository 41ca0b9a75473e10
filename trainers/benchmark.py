r"""Speed benchmarks that print figures, with the targets they are held to.

  python -m trainers.benchmark --what=render
  python -m trainers.benchmark --what=export
  python -m trainers.benchmark --what=train

--what=train prints, for the `paper` (150 px) and `small` (64 px) presets
  and each of float32, XLA, bfloat16 and bfloat16 + XLA: ms per step,
  images per second, the FLOP rate achieved (FLOPs counted from the
  layers) against a large matmul's in the same run, the prepared input
  pipeline's images per second alone, and the peak resident memory of the
  preset and of a faces_quick.flags run; then the speed targets
  (dcign_tf.train_benchmark).

--what=export prints, at 64 and 150 px, the per-image latency at batch 1 and
  32 of the encoder and decoder SavedModels and of each TFLite variant on 1
  and 2 threads, the file sizes, and the speed targets (dcign_tf.export_benchmark).

--what=render prints, at 64 and 150 px, images per second per CPU core for
  * render:   one mesh drawn at changing poses (the renderer alone);
  * groups:   whole groups in the paper's type mix, identities sampled and
              meshes built as the dataset builder does (one process);
  * prepare:  a small `dcign_faces` build through TFDS with one render process
              per core (writing and compression included), and the time the
              paper-sized build (13,400 groups x 20 images) would take on 16
              cores at that per-core rate.
"""

import json
import os
import sys
import tempfile
import time

from absl import logging
from absl import flags
import numpy as np
import tensorflow as tf

from dcign_tf import cli
from dcign_tf import export_benchmark
from dcign_tf import precision
from dcign_tf import train_benchmark
from dcign_tf.data import faces_dataset
from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

PAPER_IMAGES = (4 * faces_dataset.PAPER_TRAIN_GROUPS_PER_TYPE +
                4 * faces_dataset.PAPER_TEST_GROUPS_PER_TYPE) * 20

_WHAT = flags.DEFINE_enum("what", "render",
                          ["render", "export", "train", "train_preset"],
                          "What to measure (train_preset: one preset, for "
                          "--what=train's child processes).")
_PRESETS = flags.DEFINE_list("presets", ["paper", "small"],
                             "--what=train: network presets to measure.")
_VARIANTS = flags.DEFINE_list(
    "variants", list(train_benchmark.VARIANTS),
    "--what=train: variants to measure.")
_MATMUL_SECONDS = flags.DEFINE_float(
    "matmul_seconds", 2.0, "--what=train: seconds of matmul timing before "
    "and after each variant's steps.")
_STEPS = flags.DEFINE_integer("steps", 5, "--what=train: timed steps per "
                              "variant (after two warm-up steps); the median "
                              "counts.")
_QUICK_STEPS = flags.DEFINE_integer(
    "quick_rss_steps", 250, "--what=train: steps of the faces_quick.flags "
    "run whose peak memory is measured (0 skips it).")
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
  print(export_benchmark.HEADER, flush=True)
  rows = []
  for size in (int(s) for s in _IMAGE_SIZES.value):
    float32 = {}

    def show(row):
      if row.runtime == "TFLite float32":
        float32[row.model] = row.bytes
      print(export_benchmark.format_row(row, float32.get(row.model, 0)),
            flush=True)

    rows += export_benchmark.measure(size, _SECONDS.value, show)
  print("\nTargets:")
  for line in export_benchmark.verdicts(rows):
    print("  " + line)


def train_preset_main():
  """One preset's rows as JSON lines (run as a child, so its memory is
  measured alone)."""
  preset = _PRESETS.value[0]
  network = train_benchmark.network_for(preset)
  for variant in _VARIANTS.value:
    mixed, _, phases = train_benchmark.VARIANTS[variant]
    flops = train_benchmark.training_flops_per_image(network, phases)
    # The matmul of the same number type just before and just after the
    # steps, the faster counting: on a shared virtual machine the rate of
    # either drifts by tens of percent over a minute.
    dtype = tf.bfloat16 if mixed == "bfloat16" else tf.float32
    before = train_benchmark.matmul_rate(dtype, seconds=_MATMUL_SECONDS.value)
    seconds = train_benchmark.step_time(preset, variant, _STEPS.value)
    after = train_benchmark.matmul_rate(dtype, seconds=_MATMUL_SECONDS.value)
    print("ROW " + json.dumps({
        "preset": preset, "variant": variant, "ms": 1000 * seconds,
        "images_per_s": train_benchmark.GROUP_SIZE / seconds,
        "flops_per_step": flops * train_benchmark.GROUP_SIZE,
        "matmul_flops_per_s": max(before, after),
    }), flush=True)
  print("INPUT " + json.dumps({"preset": preset, "images_per_s":
                               train_benchmark.input_rate(
                                   preset, _SECONDS.value)}), flush=True)


def _check_train_flags():
  for preset in _PRESETS.value:
    if preset not in train_benchmark.PRESETS:
      raise ValueError(f"Unknown preset {preset!r}; allowed: "
                       f"{', '.join(train_benchmark.PRESETS)}.")
  for variant in _VARIANTS.value:
    if variant not in train_benchmark.VARIANTS:
      raise ValueError(f"Unknown variant {variant!r}; allowed: "
                       f"{', '.join(train_benchmark.VARIANTS)}.")
  bfloat16 = [v for v in _VARIANTS.value if v.startswith("bfloat16")]
  if bfloat16:
    precision.check_supported("bfloat16", len(
        tf.config.list_physical_devices("GPU")))
  if _STEPS.value < 1 or _QUICK_STEPS.value < 0:
    raise ValueError(f"--steps must be >= 1 and --quick_rss_steps >= 0, got "
                     f"{_STEPS.value} and {_QUICK_STEPS.value}.")


def train_main():
  _check_train_flags()
  gpus = tf.config.list_physical_devices("GPU")
  device = (f"{len(gpus)} GPU(s), measured on the first" if gpus else
            f"CPU only ({os.cpu_count()} cores)")
  print(f"dcign_tf training benchmark: {device}. One group of "
        f"{train_benchmark.GROUP_SIZE} images per step on a batch in "
        "memory; FLOPs counted from the layers (forward, weight and input "
        "gradients).", flush=True)
  print("Matmul: the peak GFLOP/s of a 4096 x 4096 matmul of the variant's "
        "number type, measured just before and after its steps.",
        flush=True)
  print(f"{'preset':<7} {'variant':<15} {'ms/step':>9} {'images/s':>9} "
        f"{'GFLOP/step':>10} {'GFLOP/s':>8} {'matmul':>7} {'% of matmul':>11}",
        flush=True)
  rows, inputs, peaks = [], {}, {}
  environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
      [os.getcwd(), os.environ.get("PYTHONPATH", "")])}

  def show(line):
    if line.startswith("ROW "):
      row = json.loads(line[4:])
      rate = row["flops_per_step"] / (row["ms"] / 1000)
      reference = row["matmul_flops_per_s"]
      row["share"] = rate / reference
      rows.append(row)
      print(f"{row['preset']:<7} {row['variant']:<15} {row['ms']:>9.1f} "
            f"{row['images_per_s']:>9.1f} {row['flops_per_step'] / 1e9:>10.1f}"
            f" {rate / 1e9:>8.1f} {reference / 1e9:>7.1f}"
            f" {100 * row['share']:>10.0f}%", flush=True)
    elif line.startswith("INPUT "):
      value = json.loads(line[6:])
      inputs[value["preset"]] = value["images_per_s"]

  for preset in _PRESETS.value:
    status, _, peaks[preset] = train_benchmark.peak_tree_rss(
        [sys.executable, "-m", "trainers.benchmark", "--what=train_preset",
         f"--presets={preset}", f"--variants={','.join(_VARIANTS.value)}",
         f"--steps={_STEPS.value}", f"--seconds={_SECONDS.value}",
         f"--matmul_seconds={_MATMUL_SECONDS.value}"],
        env=environment, on_line=show)
    if status:
      raise RuntimeError(f"The {preset} measurement failed (exit {status}); "
                         "rerun with --what=train_preset --presets="
                         f"{preset} to see why.")
  print()
  for preset, rate in inputs.items():
    fastest = max(r["images_per_s"] for r in rows if r["preset"] == preset)
    print(f"Input pipeline alone, {preset} "
          f"({train_benchmark.PRESETS[preset]['image_size']} px, "
          f"prepared data): {rate:.0f} images/s, {rate / fastest:.1f}x the "
          "fastest training variant.")
  quick = None
  if _QUICK_STEPS.value:
    with tempfile.TemporaryDirectory() as model_dir:
      status, _, quick = train_benchmark.peak_tree_rss(
          [sys.executable, "-m", "trainers.train",
           "--flagfile=faces_quick.flags", f"--model_dir={model_dir}",
           f"--train_steps={_QUICK_STEPS.value}",
           f"--checkpoint_every={_QUICK_STEPS.value}", "--noexport"],
          env=environment)
    if status:
      raise RuntimeError(f"The faces_quick.flags run failed (exit {status}).")
  for preset, peak in peaks.items():
    print(f"Peak resident memory, {preset} preset (all its variants, process "
          f"tree): {peak / 2**30:.2f} GiB")
  if quick is not None:
    print(f"Peak resident memory, faces_quick.flags ({_QUICK_STEPS.value} "
          f"steps, evaluation and sweeps; process tree): "
          f"{quick / 2**30:.2f} GiB")
  print("\nTargets:")
  for line in train_benchmark.verdicts(rows, inputs, peaks, quick,
                                       bool(gpus)):
    print("  " + line)


def main(argv):
  del argv
  logging.set_verbosity(logging.ERROR)
  if _WHAT.value == "export":
    export_main()
    return
  if _WHAT.value == "train":
    train_main()
    return
  if _WHAT.value == "train_preset":
    train_preset_main()
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
