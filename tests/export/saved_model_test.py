"""Tests for dcign_tf.saved_model_export / export.saved_model (tiny sizes)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import saved_model_export
from dcign_tf import serving
from dcign_tf import task
from dcign_tf import tflite_export
from dcign_tf import trainer

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_config):
  model_dir = tmp_path_factory.mktemp("models") / "dcign"
  trainer.run(tiny_config(model_dir), verbose=0)
  return str(model_dir)


def test_exports_versions_and_serving_config(trained, tmp_path):
  out = str(tmp_path / "export")
  paths = saved_model_export.export(trained, out, calibration_groups_per_type=2,
                                    workers=1)
  assert paths["encoder"] == os.path.join(out, "encoder", "1")
  assert paths["decoder"] == os.path.join(out, "decoder", "1")
  text = open(paths["models_config"]).read()
  assert 'name: "encoder"' in text and 'name: "decoder"' in text
  info = json.load(open(os.path.join(paths["encoder"], "assets",
                                     serving.METADATA_FILE)))
  assert info["image_size"] == 32 and info["latent_size"] == 6
  assert info["factor_latents"] == {"azimuth": 0, "elevation": 1, "light": 2}
  assert len(info["calibration"]["azimuth"]["degrees"]) >= 2
  # The exported pair matches the trained model.
  _, model = task.load_trained(trained)
  images = np.random.default_rng(0).uniform(size=(2, 32, 32, 1)).astype(
      np.float32)
  encoder = tf.saved_model.load(paths["encoder"])
  mean = encoder.signatures["serving_default"](images=images)["mean"]
  np.testing.assert_allclose(mean, model.encode(images).mean(), atol=1e-5)
  again = saved_model_export.export(trained, out, calibration_groups_per_type=2,
                                    workers=1)
  assert again["decoder"].endswith(os.path.join("decoder", "2"))
  with pytest.raises(ValueError, match="Version 1 already exists"):
    saved_model_export.export(trained, out, version=1,
                              calibration_groups_per_type=2, workers=1)


def test_a_kill_between_the_renames_leaves_serving_on_the_last_pair(
    trained, tmp_path, monkeypatch):
  out = str(tmp_path / "export")
  first = saved_model_export.export(trained, out,
                                    calibration_groups_per_type=2, workers=1)
  before = open(first["models_config"]).read()
  assert before.count("specific { versions: 1 }") == 2
  publish = serving.publish

  def killed_before_the_decoder(staging, final):
    if final.endswith(os.path.join("decoder", "2")):
      raise KeyboardInterrupt  # What a kill looks like from inside.
    publish(staging, final)

  monkeypatch.setattr(serving, "publish", killed_before_the_decoder)
  with pytest.raises(KeyboardInterrupt):
    saved_model_export.export(trained, out, calibration_groups_per_type=2,
                              workers=1)
  assert serving.existing_versions(os.path.join(out, "encoder")) == [1, 2]
  assert serving.existing_versions(os.path.join(out, "decoder")) == [1]
  assert open(first["models_config"]).read() == before
  monkeypatch.setattr(serving, "publish", publish)
  again = saved_model_export.export(trained, out,
                                    calibration_groups_per_type=2, workers=1)
  assert again["decoder"].endswith(os.path.join("decoder", "3"))
  assert open(again["models_config"]).read().count(
      "specific { versions: 3 }") == 2


def test_refuses_another_models_export_dir(trained, tmp_path):
  out = tmp_path / "export"
  out.mkdir()
  (out / saved_model_export.SOURCE_FILE).write_text(json.dumps(
      {"model_dir": "/elsewhere"}))
  with pytest.raises(ValueError, match=r"exports of another model \(/elsewhere"):
    saved_model_export.export(trained, str(out), calibration_groups_per_type=2,
                              workers=1)
  foreign = tmp_path / "foreign"
  (foreign / "decoder" / "3").mkdir(parents=True)
  with pytest.raises(ValueError, match="not written by dcign_tf"):
    saved_model_export.export(trained, str(foreign),
                              calibration_groups_per_type=2, workers=1)


def test_no_calibration_groups_is_refused_before_loading(trained, tmp_path):
  with pytest.raises(ValueError, match="calibration_groups_per_type must be "
                     ">= 1.*got 0"):
    saved_model_export.export(trained, str(tmp_path / "export"),
                              calibration_groups_per_type=0, workers=1)
  assert not (tmp_path / "export").exists()


def test_binary_refuses_a_model_dir_without_checkpoint(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "export.saved_model",
       f"--model_dir={tmp_path}/missing", f"--export_dir={tmp_path}/out"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=120, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(
      "error: --model_dir=")
  assert not (tmp_path / "out").exists()


def _tree(path):
  """{relative file: bytes} of everything under path."""
  files = {}
  for root, _, names in os.walk(path):
    for name in names:
      full = os.path.join(root, name)
      files[os.path.relpath(full, path)] = open(full, "rb").read()
  return files


def test_an_export_killed_part_way_leaves_no_version_behind(trained,
                                                            tmp_path):
  out = str(tmp_path / "export")
  saved_model_export.export(trained, out, calibration_groups_per_type=2,
                            workers=1)
  before = _tree(out)
  process = subprocess.Popen(
      [sys.executable, "-m", "export.saved_model", f"--model_dir={trained}",
       f"--export_dir={out}", "--calibration_groups_per_type=2",
       "--workers=1"], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  # Kill it while it writes: the moment a staging folder appears.
  deadline = time.time() + 240
  staged = False
  while time.time() < deadline and process.poll() is None:
    if any(name.startswith(serving.STAGING_PREFIX)
           for base in ("encoder", "decoder")
           for name in os.listdir(os.path.join(out, base))):
      staged = True
      break
    time.sleep(0.005)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert staged, "the export finished before it could be killed"
  for base in ("encoder", "decoder"):
    assert serving.existing_versions(os.path.join(out, base)) == [1]
  # Earlier versions are untouched (the staging leftovers aside).
  after = {name: data for name, data in _tree(out).items()
           if serving.STAGING_PREFIX not in name}
  assert after == before
  # The next export clears the dead process's staging folder and publishes.
  paths = saved_model_export.export(trained, out, calibration_groups_per_type=2,
                                    workers=1)
  assert paths["decoder"].endswith(os.path.join("decoder", "2"))
  for base in ("encoder", "decoder"):
    assert not [name for name in os.listdir(os.path.join(out, base))
                if name.startswith(serving.STAGING_PREFIX)]


def test_a_colour_labelled_model_exports_and_converts(tmp_path, tiny_config,
                                                     colour_npz):
  imgs = np.load(colour_npz)["imgs"]
  model_dir = str(tmp_path / "run")
  trainer.run(tiny_config(
      model_dir, dataset="npz", channels=3, dataset_path=colour_npz,
      factor_names=("hue", "position"), designated=("position",),
      ratio="1:0:0:1"), verbose=0)
  paths = saved_model_export.export(model_dir, str(tmp_path / "export"),
                                    calibration_groups_per_type=3)
  encoder = tf.saved_model.load(paths["encoder"])
  means = encoder.signatures["serving_default"](
      images=tf.constant(imgs[:2] / 255.0, tf.float32))["mean"]
  assert means.shape == (2, 6)
  with open(os.path.join(paths["encoder"], "assets",
                         serving.METADATA_FILE)) as stream:
    info = json.load(stream)
  # Factors under the dataset's names; "degrees" are its label classes.
  assert info["channels"] == 3 and info["factor_latents"] == {"position": 0}
  assert info["calibration"]["position"]["degrees"] == [0.0, 1.0, 2.0, 3.0]
  assert info["dataset"]["dataset"] == "npz"
  # export.tflite draws its check inputs from the labelled source.
  report = tflite_export.convert(paths["encoder"], samples=4, workers=1)
  assert report["inputs"] == "4 test renders"
  assert all(e["max_abs_error"] <= 1e-4 for e in report["errors"].values())


def test_binary_exports_a_preset_and_refuses_two_sources(tmp_path):
  command = [sys.executable, "-m", "export.saved_model", "--preset=faces_64"]
  run = lambda *extra: subprocess.run(
      command + list(extra), cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
      capture_output=True, text=True, timeout=300, check=False)
  result = run(f"--model_dir={tmp_path}/m")
  assert result.returncode == 2
  assert ("--preset=faces_64 and --model_dir=" in
          result.stderr.strip().splitlines()[-1])
  result = run(f"--export_dir={tmp_path}/out")
  assert result.returncode == 0, result.stderr[-2000:]
  for name in ("encoder", "decoder"):
    assert (tmp_path / "out" / name / "1" / "saved_model.pb").exists()
