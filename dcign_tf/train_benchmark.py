"""Training speed and memory figures behind `trainers.benchmark --what=train`.

For each preset (`paper`: the paper's network at 150 px, 200 latents;
`small`: faces_quick.flags' network at 64 px, 32 latents; one group of 20
images per step as both flagfiles train) and each variant (float32, XLA,
bfloat16, bfloat16 + XLA) it measures, on one device:

  * ms per training step and images per second, on a fixed batch already
    in memory (the step alone);
  * the achieved FLOP rate: the step's FLOPs counted from the layer shapes
    (`training_flops_per_image`) over the step time;
  * the FLOP rate of a large matmul in the same number type on the same
    device, measured in the same run, and the step's share of it;
  * the input pipeline's images per second alone: a small prepared
    `dcign_faces` build at the preset's size read through
    `pipeline.prepared_dataset`, as training reads it;
  * the peak resident memory of the process tree (`peak_tree_rss`).
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

import keras
import numpy as np
import tensorflow as tf

from dcign_tf import configs
from dcign_tf import flops
from dcign_tf import precision
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf import training
from dcign_tf.data import faces_dataset
from dcign_tf.data import pipeline

PRESETS = {
    "paper": dict(network="paper", image_size=150, latent_size=200),
    "small": dict(network="small", image_size=64, latent_size=32),
    # For smoke tests of the benchmark itself.
    "tiny": dict(network="small", image_size=32, latent_size=6),
}
GROUP_SIZE = 20
# name -> (mixed_precision, jit_compile, decoder_phases). "-direct": the
# decoder upsamples, then convolves, as the paper computes it.
VARIANTS = {"float32": ("none", False, True), "xla": ("none", True, True),
            "bfloat16": ("bfloat16", False, True),
            "bfloat16+xla": ("bfloat16", True, True),
            "float32-direct": ("none", False, False),
            "bfloat16-direct": ("bfloat16", False, False)}
MATMUL_SIZE = 4096
# The speed targets the benchmark is held to.
CPU_MATMUL_SHARE = 0.80
QUICK_RSS_BYTES = 4 * 2**30
PAPER_RSS_BYTES = 10 * 2**30


def network_for(preset: str) -> configs.NetworkConfig:
  values = PRESETS[preset]
  return configs.preset(values["network"], image_size=values["image_size"],
                        latent_size=values["latent_size"])


def first_layer_flops(network: configs.NetworkConfig) -> float:
  size = network.image_size
  kernel = network.encoder_kernels[0]
  out = size - (kernel - 1 if network.padding == "valid" else 0)
  return 2.0 * out * out * kernel * kernel * network.channels * (
      network.encoder_filters[0])


def training_flops_per_image(network: configs.NetworkConfig,
                             phases: bool = True) -> float:
  """FLOPs of one image's training step: the forward pass, the gradient
  with respect to every layer's weights (as many again) and to every
  layer's input but the first (as many again, less the first layer's)."""
  return 3.0 * flops.forward_flops_per_image(network, phases) - (
      first_layer_flops(network))


def matmul_rate(dtype=tf.float32, size: int = MATMUL_SIZE,
                seconds: float = 3.0, clock=time.perf_counter) -> float:
  """FLOP/s of a size x size matmul (2 size^3 FLOPs) on the default device:
  its fastest call over `seconds`, the device's peak for the comparison
  (on a shared virtual machine the mean drifts with the neighbours'
  load: 335 to 411 GFLOP/s between two runs here)."""
  a = tf.random.normal([size, size], dtype=tf.float32)
  a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
  product = tf.function(lambda: tf.reduce_sum(tf.cast(
      tf.matmul(a, b)[:1, :1], tf.float32)))
  product().numpy()
  fastest, calls, start = float("inf"), 0, clock()
  while clock() - start < seconds or calls < 2:
    call_start = clock()
    product().numpy()
    fastest = min(fastest, clock() - call_start)
    calls += 1
  return 2.0 * size**3 / fastest


def _config(preset: str, variant: str, model_dir: str, **overrides):
  mixed, jit, phases = VARIANTS[variant]
  values = PRESETS[preset]
  return train_config_lib.TrainConfig(
      model_dir=model_dir, image_size=values["image_size"],
      network=values["network"], latent_size=values["latent_size"],
      group_size=GROUP_SIZE, groups_per_batch=1, mixed_precision=mixed,
      jit_compile=jit, decoder_phases=phases, strategy="one_device",
      **overrides)


def step_time(preset: str, variant: str, steps: int = 3,
              seed: int = 0) -> float:
  """Seconds per training step of `preset` on a fixed in-memory batch: the
  median of `steps` timed steps (the matmul it is compared with takes its
  fastest call, so the share errs low)."""
  with tempfile.TemporaryDirectory() as model_dir:
    config = _config(preset, variant, model_dir)
    network = train_config_lib.validate(config)
    strategy = tf.distribute.OneDeviceStrategy(
        "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0")
    keras.utils.set_random_seed(seed)
    with strategy.scope():
      model, _, _ = task.build_model(config, network)
    rng = np.random.default_rng(seed)
    size = network.image_size
    batch = {"images": tf.constant(rng.uniform(
        size=(1, GROUP_SIZE, size, size, 1)), tf.float32),
             "group_type": tf.constant([3], tf.int32)}
    iterator = iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(batch).repeat()))
    runner = training.StepRunner(model, strategy, config.jit_compile)
    for _ in range(2):  # Tracing, compilation, allocator warm-up.
      float(runner(iterator)["loss"])
    times = []
    for _ in range(steps):
      start = time.perf_counter()
      float(runner(iterator)["loss"])
      times.append(time.perf_counter() - start)
    return float(np.median(times))


def input_rate(preset: str, seconds: float = 5.0,
               groups_per_type: int = 4, workers: Optional[int] = None
               ) -> float:
  """Images/s of the prepared-data input pipeline alone at the preset's
  size (a small build, read endlessly and shuffled, as training reads it)."""
  values = PRESETS[preset]
  config = faces_dataset.make_config(
      image_size=values["image_size"], group_size=GROUP_SIZE,
      train_groups_per_type=groups_per_type, test_groups_per_type=1)
  with tempfile.TemporaryDirectory() as data_dir:
    builder = faces_dataset.builder(config, data_dir, num_workers=workers)
    builder.download_and_prepare()
    dataset = pipeline.prepared_dataset(builder, "train", "1:1:1:10",
                                        groups_per_batch=1, seed=0)
    iterator = iter(dataset)
    for _ in range(4):
      next(iterator)
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
      next(iterator)["images"].numpy()
      batches += 1
    return batches * GROUP_SIZE / (time.perf_counter() - start)


def _rss_of_tree(root: int) -> int:
  """Resident bytes of `root` and its descendants (Linux /proc)."""
  parents = {}
  for name in os.listdir("/proc"):
    if name.isdigit():
      try:
        with open(f"/proc/{name}/stat") as stream:
          fields = stream.read().rpartition(")")[2].split()
        parents[int(name)] = int(fields[1])
      except (OSError, IndexError, ValueError):
        continue
  tree, frontier = {root}, [root]
  while frontier:
    parent = frontier.pop()
    children = [pid for pid, ppid in parents.items() if ppid == parent]
    tree.update(children)
    frontier += children
  total = 0
  for pid in tree:
    try:
      with open(f"/proc/{pid}/status") as stream:
        for line in stream:
          if line.startswith("VmRSS:"):
            total += int(line.split()[1]) * 1024
    except OSError:
      continue
  return total


def peak_tree_rss(command, env=None, cwd=None, poll_seconds: float = 0.25,
                  on_line: Callable[[str], None] = lambda line: None):
  """Runs `command`; returns (exit status, stdout lines, peak resident bytes
  of its process tree, sampled every `poll_seconds`)."""
  process = subprocess.Popen(command, env=env, cwd=cwd,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, bufsize=1)
  lines, peak = [], 0

  def read():  # A thread, so that output is shown as it comes.
    for line in process.stdout:
      lines.append(line.rstrip("\n"))
      on_line(lines[-1])

  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  while process.poll() is None:
    peak = max(peak, _rss_of_tree(process.pid))
    time.sleep(poll_seconds)
  reader.join()
  return process.returncode, lines, peak


def verdicts(rows, inputs, peaks, quick_rss, on_gpu: bool):
  """One line per speed target, ending PASS, MISS or, where
  this machine cannot measure it, NOT MEASURED."""
  lines = []
  paper = [r for r in rows if r["preset"] == "paper"]
  if paper and not on_gpu:
    best = max(paper, key=lambda r: r["share"])
    lines.append(
        f"CPU: paper preset >= {CPU_MATMUL_SHARE:.0%} of the matmul FLOP "
        f"rate (same number type): best {best['share']:.0%} "
        f"({best['variant']}) "
        f"{'PASS' if best['share'] >= CPU_MATMUL_SHARE else 'MISS'}")
  if paper and on_gpu:
    best = max(paper, key=lambda r: r["images_per_s"])
    seconds = 12000 * GROUP_SIZE / best["images_per_s"]
    lines.append(f"GPU: 12,000 groups of 20 at 150 px in <= 60 s: "
                 f"{seconds:.0f} s ({best['variant']}) "
                 f"{'PASS' if seconds <= 60 else 'MISS'}")
  else:
    lines.append("GPU: 12,000 groups of 20 at 150 px in <= 60 s: no GPU "
                 "here, NOT MEASURED")
  for preset, rate in inputs.items():
    fastest = max(r["images_per_s"] for r in rows if r["preset"] == preset)
    lines.append(f"input pipeline >= 2x training ({preset}): "
                 f"{rate / fastest:.1f}x "
                 f"{'PASS' if rate >= 2 * fastest else 'MISS'}")
  if quick_rss is not None:
    lines.append(f"faces_quick.flags peak memory <= 4 GiB: "
                 f"{quick_rss / 2**30:.2f} GiB "
                 f"{'PASS' if quick_rss <= QUICK_RSS_BYTES else 'MISS'}")
  if "paper" in peaks and not on_gpu:
    lines.append(f"paper preset peak memory on CPU <= 10 GiB: "
                 f"{peaks['paper'] / 2**30:.2f} GiB "
                 f"{'PASS' if peaks['paper'] <= PAPER_RSS_BYTES else 'MISS'}")
  return lines


def preset_rows(preset: str, variants, steps: int,
                matmul_seconds: float, matmul_size: int = MATMUL_SIZE
                ) -> list:
  """One dict per variant of `preset`: ms per step, images/s, FLOPs per
  step and the peak matmul rate of the same number type, timed just before
  and just after the steps (on a shared virtual machine either rate drifts
  by tens of percent over a minute, so the faster counts)."""
  network = network_for(preset)
  rows = []
  for variant in variants:
    mixed, _, phases = VARIANTS[variant]
    flops = training_flops_per_image(network, phases)
    dtype = tf.bfloat16 if mixed == "bfloat16" else tf.float32
    before = matmul_rate(dtype, matmul_size, matmul_seconds)
    seconds = step_time(preset, variant, steps)
    after = matmul_rate(dtype, matmul_size, matmul_seconds)
    rows.append({"preset": preset, "variant": variant, "ms": 1000 * seconds,
                 "images_per_s": GROUP_SIZE / seconds,
                 "flops_per_step": flops * GROUP_SIZE,
                 "matmul_flops_per_s": max(before, after)})
  return rows


def table_header(matmul_size: int = MATMUL_SIZE) -> str:
  """The table's legend and column names."""
  return (
      f"Matmul: the peak GFLOP/s of a {matmul_size} x {matmul_size} matmul "
      "of the variant's number type, measured just before and after its "
      f"steps.\n{'preset':<7} {'variant':<15} {'ms/step':>9} "
      f"{'images/s':>9} {'GFLOP/step':>10} {'GFLOP/s':>8} {'matmul':>7} "
      f"{'% of matmul':>11}")


def format_row(row: dict) -> str:
  """One table line of a `preset_rows` row; adds its "share" of the
  matmul rate to the row."""
  rate = row["flops_per_step"] / (row["ms"] / 1000)
  reference = row["matmul_flops_per_s"]
  row["share"] = rate / reference
  return (f"{row['preset']:<7} {row['variant']:<15} {row['ms']:>9.1f} "
          f"{row['images_per_s']:>9.1f} {row['flops_per_step'] / 1e9:>10.1f}"
          f" {rate / 1e9:>8.1f} {reference / 1e9:>7.1f}"
          f" {100 * row['share']:>10.0f}%")


def check_request(presets, variants, steps: int, quick_steps: int,
                  matmul_size: int = MATMUL_SIZE):
  """Refuses unknown presets or variants, bfloat16 where the machine has
  none, and step counts or a matmul that measure nothing, before any
  work."""
  for preset in presets:
    if preset not in PRESETS:
      raise ValueError(f"Unknown preset {preset!r}; allowed: "
                       f"{', '.join(PRESETS)}.")
  for variant in variants:
    if variant not in VARIANTS:
      raise ValueError(f"Unknown variant {variant!r}; allowed: "
                       f"{', '.join(VARIANTS)}.")
  if any(v.startswith("bfloat16") for v in variants):
    precision.check_supported("bfloat16", len(
        tf.config.list_physical_devices("GPU")))
  if steps < 1 or quick_steps < 0:
    raise ValueError(f"--steps must be >= 1 and --quick_rss_steps >= 0, got "
                     f"{steps} and {quick_steps}.")
  if matmul_size < 1:
    raise ValueError(f"--matmul_size must be >= 1, got {matmul_size}.")


def quick_run_peak(steps: int, environment: dict) -> int:
  """Peak resident bytes of a `steps`-step faces_quick.flags run (with its
  evaluation), process tree."""
  with tempfile.TemporaryDirectory() as model_dir:
    status, _, peak = peak_tree_rss(
        [sys.executable, "-m", "trainers.train",
         "--flagfile=faces_quick.flags", f"--model_dir={model_dir}",
         f"--train_steps={steps}", f"--checkpoint_every={steps}",
         "--noexport"], env=environment)
  if status:
    raise RuntimeError(f"The faces_quick.flags run failed (exit {status}).")
  return peak
