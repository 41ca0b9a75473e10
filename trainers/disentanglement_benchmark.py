r"""Trains DC-IGN and the weak-supervision baselines on the same groups and
tabulates their scores (dcign_tf.method_benchmark).

  python -m trainers.disentanglement_benchmark --benchmark_dir=outputs/methods

writes BENCHMARK_DIR/tables.md (one table per dataset: methods x MIG, DCI-D,
SAP, FactorVAE, test MSE, novel-view MSE, mean ± std over the seeds) and
results.json; finished runs are kept and reused by a rerun.
"""

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import method_benchmark

_DEFAULTS = method_benchmark.BenchmarkConfig(output_dir="")
# The flag names differ from the other binaries' (several binaries live in
# one process in the tests, and absl refuses a flag defined twice).
_OUTPUT_DIR = flags.DEFINE_string("benchmark_dir", "outputs/methods",
                                  "Where the runs, tables.md and "
                                  "results.json go.")
_DATASETS = flags.DEFINE_list("datasets", list(_DEFAULTS.datasets),
                              "Datasets: faces, sprites, objects.")
_METHODS = flags.DEFINE_list(
    "methods", list(_DEFAULTS.methods),
    f"Methods: {', '.join(method_benchmark.METHODS)}.")
_SEEDS = flags.DEFINE_list("seeds", [str(s) for s in _DEFAULTS.seeds],
                           "Seeds of every (dataset, method).")
_STEPS = flags.DEFINE_integer("run_steps", _DEFAULTS.train_steps,
                              "Training steps of every run.")
_IMAGE_SIZE = flags.DEFINE_integer("run_image_size", _DEFAULTS.image_size,
                                   "Image size of every dataset.")
_METRIC_TRAIN = flags.DEFINE_integer(
    "metric_points", _DEFAULTS.metric_train,
    "Training points of each disentanglement metric (half as many test).")


def main(argv):
  del argv
  logging.set_verbosity(logging.ERROR)
  try:
    seeds = tuple(int(s) for s in _SEEDS.value)
  except ValueError:
    raise ValueError(f"--seeds={','.join(_SEEDS.value)} must be whole "
                     "numbers.") from None
  config = method_benchmark.BenchmarkConfig(
      output_dir=_OUTPUT_DIR.value, datasets=tuple(_DATASETS.value),
      methods=tuple(_METHODS.value), seeds=seeds,
      train_steps=_STEPS.value, image_size=_IMAGE_SIZE.value,
      metric_train=_METRIC_TRAIN.value,
      metric_test=max(1, _METRIC_TRAIN.value // 2))
  method_benchmark.run(config, say=lambda line: print(line, flush=True))
  with open(f"{config.output_dir}/tables.md") as stream:
    print(stream.read())


if __name__ == "__main__":
  cli.run(main)
