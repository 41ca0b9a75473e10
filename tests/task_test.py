"""Tests for dcign_tf.task: the seam every binary goes through."""

import numpy as np
import pytest

from dcign_tf import model_dir as model_dir_lib
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf.data import factors


def test_build_model_makes_every_variable_and_a_checkpoint_manager(
    tiny_config, tmp_path):
  config = tiny_config(tmp_path)
  model, checkpoint, manager = task.build_model(
      config, train_config_lib.validate(config))
  images = np.zeros((3, 32, 32, 1), np.float32)
  assert model.encode(images).mean().shape == (3, 6)
  assert model.decode(np.zeros((3, 6), np.float32)).shape == (3, 32, 32, 1)
  assert manager.directory == model_dir_lib.checkpoint_directory(
      str(tmp_path))
  assert checkpoint.model is model


def test_load_trained_restores_the_saved_weights(tiny_config, tmp_path):
  config = tiny_config(tmp_path)
  model, checkpoint, manager = task.build_model(
      config, train_config_lib.validate(config))
  model_dir_lib.record_run(config, train_config_lib.validate(config))
  for variable in model.trainable_variables:
    variable.assign(variable + 0.5)
  manager.save(checkpoint_number=1)
  loaded_config, loaded = task.load_trained(str(tmp_path))
  assert loaded_config == config
  for mine, theirs in zip(model.trainable_variables,
                          loaded.trainable_variables):
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_load_trained_names_what_is_missing(tiny_config, tmp_path):
  with pytest.raises(ValueError, match="has no config.json"):
    task.load_trained(str(tmp_path))
  config = tiny_config(tmp_path)
  model_dir_lib.write_config(config)
  with pytest.raises(ValueError, match="holds no checkpoint"):
    task.load_trained(str(tmp_path))


def test_evaluation_groups_are_the_test_split_with_foreground(tiny_config,
                                                            tmp_path):
  config = tiny_config(tmp_path, eval_groups_per_type=2)
  data = task.evaluation_groups(config)
  # 2 groups of 3 for each of the four types.
  assert data["images"].shape == (24, 32, 32, 1)
  assert sorted(np.unique(data["group_type"])) == [0, 1, 2, 3]
  assert data["coverage"].shape == (24, 32, 32)
  assert 0 < data["coverage"].mean() < 1  # A head on a background.
  again = task.evaluation_groups(config)
  np.testing.assert_array_equal(data["images"], again["images"])
  for name in factors.FACTORS:
    assert data[name].shape == (24,)
