"""The training job behind `python -m trainers.train`: `run(config)`.

It validates everything, builds the data and the model inside a
tf.distribute strategy scope, trains with a custom loop (resuming from the
last checkpoint in the model dir), and writes TensorBoard summaries, latent
sweep sheets and metrics.json.
"""

import math
import os
import shutil
import signal
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from dcign_tf import atomic_files
from dcign_tf import collapse
from dcign_tf import distribution
from dcign_tf import evaluation
from dcign_tf import faces_evaluation
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import precision
from dcign_tf import run_time
from dcign_tf import sweeps
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf import training
from dcign_tf import xla


class SigtermFlag:
  """Pre-emption: while installed, SIGTERM only sets `raised`; the loop
  saves a checkpoint between steps (so it is consistent) and stops."""

  def __init__(self):
    self.raised = False
    self._previous = None

  def _handle(self, signum, frame):
    del signum, frame
    self.raised = True

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc_info):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None


def write_image_summaries(writer, model, images, sweep_latent, step: int):
  """TensorBoard images: inputs, reconstructions and a z_azimuth sweep."""
  reconstructions = model(images).numpy()
  loc = model.encode(images[:1]).mean().numpy()
  codes = evaluation.latent_sweep_codes(loc, sweep_latent,
                                        np.linspace(-2.0, 2.0, 9))
  sweep = model.decode(codes).numpy()
  with writer.as_default():
    tf.summary.image("inputs", images, step=step, max_outputs=8)
    tf.summary.image("reconstructions", reconstructions, step=step,
                     max_outputs=8)
    tf.summary.image("sweep_z_azimuth", np.concatenate(list(sweep), 1)[None],
                     step=step)
  writer.flush()


def reconstruction_spread(model, images) -> float:
  """`collapse.reconstruction_spread` of the model on `images`, or NaN
  where the images do not differ (nothing to tell a collapse by)."""
  try:
    return collapse.reconstruction_spread(images, model(images).numpy())
  except ValueError:
    return float("nan")


def warn_if_collapsed(spread: float, step: int, learning_rate: float) -> bool:
  """Prints `collapse.collapse_warning` when there is one; True if so."""
  warning = collapse.collapse_warning(spread, step, learning_rate)
  if warning:
    print(warning, flush=True)
  return bool(warning)


class TrainingPreempted(RuntimeError):
  """SIGTERM stopped training after saving a checkpoint."""


class TrainingDiverged(RuntimeError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""



class Worker:
  """This process's place in a (multi-worker) run: whether it is the chief,
  which alone writes checkpoints, summaries, sheets, metrics and exports."""

  def __init__(self, strategy_name: str, environ=os.environ):
    self.cluster = (distribution.parse_tf_config(
        environ.get(distribution.TF_CONFIG))
                    if strategy_name == "multi_worker" else None)
    self.is_chief = distribution.is_chief(self.cluster)

  def checkpoint_dir(self, model_dir: str) -> str:
    """Where this worker saves: the model dir's for the chief; a scratch
    dir for the others, which must take part in every save (a save of
    mirrored variables is a collective operation) and delete it after."""
    if self.is_chief:
      return model_dir_lib.checkpoint_directory(model_dir)
    return tempfile.mkdtemp(prefix="dcign_tf-worker-checkpoint-")


def run(config: train_config_lib.TrainConfig, verbose: int = 1,
        step_hooks=(), allow_data_change: bool = False) -> dict:
  """Trains (or resumes) and evaluates; returns the metrics it wrote.

  Every strategy runs the same custom loop (`training.StepRunner`; Keras
  `fit` fails under MultiWorkerMirroredStrategy). Every `checkpoint_every`
  steps the chief saves weights, optimizer and step; the data stream and
  the posterior noise are functions of the step, so a run killed anywhere
  and rerun ends with the weights of an uninterrupted one. `step_hooks`
  are called with each finished step's number (for tests and tools).
  Non-chief workers of a multi-worker run return {"steps": ...} only.

  Nothing is written before every setting and the model dir have been
  checked: a refused run leaves the model dir as it was. A model dir with
  checkpoints resumes only on the data it was trained on, unless
  `allow_data_change`.
  """
  network = train_config_lib.validate(config)
  worker = Worker(config.strategy)
  # A labelled source is read (and its groups checked) here, before
  # anything is written.
  source = task.data_source(config)
  description = source.describe()
  if description:
    print(description, flush=True)
  # The devices decide whether the global batch splits into whole groups:
  # checked before anything is written.
  run_strategy = task.strategy(config.strategy)
  replicas = run_strategy.num_replicas_in_sync
  distribution.check_groups_per_replica(config.groups_per_batch, replicas)
  on_gpu = bool(tf.config.list_physical_devices("GPU"))
  if config.jit_compile is True and replicas > 1 and not on_gpu:
    raise ValueError(f"--jit_compile with {replicas} CPU replicas: XLA cannot "
                     "place one replica's variables on another CPU device; "
                     "use one device on a CPU, or GPUs.")
  cpu_flags = precision.cpu_flags()
  jit_compile = xla.use_xla(config.jit_compile, on_gpu, replicas, cpu_flags)
  model_dir_lib.check_before_training(config, network, allow_data_change)
  if worker.is_chief:
    # The latest run's settings, for trainers.evaluate and the exports.
    model_dir_lib.record_run(config, network)
    model_dir_lib.remove_unfinished_checkpoints(
        model_dir_lib.checkpoint_directory(config.model_dir))
  start = time.time()
  keras.utils.set_random_seed(config.seed)
  save_dir = worker.checkpoint_dir(config.model_dir)
  with run_strategy.scope():
    model, checkpoint, manager = task.build_model(config, network, save_dir)
    if worker.is_chief:
      restored = model_dir_lib.restore_latest(checkpoint, manager)
    else:  # Resume from the chief's checkpoints (a shared file system).
      restored = model_dir_lib.restore_latest(
          checkpoint, tf.train.CheckpointManager(
              checkpoint, model_dir_lib.checkpoint_directory(config.model_dir),
              max_to_keep=3))
  done_steps = int(model.optimizer.iterations.numpy())
  if restored:
    print(f"Resuming from {restored} at step {done_steps}.", flush=True)

  data = task.evaluation_groups(config, source) if worker.is_chief else None
  preempted_at = diverged_at = None
  check_images = (collapse.check_images(data["images"]) if worker.is_chief
                  else None)
  collapse_warned = False
  if done_steps < config.train_steps:
    dataset = run_strategy.distribute_datasets_from_function(
        lambda context: task.train_dataset(config, done_steps,
                                      training.input_sharding(context),
                                      source))
    xla_choice = xla.describe(config.jit_compile, jit_compile)
    if verbose and xla_choice:
      print(xla_choice, flush=True)
    runner = training.StepRunner(model, run_strategy, jit_compile)
    log_dir = os.path.join(config.model_dir, "logs")
    if worker.is_chief:
      train_writer = tf.summary.create_file_writer(os.path.join(log_dir,
                                                                "train"))
      image_writer = tf.summary.create_file_writer(os.path.join(log_dir,
                                                                "images"))
    else:
      train_writer = image_writer = tf.summary.create_noop_writer()
    log_every = max(1, config.checkpoint_every // 10)
    sums, count = {}, 0
    progress = None
    iterator = iter(dataset)
    timer = run_time.StepTimer(
        done_steps, config.train_steps,
        say=print if verbose else (lambda *args, **kwargs: None),
        long_run_hint=run_time.long_run_hint(
            config.network, config.image_size, jit_compile, on_gpu,
            cpu_flags))
    with SigtermFlag() as sigterm:
      for step in range(done_steps + 1, config.train_steps + 1):
        if progress is None and verbose:
          epoch_end = min(config.train_steps,
                          -(-step // config.checkpoint_every) *
                          config.checkpoint_every)
          print(f"Steps {step}-{epoch_end} of {config.train_steps}",
                flush=True)
          progress = keras.utils.Progbar(epoch_end - step + 1,
                                         stateful_metrics=list(
                                             model.trackers))
        values = runner(iterator, 1.0 if sigterm.raised else 0.0)
        values = {name: float(value) for name, value in values.items()}
        stop = values.pop("stop") > 0
        if not math.isfinite(values["loss"]):
          diverged_at = step
          break
        count += 1
        for name, value in values.items():
          sums[name] = sums.get(name, 0.0) + value
        if progress is not None:
          progress.add(1, [(name, sums[name] / count) for name in values])
        if step % log_every == 0:
          with train_writer.as_default():
            for name in values:
              tf.summary.scalar(name, sums[name] / count, step=step)
          sums, count = {}, 0
        timer.step_done(step)
        for hook in step_hooks:
          hook(step)
        if stop or step % config.checkpoint_every == 0:
          # Numbered by step, so a pre-emption checkpoint fits in the
          # sequence. Every worker saves (the non-chiefs to scratch).
          manager.save(checkpoint_number=step)
          if not worker.is_chief:
            shutil.rmtree(save_dir, ignore_errors=True)
          progress = None
          if stop:
            preempted_at = step
            break
          if worker.is_chief:
            write_image_summaries(image_writer, model, data["images"][:8],
                                  model.factor_latents["azimuth"][0], step)
            if step >= collapse.CHECK_FROM_STEP and not collapse_warned:
              collapse_warned = warn_if_collapsed(
                  reconstruction_spread(model, check_images), step,
                  config.learning_rate)
    train_writer.flush()
  if preempted_at is not None:
    saved = model_dir_lib.checkpoint_directory(config.model_dir)
    raise TrainingPreempted(
        f"Stopped by SIGTERM at step {preempted_at}; saved "
        f"{saved}/ckpt-{preempted_at}. Rerun the same command to resume.")
  if diverged_at is not None:
    kept = (f"the last good checkpoint is {manager.latest_checkpoint}"
            if manager.latest_checkpoint and worker.is_chief
            else "no checkpoint was written")
    raise TrainingDiverged(
        f"The loss became NaN or Inf at step {diverged_at}; training "
        f"stopped and {kept}.")
  steps = int(model.optimizer.iterations.numpy())
  if not worker.is_chief:
    return {"steps": steps}
  if source.rendered:
    print("Evaluating: novel views, identity retrieval, foreground quality "
          "and disentanglement on the factor grid.", flush=True)
    result = faces_evaluation.evaluate_model(
        "model", config.model_dir, config, model,
        task.faces_evaluation_data(config, data),
        task.evaluation_sizes(config),
        stage=lambda description: print(f"  {description}", flush=True))
    metrics, codes = result["metrics"], result["codes"]
    calibrations = result["calibrations"]
    metrics["test_images"] = int(len(codes))
  else:
    metrics, codes = task.evaluate(model, config, data)
    calibrations = None
  spread = reconstruction_spread(model, check_images)
  metrics.update(training=config.training, steps=steps,
                 wall_time_s=round(time.time() - start, 1),
                 reconstruction_spread=(round(spread, 4) if math.isfinite(spread)
                                        else None))
  if steps >= collapse.CHECK_FROM_STEP and not collapse_warned:
    warn_if_collapsed(spread, steps, config.learning_rate)
  metrics["sweeps"] = sweeps.write_sweeps(model, config, data, codes,
                                          metrics["factors"], calibrations)
  names = source.display_names()
  metrics["factors"] = {names[slot]: score
                        for slot, score in metrics["factors"].items()}
  metrics["dataset"] = config.dataset
  atomic_files.write_json_atomically(
      os.path.join(config.model_dir, model_dir_lib.METRICS_FILE), metrics)
  return metrics
