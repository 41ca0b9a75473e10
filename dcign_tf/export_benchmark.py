"""Export speed and size figures behind `trainers.benchmark --what=export`.

For each image size (64 px: the `small` network with 32 latents, as
faces_quick.flags; 150 px: the `paper` network with 200 latents) an
untrained model is exported (latency and size do not depend on the weight
values) and each model is timed:
  * the SavedModel's serving_default in a fresh process whose TensorFlow
    runs on 1 or 2 intra-op threads;
  * its TFLite conversions (float32, float16, dynamic, int8) under
    ai_edge_litert's interpreter on 1 or 2 threads;
at batch 1 and 32, as milliseconds per image (median call time / batch).
"""

import dataclasses
import multiprocessing
import os
import tempfile
import time

import numpy as np

from dcign_tf import configs
from dcign_tf import model as model_lib
from dcign_tf import serving
from dcign_tf import tflite
from dcign_tf.data import groups

PRESETS = {64: ("small", 32), 150: ("paper", 200)}
BATCHES = (1, 32)
THREADS = (1, 2)


@dataclasses.dataclass
class Row:
  size: int
  model: str
  runtime: str
  threads: int
  ms_per_image: dict  # batch -> ms
  bytes: int


def network_for(image_size: int) -> configs.NetworkConfig:
  name, latents = PRESETS.get(image_size, ("small", 32))
  return configs.preset(name, image_size=image_size, latent_size=latents)


def _timed_ms(call, seconds: float, minimum_calls: int = 3) -> float:
  """Median milliseconds per call after two warm-up calls."""
  call()
  call()
  times, start = [], time.perf_counter()
  while len(times) < minimum_calls or time.perf_counter() - start < seconds:
    begin = time.perf_counter()
    call()
    times.append(time.perf_counter() - begin)
  return 1000.0 * float(np.median(times))


def inputs_for(name: str, network, batch: int, seed: int = 0) -> np.ndarray:
  rng = np.random.default_rng(seed)
  if name == serving.ENCODER:
    return rng.uniform(size=(batch, network.image_size, network.image_size,
                             network.channels)).astype(np.float32)
  return rng.standard_normal((batch, network.latent_size)).astype(np.float32)


def _saved_model_worker(path, name, network_dict, threads, seconds):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  network = configs.as_network(network_dict)
  signature = tf.saved_model.load(path).signatures["serving_default"]
  key = "images" if name == serving.ENCODER else "latents"
  result = {}
  for batch in BATCHES:
    data = tf.constant(inputs_for(name, network, batch))
    result[batch] = _timed_ms(lambda: signature(**{key: data}),
                              seconds) / batch
  return result


def saved_model_latency(path: str, name: str, network, threads: int,
                        seconds: float) -> dict:
  """{batch: ms per image} of a SavedModel in a fresh process whose
  TensorFlow uses `threads` intra-op threads (set before it starts)."""
  with multiprocessing.get_context("spawn").Pool(1) as pool:
    return pool.apply(_saved_model_worker, (path, name, network.to_dict(),
                                            threads, seconds))


def tflite_latency(content: bytes, name: str, network, threads: int,
                   seconds: float) -> dict:
  runner = tflite.Runner(content, num_threads=threads)
  result = {}
  for batch in BATCHES:
    data = inputs_for(name, network, batch)
    result[batch] = _timed_ms(lambda: runner(data), seconds) / batch
  return result


def directory_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(root, f))
             for root, _, files in os.walk(path) for f in files)


def representative(name: str, network, count: int = 32):
  """int8 calibration inputs: renders for the encoder, prior samples for
  the decoder (the benchmark's model is untrained)."""
  if name == serving.ENCODER:
    source = groups.GroupSource(image_size=network.image_size,
                                group_size=count)
    images = source.example(("train", 3, 0))["images"].astype(
        np.float32) / 255.0
    return lambda: (images[i:i + 1] for i in range(count))
  latents = inputs_for(name, network, count, seed=1)
  return lambda: (latents[i:i + 1] for i in range(count))


def measure(image_size: int, seconds: float = 1.0, progress=print) -> list:
  """Rows for one image size: SavedModel and each TFLite variant, for the
  encoder and the decoder, at 1 and 2 threads."""
  network = network_for(image_size)
  model = model_lib.DCIGN(network, seed=0).build_for_images()
  rows = []
  with tempfile.TemporaryDirectory() as root:
    for name, module in ((serving.DECODER, serving.DecoderModule(model)),
                         (serving.ENCODER, serving.EncoderModule(model))):
      path = serving.export_version(module, module.signatures(),
                                    os.path.join(root, name))
      size = directory_bytes(os.path.join(path, "variables"))
      for threads in THREADS:
        rows.append(Row(image_size, name, "SavedModel", threads,
                        saved_model_latency(path, name, network, threads,
                                            seconds), size))
        progress(rows[-1])
      for quantize in tflite.QUANTIZATIONS:
        content = tflite.convert(
            path, quantize, representative(name, network)
            if quantize == "int8" else None)
        label = "TFLite " + ("float32" if quantize == "none" else quantize)
        for threads in THREADS:
          rows.append(Row(image_size, name, label, threads,
                          tflite_latency(content, name, network, threads,
                                         seconds), len(content)))
          progress(rows[-1])
  return rows


def format_row(row: Row, float32_bytes: int = 0) -> str:
  share = (f"{100.0 * row.bytes / float32_bytes:5.0f}%"
           if float32_bytes and row.runtime.startswith("TFLite") else "")
  return (f"{row.size:>4}px {row.model:<8} {row.runtime:<15} {row.threads:>3}"
          f" {row.ms_per_image[1]:>10.2f} {row.ms_per_image[32]:>10.2f}"
          f" {row.bytes / 1024:>10.0f} {share:>6}")


HEADER = (f"{'size':>6} {'model':<8} {'runtime':<15} {'thr':>3}"
          f" {'b1 ms/img':>10} {'b32 ms/img':>10} {'KiB':>10} {'of f32':>6}")


def verdicts(rows: list) -> list:
  """The export targets, one line each, for every size measured."""
  lines = []
  for size in sorted({row.size for row in rows}):
    pick = {(r.model, r.runtime, r.threads): r for r in rows
            if r.size == size}
    for threads in THREADS:
      lite = pick[(serving.DECODER, "TFLite float32", threads)]
      saved = pick[(serving.DECODER, "SavedModel", threads)]
      ratio = lite.ms_per_image[1] / saved.ms_per_image[1]
      lines.append(f"{size}px decoder b1, {threads} thread(s): TFLite float32 "
                   f"{lite.ms_per_image[1]:.2f} ms vs SavedModel "
                   f"{saved.ms_per_image[1]:.2f} ms ({ratio:.2f}x; target "
                   f"<= 1) {'PASS' if ratio <= 1.0 else 'MISS'}")
    for name in (serving.DECODER, serving.ENCODER):
      base = pick[(name, "TFLite float32", 1)].bytes
      for runtime, target in (("TFLite float16", 0.55),
                              ("TFLite int8", 0.30)):
        share = pick[(name, runtime, 1)].bytes / base
        lines.append(f"{size}px {name} {runtime} file: {100 * share:.0f}% of "
                     f"float32 (target <= {100 * target:.0f}%) "
                     f"{'PASS' if share <= target else 'MISS'}")
  return lines
