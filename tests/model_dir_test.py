"""Tests for dcign_tf.model_dir."""

import numpy as np
import pytest

from dcign_tf import model_dir as model_dir_lib
from dcign_tf import task
from dcign_tf import train_config as train_config_lib


def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(
    tiny_config, tmp_path):
  config = tiny_config(tmp_path)
  network = train_config_lib.validate(config)
  model, checkpoint, manager = task.build_model(config, network)
  first = [v.numpy() for v in model.trainable_variables]
  manager.save(checkpoint_number=2)
  for variable in model.trainable_variables:
    variable.assign(variable + 1.0)
  manager.save(checkpoint_number=4)
  with open(manager.latest_checkpoint + ".data-00000-of-00001", "r+b") as f:
    f.truncate(100)  # A copy cut short.
  said = []
  restored = model_dir_lib.restore_latest(checkpoint, manager, say=said.append)
  assert restored.endswith("ckpt-2")
  assert "ckpt-4 cannot be restored" in said[0]
  for variable, value in zip(model.trainable_variables, first):
    np.testing.assert_array_equal(variable.numpy(), value)
  with open(restored + ".index", "wb") as f:
    f.write(b"garbage")
  with pytest.raises(ValueError, match="No checkpoint in .* can be restored"):
    model_dir_lib.restore_latest(checkpoint, manager, say=said.append)
