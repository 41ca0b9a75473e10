"""The task: what every binary needs of a run, given its `TrainConfig`.

Build the model, restore a trained one from its model dir, build the
training and evaluation inputs of its data source, and score it. The
binaries in trainers/ and export/ reach models and data only through
here; what differs between data sources is each source's own class
(`dcign_tf.data_sources`).
"""

import dataclasses
import json
import os
from typing import Optional

import numpy as np
import tensorflow as tf
import tqdm

from dcign_tf import configs
from dcign_tf import data_sources
from dcign_tf import distribution
from dcign_tf import evaluation
from dcign_tf import faces_evaluation
from dcign_tf import model as model_lib
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import optimizers
from dcign_tf import precision
from dcign_tf import train_config as train_config_lib
from dcign_tf.data import factors
from dcign_tf.data import pipeline
from dcign_tf.data import render_pool

TrainConfig = train_config_lib.TrainConfig


def strategy(name: str = "auto"):
  """The tf.distribute strategy `name` (see dcign_tf.distribution)."""
  return distribution.make_strategy(name)


def data_source(config: TrainConfig) -> data_sources.DataSource:
  """The run's data source (`dcign_tf.data_sources`); nothing read yet."""
  return data_sources.source_for(config)


def train_dataset(config: TrainConfig, first_step: int = 0,
                  sharding: pipeline.Sharding = pipeline.Sharding(),
                  source: Optional[data_sources.DataSource] = None):
  """Grouped training batches from `first_step` on: batch n is the same
  whether a run started at 0 or resumed at n (so a resumed run trains on
  what an uninterrupted one would). Each element is one replica's share
  of the global batch (see `pipeline.Sharding`)."""
  return (source or data_source(config)).train_dataset(first_step, sharding)


def evaluation_groups(config: TrainConfig,
                      source: Optional[data_sources.DataSource] = None
                      ) -> dict:
  """Test groups as NumPy arrays: images [M, S, S, C] float, group_type [M],
  group_id [M] and the true factors [M], `eval_groups_per_type` per type."""
  return (source or data_source(config)).evaluation_groups(
      config.eval_groups_per_type, config.seed)


def evaluation_sizes(config: TrainConfig) -> faces_evaluation.EvaluationSizes:
  """The final evaluation's sizes: calibration and retrieval groups scale
  with the test groups; the grid and metric samples are the config's.

  Retrieval uses as many groups as the test: its trials come 3 - 4 to a
  group and share the group's faces and view, so on 10 groups the
  headline's standard error was about 0.03 (a 0.9 target cannot be read
  off it); 40 halve it."""
  return faces_evaluation.EvaluationSizes(
      eval_groups_per_type=config.eval_groups_per_type,
      calibration_groups_per_type=config.eval_groups_per_type,
      retrieval_groups=config.eval_groups_per_type,
      grid_identities=config.grid_identities, grid_bins=config.grid_bins,
      metric_train=config.metric_samples,
      metric_test=max(1, config.metric_samples // 2),
      variance_estimate=config.metric_samples, seed=config.seed,
      metrics=faces_evaluation.TRAINER_METRICS)


def faces_evaluation_data(config: TrainConfig, test: dict) -> dict:
  """`faces_evaluation.render_data` at the trainer's sizes, reusing the
  test groups already rendered."""
  sizes = dataclasses.replace(evaluation_sizes(config),
                              eval_groups_per_type=0)
  source = data_sources.source_for(config)
  with tqdm.tqdm(total=faces_evaluation.render_tasks(sizes),
                 desc="rendering evaluation data", unit="task",
                 disable=None) as bar:
    with render_pool.worker_pool(config.workers or None) as pool:
      data = faces_evaluation.render_data(source.group_source(), sizes, pool,
                                          bar.update)
  data["test"] = test
  return data


def encode_all(model, images, batch_size=256) -> np.ndarray:
  return np.concatenate([
      model.encode(images[i:i + batch_size]).mean().numpy()
      for i in range(0, len(images), batch_size)])


def evaluate(model, config: TrainConfig, data: dict) -> dict:
  """Test reconstruction MSE and, per extrinsic factor, the latent that
  carries it with its Spearman correlation and binned R^2 (scored on the
  circle for factors that wrap, such as a chair's azimuth)."""
  # Direct calls, not model.predict: under MultiWorkerMirroredStrategy
  # predict would wait for the other workers, which do not evaluate.
  reconstructions = np.concatenate([
      model(data["images"][i:i + 256]).numpy()
      for i in range(0, len(data["images"]), 256)])
  mse = float(np.mean((reconstructions - data["images"]) ** 2))
  codes = encode_all(model, data["images"])
  designated = (model.factor_latents
                if config.training in model_lib.DESIGNATED_MODES else None)
  scores = evaluation.factor_scores(
      codes, data["group_type"], data["group_id"],
      {name: data[name] for name in factors.FACTORS if name in data},
      designated,
      circular_periods=data_sources.source_for(config).circular_slots())
  return {"test_mse_per_pixel": mse, "factors": scores,
          "test_images": int(len(codes))}, codes


def build_model(config: TrainConfig, network: configs.NetworkConfig,
                checkpoint_dir: Optional[str] = None):
  """The model with every variable created, its tf.train.Checkpoint and
  CheckpointManager over `checkpoint_dir` (default model_dir/checkpoints).
  Call inside a strategy scope."""
  policy = precision.check_supported(
      config.mixed_precision, len(tf.config.list_physical_devices("GPU")))
  with precision.policy_scope(policy):
    model = model_lib.DCIGN(network, training=config.training,
                            factor_latents=train_config_lib.factor_latents(
                                config),
                            invariance_scale=config.invariance_scale,
                            beta=config.beta,
                            likelihood=config.likelihood,
                            clamp_gradient=config.clamp_gradient,
                            clamp_target=config.clamp_target,
                            invariance_spread_scale=(
                                config.invariance_spread_scale),
                            pixel_stddev=config.pixel_stddev,
                            kl_warmup_steps=config.kl_warmup_steps,
                            mirror_odd_factors=config.mirror_odd_factors,
                            decoder_phases=config.decoder_phases,
                            seed=config.seed)
    # Keras wraps the optimizer in a LossScaleOptimizer under mixed_float16.
    model.compile(optimizer=optimizers.make_optimizer(
        config.optimizer, optimizers.learning_rate_schedule(
            config.learning_rate, config.learning_rate_schedule,
            config.train_steps)))
    model.build_for_images()
  model.optimizer.build(model.trainable_variables)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  manager = tf.train.CheckpointManager(
      checkpoint,
      checkpoint_dir or model_dir_lib.checkpoint_directory(config.model_dir),
      max_to_keep=3)
  return model, checkpoint, manager


def load_trained(model_dir: str):
  """(config, model) of a trained model dir, from its latest checkpoint.

  Raises ValueError when the dir has no config or checkpoint, or when its
  checkpoint does not fit the architecture its config describes.
  """
  config = model_dir_lib.read_config(model_dir)
  network = train_config_lib.validate(config)
  path = os.path.join(model_dir, model_dir_lib.ARCHITECTURE_FILE)
  if os.path.exists(path):
    with open(path) as stream:
      recorded = json.load(stream)
    if recorded != model_dir_lib.architecture(config, network):
      raise ValueError(f"--model_dir={model_dir}: its "
                       f"{model_dir_lib.ARCHITECTURE_FILE} "
                       f"does not match its {model_dir_lib.CONFIG_FILE}.")
  # Evaluation and export run in float32 whatever the training precision.
  # A model dir may have been moved or copied since it was trained: its
  # checkpoints are where it is now, not where its config.json says.
  config = dataclasses.replace(config, mixed_precision="none",
                               model_dir=model_dir)
  with strategy().scope():
    model, checkpoint, manager = build_model(config, network)
    if not manager.latest_checkpoint:
      raise ValueError(f"--model_dir={model_dir} holds no checkpoint; train "
                       "it first with trainers.train.")
    try:
      checkpoint.restore(manager.latest_checkpoint
                         ).assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as error:
      first_line = str(error).strip().splitlines()[0]
      raise ValueError(
          f"The checkpoint {manager.latest_checkpoint} does not fit the "
          f"architecture in {model_dir}/{model_dir_lib.CONFIG_FILE}: "
          f"{first_line}") from None
  return config, model
