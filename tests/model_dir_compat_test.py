"""A model dir written before the library took the task seam (the fixture
in tests/fixtures/model_dir_v1, written by commit cda829a) still resumes,
evaluates and exports."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest

from dcign_tf import evaluator
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import saved_model_export
from dcign_tf import task
from dcign_tf import trainer

pytestmark = pytest.mark.slow

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "fixtures", "model_dir_v1")


@pytest.fixture(name="old_dir")
def fixture_old_dir(tmp_path):
  """A copy of the fixture at another path than its config.json names."""
  copy = tmp_path / "moved" / "run"
  shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns("README.md"))
  return copy


def test_it_loads_with_its_recorded_weights(old_dir):
  config, model = task.load_trained(str(old_dir))
  assert config.model_dir == str(old_dir)
  assert config.optimizer == "rmsprop" and config.latent_size == 6
  images = np.zeros((2, 32, 32, 1), np.float32)
  assert model.decode(model.encode(images).mean()).shape == (2, 32, 32, 1)


def test_it_resumes_from_its_checkpoint(old_dir, capsys):
  recorded = model_dir_lib.read_config(str(old_dir))
  config = dataclasses.replace(recorded, model_dir=str(old_dir),
                               train_steps=4)
  metrics = trainer.run(config, verbose=0)
  assert "Resuming from" in capsys.readouterr().out
  assert metrics["steps"] == 4
  with open(old_dir / "metrics.json") as stream:
    assert json.load(stream)["steps"] == 4


def test_it_evaluates_and_exports(old_dir, tmp_path):
  metrics = evaluator.run(evaluator.EvaluateConfig(
      model_dirs=(str(old_dir),), output_dir=str(tmp_path / "evaluation"),
      eval_groups_per_type=2, calibration_groups_per_type=2,
      retrieval_groups=1, sources_per_group=2, grid_identities=2,
      grid_bins=2, metric_train=40, metric_test=20, metric_batch=4,
      variance_estimate=40, sweep_faces=1, sweep_steps=2, workers=1,
      progress=False))
  (name,) = metrics["models"]
  assert metrics["models"][name]["steps"] == 2
  paths = saved_model_export.export(str(old_dir), str(tmp_path / "export"),
                                    calibration_groups_per_type=2, workers=1)
  assert os.path.exists(os.path.join(paths["decoder"], "saved_model.pb"))
