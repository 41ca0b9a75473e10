"""Tests for dcign_tf.pretrained and DCIGN.from_preset: the shipped preset
still scores what it recorded, and presets written from a model dir load
back exactly."""

import json
import os

import numpy as np
import pytest

from dcign_tf import model as model_lib
from dcign_tf import preset_files
from dcign_tf import pretrained
from dcign_tf import rerender
from dcign_tf import task
from dcign_tf import trainer


def _hashes(folder):
  return {name: preset_files.sha256(os.path.join(folder, name))
          for name in sorted(os.listdir(folder))}


@pytest.mark.slow
def test_faces_64_rescored_on_fresh_test_groups_agrees_with_its_metrics():
  """A stale or corrupted preset fails here: its recorded scores are
  checked against a new evaluation on test groups rendered now (10 per
  type instead of the trainer's 40, hence the tolerances: the 40 group
  run and a 10 group run differ by 0.01 in R^2 and 1 % in MSE)."""
  model_dir = pretrained.model_dir("faces_64")
  config, model = task.load_trained(model_dir)
  recorded = preset_files.open_preset("faces_64").json(
      preset_files.METRICS_FILE)
  source = task.data_source(config)
  data = source.evaluation_groups(10, config.seed, "test")
  scores, _ = task.evaluate(model, config, data)
  assert scores["test_mse_per_pixel"] == pytest.approx(
      recorded["test_mse_per_pixel"], rel=0.10)
  for factor in ("azimuth", "elevation", "light"):
    assert scores["factors"][factor]["r2"] == pytest.approx(
        recorded["factors"][factor]["r2"], abs=0.03), factor
    assert recorded["factors"][factor]["r2"] > 0.9
  # from_preset builds the same model as the cached model dir's checkpoint.
  direct = model_lib.DCIGN.from_preset("faces_64")
  for ours, theirs in zip(direct.weights, model.weights):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_model_dir_is_made_once_and_refuses_two_sources():
  first = pretrained.model_dir("faces_64")
  stamp = os.path.getmtime(os.path.join(first, "config.json"))
  assert pretrained.model_dir("faces_64") == first
  assert os.path.getmtime(os.path.join(first, "config.json")) == stamp
  assert os.path.basename(first) == "faces_64"
  assert pretrained.resolve_model_dir(None, "/some/dir") == "/some/dir"
  with pytest.raises(ValueError, match="--preset=faces_64 and --model_dir="
                     "/some/dir exclude each other"):
    pretrained.resolve_model_dir("faces_64", "/some/dir")
  with pytest.raises(preset_files.PresetError, match="known presets"):
    pretrained.resolve_model_dir("nope", None)


@pytest.mark.slow
def test_export_carries_the_recorded_calibration():
  export_dir = pretrained.export("faces_64")
  _, metadata = rerender.read_metadata(export_dir)
  recorded = pretrained.calibrations("faces_64")
  for factor, calibration in recorded.items():
    np.testing.assert_allclose(metadata["calibration"][factor]["degrees"],
                               calibration.degrees)
    assert metadata["factor_latents"][factor] == calibration.latent
  assert pretrained.export("faces_64") == export_dir  # Made once.


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, tiny_config):
  model_dir = str(tmp_path_factory.mktemp("trained") / "model")
  trainer.run(tiny_config(model_dir), verbose=0)
  return model_dir


@pytest.mark.slow
def test_write_preset_round_trips(trained_dir, tmp_path):
  output = str(tmp_path / "presets")
  path = pretrained.write_preset(trained_dir, "tiny", output,
                                 "python -m trainers.train ...", "tiny")
  assert preset_files.names(output) == ["tiny"]
  _, trained = task.load_trained(trained_dir)
  loaded = model_lib.DCIGN.from_preset("tiny", output)
  for ours, theirs in zip(loaded.weights, trained.weights):
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3,
                               atol=1e-4)
  with open(os.path.join(path, preset_files.CALIBRATION_FILE)) as stream:
    assert set(json.load(stream)) == {"azimuth", "elevation", "light"}
  with open(os.path.join(path, preset_files.DESCRIPTION_FILE)) as stream:
    description = json.load(stream)
  assert description["command"] == "python -m trainers.train ..."
  assert description["float16_max_abs_change"] < 1e-2
  # A second write is refused and leaves the first byte-identical.
  before = _hashes(path)
  with pytest.raises(ValueError, match="exists; pass --overwrite"):
    pretrained.write_preset(trained_dir, "tiny", output, "cmd", "")
  assert _hashes(path) == before


@pytest.mark.parametrize("name,message", [
    ("Faces", "is not a preset name"), ("", "is not a preset name"),
    ("9lives", "is not a preset name")])
def test_write_preset_bad_names(tmp_path, name, message):
  with pytest.raises(ValueError, match=message):
    pretrained.write_preset(str(tmp_path), name, str(tmp_path), "cmd", "")
  assert not os.listdir(tmp_path)


def test_write_preset_needs_a_finished_model_dir(tmp_path):
  with pytest.raises(ValueError, match="has no metrics.json"):
    pretrained.write_preset(str(tmp_path), "ok", str(tmp_path / "out"),
                            "cmd", "")
  assert not (tmp_path / "out").exists()
