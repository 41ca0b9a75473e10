"""What a model dir holds and how it is checked: the run's settings
(config.json), the architecture its checkpoints belong to, the checkpoints
themselves and the final metrics."""

import json
import os
import shutil
from typing import Optional

import tensorflow as tf

from dcign_tf import atomic_files
from dcign_tf import configs
from dcign_tf import train_config as train_config_lib

ARCHITECTURE_FILE = "architecture.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


# The settings that decide which images a run trains on. A resumed run
# that changes one would continue the old weights on other data.
DATA_SETTINGS = ("dataset", "dataset_path", "factor_names", "designated",
                 "object_azimuths", "object_elevations", "object_lights",
                 "object_up_axis", "channels", "group_size", "face_model",
                 "ranges", "data_seed")


def read_config(model_dir: str) -> train_config_lib.TrainConfig:
  """The settings a model dir was trained with (its config.json)."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    raise ValueError(f"--model_dir={model_dir} has no {CONFIG_FILE}: it was "
                     "not written by trainers.train.")
  try:
    with open(path) as stream:
      return train_config_lib.config_from_dict(json.load(stream))
  except (ValueError, TypeError, AttributeError) as error:
    # json.JSONDecodeError is a ValueError; a JSON list or a config of
    # another program fails in config_from_dict.
    first_line = str(error).strip().splitlines()[0] if str(error) else ""
    raise ValueError(f"--model_dir={model_dir}: its {CONFIG_FILE} is not a "
                     f"dcign_tf training config ({first_line}); choose "
                     "another model dir.") from None


def has_checkpoints(model_dir: str) -> bool:
  return tf.train.latest_checkpoint(checkpoint_directory(model_dir)) is not None


def data_differences(recorded: train_config_lib.TrainConfig,
                     asked: train_config_lib.TrainConfig) -> list:
  """'setting: recorded -> asked' for each data setting that differs."""
  recorded_values = train_config_lib.config_to_dict(recorded)
  asked_values = train_config_lib.config_to_dict(asked)
  return [f"{name}: {recorded_values[name]!r} in model_dir, "
          f"{asked_values[name]!r} asked"
          for name in DATA_SETTINGS
          if recorded_values[name] != asked_values[name]]


def check_before_training(config: train_config_lib.TrainConfig,
                          network: configs.NetworkConfig,
                          allow_data_change: bool = False):
  """Every check of the model dir a run makes, reading only: a path that
  is not a folder, a config.json of something else, checkpoints of another
  architecture, or (unless `allow_data_change`) checkpoints trained on
  other data. Raises ValueError naming each difference."""
  model_dir = config.model_dir
  if os.path.exists(model_dir) and not os.path.isdir(model_dir):
    raise ValueError(f"--model_dir={model_dir} is a file, not a folder; "
                     "choose a folder (it is created if missing).")
  if not os.path.isdir(model_dir):
    return
  check_architecture(config, network)
  if os.path.exists(os.path.join(model_dir, CONFIG_FILE)):
    recorded = read_config(model_dir)
    differences = data_differences(recorded, config)
    if differences and has_checkpoints(model_dir) and not allow_data_change:
      raise ValueError(
          f"--model_dir={model_dir} holds a model trained on other data "
          f"({'; '.join(differences)}); resuming would continue its weights "
          "on the new data. Use another model dir, the recorded settings, "
          "or --allow_data_change to do it on purpose.")


def record_run(config: train_config_lib.TrainConfig,
               network: configs.NetworkConfig):
  """After every check has passed: records the architecture (while no
  checkpoint binds it) and the run's settings."""
  os.makedirs(config.model_dir, exist_ok=True)
  if not has_checkpoints(config.model_dir):
    atomic_files.write_json_atomically(
        os.path.join(config.model_dir, ARCHITECTURE_FILE),
        architecture(config, network))
  write_config(config)


def write_config(config: train_config_lib.TrainConfig):
  """Records the latest run's settings, for evaluation and export."""
  atomic_files.write_json_atomically(
      os.path.join(config.model_dir, CONFIG_FILE),
      train_config_lib.config_to_dict(config))


def architecture(config: train_config_lib.TrainConfig,
                 network: configs.NetworkConfig) -> dict:
  values = {"network": network.to_dict(), "training": config.training,
            "factor_latents": {k: list(v) for k, v in
                               train_config_lib.factor_latents(config).items()}}
  if config.mirror_odd_factors:  # Older model dirs have no such key.
    values["mirror_odd_factors"] = list(config.mirror_odd_factors)
  return values


def check_architecture(config: train_config_lib.TrainConfig,
                    network: configs.NetworkConfig):
  """Refuses a model_dir whose checkpoints belong to another architecture
  (reads only). An architecture.json without checkpoints binds nothing."""
  wanted = architecture(config, network)
  path = os.path.join(config.model_dir, ARCHITECTURE_FILE)
  if os.path.exists(path) and has_checkpoints(config.model_dir):
    with open(path) as stream:
      found = json.load(stream)
    if found != wanted:
      differences = sorted(
          key for key in set(found) | set(wanted)
          if found.get(key) != wanted.get(key))
      detail = []
      for key in differences:
        if key == "network":
          detail += [f"network.{k}: {found[key].get(k)} in model_dir, "
                     f"{wanted[key].get(k)} asked"
                     for k in sorted(wanted[key])
                     if found[key].get(k) != wanted[key].get(k)]
        else:
          detail.append(f"{key}: {found.get(key)} in model_dir, "
                        f"{wanted.get(key)} asked")
      raise ValueError(
          f"--model_dir={config.model_dir} holds a checkpoint of a different "
          f"architecture ({'; '.join(detail)}); use another model_dir or "
          "the same settings.")


def checkpoint_directory(model_dir: str) -> str:
  return os.path.join(model_dir, "checkpoints")


def restore_latest(checkpoint: tf.train.Checkpoint,
                   manager: tf.train.CheckpointManager,
                   say=print) -> Optional[str]:
  """Restores the newest checkpoint that reads back whole; returns its
  path (None when there is none). A checkpoint whose files were damaged
  (a disk filled up, a copy was cut short) is reported and skipped for the
  one before it, rather than ending the run."""
  for path in reversed(manager.checkpoints):
    try:
      checkpoint.restore(path).assert_existing_objects_matched()
      return path
    # A truncated file surfaces as IndexError ("Read less bytes than
    # requested") from the checkpoint reader.
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
      first_line = str(error).strip().splitlines()[0]
      say(f"Checkpoint {path} cannot be restored ({first_line}); trying the "
          "one before it.")
  if manager.checkpoints:
    raise ValueError(f"No checkpoint in {manager.directory} can be restored; "
                     "move the directory away to start afresh.")
  return None


def remove_unfinished_checkpoints(directory: str):
  """Deletes what a save killed half-way leaves: TensorFlow writes a
  checkpoint under a "_temp" name and moves it into place when complete
  (the `checkpoint` index file is replaced atomically after that)."""
  if not os.path.isdir(directory):
    return
  for name in os.listdir(directory):
    if "_temp" in name:
      path = os.path.join(directory, name)
      if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
      else:
        os.remove(path)
