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

from absl import logging
from absl import flags
import tensorflow as tf

from dcign_tf import cli
from dcign_tf import export_benchmark
from dcign_tf import render_benchmark
from dcign_tf import train_benchmark
from dcign_tf.data import faces_dataset

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
_MATMUL_SIZE = flags.DEFINE_integer(
    "matmul_size", train_benchmark.MATMUL_SIZE, "--what=train: side of the "
    "square matmul the steps' FLOP rate is compared with (smaller ones run "
    "below the machine's peak).")
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
  for row in train_benchmark.preset_rows(preset, _VARIANTS.value,
                                         _STEPS.value, _MATMUL_SECONDS.value,
                                         _MATMUL_SIZE.value):
    print("ROW " + json.dumps(row), flush=True)
  print("INPUT " + json.dumps({"preset": preset, "images_per_s":
                               train_benchmark.input_rate(
                                   preset, _SECONDS.value)}), flush=True)


def train_main():
  train_benchmark.check_request(_PRESETS.value, _VARIANTS.value, _STEPS.value,
                                _QUICK_STEPS.value, _MATMUL_SIZE.value)
  gpus = tf.config.list_physical_devices("GPU")
  device = (f"{len(gpus)} GPU(s), measured on the first" if gpus else
            f"CPU only ({os.cpu_count()} cores)")
  print(f"dcign_tf training benchmark: {device}. One group of "
        f"{train_benchmark.GROUP_SIZE} images per step on a batch in "
        "memory; FLOPs counted from the layers (forward, weight and input "
        "gradients).", flush=True)
  print(train_benchmark.table_header(_MATMUL_SIZE.value), flush=True)
  rows, inputs, peaks = [], {}, {}
  environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
      [os.getcwd(), os.environ.get("PYTHONPATH", "")])}

  def show(line):
    if line.startswith("ROW "):
      row = json.loads(line[4:])
      rows.append(row)
      print(train_benchmark.format_row(row), flush=True)
    elif line.startswith("INPUT "):
      value = json.loads(line[6:])
      inputs[value["preset"]] = value["images_per_s"]

  for preset in _PRESETS.value:
    status, _, peaks[preset] = train_benchmark.peak_tree_rss(
        [sys.executable, "-m", "trainers.benchmark", "--what=train_preset",
         f"--presets={preset}", f"--variants={','.join(_VARIANTS.value)}",
         f"--steps={_STEPS.value}", f"--seconds={_SECONDS.value}",
         f"--matmul_seconds={_MATMUL_SECONDS.value}",
         f"--matmul_size={_MATMUL_SIZE.value}"],
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
  quick = (train_benchmark.quick_run_peak(_QUICK_STEPS.value, environment)
           if _QUICK_STEPS.value else None)
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
    render = render_benchmark.render_rate(size, _SECONDS.value)
    mix = render_benchmark.group_rate(size, _SECONDS.value)
    prepare = projected = float("nan")
    if _PREPARE_GROUPS.value > 0:
      prepare = render_benchmark.prepare_rate(size, _PREPARE_GROUPS.value, cores) / cores
      projected = render_benchmark.PAPER_IMAGES / (16 * prepare) / 60
    print(f"{size:>4}px {render:>10.1f} {mix:>10.1f} {prepare:>10.1f} "
          f"{projected:>20.1f} min", flush=True)


if __name__ == "__main__":
  cli.run(main)
