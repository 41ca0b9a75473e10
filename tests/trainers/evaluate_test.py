"""Tests for dcign_tf.evaluator / trainers.evaluate at tiny sizes."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dcign_tf import atomic_files
from dcign_tf import evaluator
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_config):
  root = tmp_path_factory.mktemp("models")
  dcign, vae = root / "dcign", root / "vae"
  # Groups of 4: the counts below are 4 types x 2 groups x 4 images.
  trainer.run(tiny_config(dcign, group_size=4), verbose=0)
  trainer.run(tiny_config(vae, training="vae", group_size=4), verbose=0)
  return str(dcign), str(vae)


def tiny(model_dirs, output_dir, **overrides):
  settings = dict(model_dirs=tuple(model_dirs), output_dir=str(output_dir),
                  eval_groups_per_type=2, calibration_groups_per_type=2,
                  retrieval_groups=1, sources_per_group=2, grid_identities=2, grid_bins=3,
                  metric_train=60, metric_test=30, metric_batch=4,
                  variance_estimate=60, sweep_faces=2, sweep_steps=3,
                  workers=1, progress=False)
  settings.update(overrides)
  return evaluator.EvaluateConfig(**settings)


def test_two_models_side_by_side(trained, tmp_path):
  out = tmp_path / "report"
  metrics = evaluator.run(tiny(trained, out))
  assert set(metrics["models"]) == {"dcign", "vae"}
  for values in metrics["models"].values():
    assert 0 < values["test_mse_per_pixel"] < 1
    assert set(values["novel_view"]) == {"azimuth", "elevation", "light"}
    for novel in values["novel_view"].values():
      # 2 test groups x 2 sources, each re-rendered at the other 3 views
      # of its group of 4.
      assert novel["mean_error"] >= 0 and novel["pairs"] == 2 * 2 * 3
      assert 0 < novel["mean_foreground_psnr"] < 100
      assert -1 <= novel["mean_foreground_ssim"] <= 1
    foreground = values["reconstruction_foreground"]
    assert foreground["images"] == 4 * 2 * 4
    assert 0 < foreground["foreground_mse"] < 1
    assert foreground["foreground_psnr"] > 0
    assert set(values["identity_retrieval"]) == {"azimuth", "elevation",
                                                 "light"}
    for retrieval in values["identity_retrieval"].values():
      assert retrieval["chance"] == 0.25
      assert 0 <= retrieval["top1"] <= 1 and retrieval["trials"] >= 2
    scores = values["disentanglement"]
    assert 0 <= scores["dci"]["disentanglement"] <= 1
    assert 0 <= scores["beta_vae"]["eval_accuracy"] <= 1
    assert set(values["invariance"]) == {"azimuth", "elevation", "light",
                                         "intrinsic"}
  assert metrics["models"]["dcign"]["factors"]["azimuth"]["latent"] == 0
  with open(out / "metrics.json") as stream:
    assert json.load(stream)["models"]["vae"]["training"] == "vae"
  codes = np.load(out / "codes.npz")
  assert codes["dcign__codes"].shape == (4 * 2 * 4, 6)
  assert codes["vae__grid_codes"].shape == (2, 3, 3, 3, 6)
  assert codes["azimuth"].shape == (4 * 2 * 4,)
  report = (out / "report.md").read_text()
  assert "| | dcign | vae |" in report
  for figure in metrics["figures"]:
    assert f"]({figure})" in report
    assert Image.open(out / figure).size[0] > 100
  assert "rerender_azimuth.png" in metrics["figures"]
  assert "dcign_sweep_light.png" in metrics["figures"]
  line = evaluator.summary_line("dcign", metrics["models"]["dcign"])
  assert line.startswith("dcign: MSE ") and "azimuth R² " in line
  assert "novel-view MSE azimuth " in line and "; DCI-D " in line
  assert "identity top-1 within 45° azimuth " in line
  assert "Novel-view identity retrieval" in report
  assert not [p for p in os.listdir(tmp_path) if p.startswith(".evaluate")]


def test_existing_report_is_kept_unless_overwrite(trained, tmp_path):
  out = tmp_path / "report"
  out.mkdir()
  (out / "metrics.json").write_text(json.dumps(
      {"models": {"x": {"model_dir": "/elsewhere/x"}}}))
  with pytest.raises(ValueError, match="holds the report of other models "
                     r"\(/elsewhere/x\); pass --overwrite"):
    evaluator.run(tiny(trained[:1], out))
  assert json.loads((out / "metrics.json").read_text())["models"] == {
      "x": {"model_dir": "/elsewhere/x"}}
  evaluator.run(tiny(trained[:1], out, overwrite=True))
  assert set(json.loads((out / "metrics.json").read_text())["models"]) == {
      "dcign"}


def test_refuses_dirs_without_checkpoint_or_config(trained, tmp_path,
                                                     tiny_config):
  empty = tmp_path / "empty"
  empty.mkdir()
  with pytest.raises(ValueError, match="has no config.json"):
    evaluator.run(tiny([str(empty)], tmp_path / "out"))
  config = tiny_config(tmp_path / "untrained")
  os.makedirs(config.model_dir)
  atomic_files.write_json_atomically(
      os.path.join(config.model_dir, model_dir_lib.CONFIG_FILE),
      train_config_lib.config_to_dict(config))
  with pytest.raises(ValueError, match="holds no checkpoint"):
    evaluator.run(tiny([config.model_dir], tmp_path / "out"))
  assert not (tmp_path / "out").exists()


def test_refuses_a_checkpoint_of_another_architecture(trained, tmp_path):
  copy = tmp_path / "copy"
  shutil.copytree(trained[0], copy)
  path = copy / model_dir_lib.CONFIG_FILE
  settings = json.loads(path.read_text())
  settings["latent_size"] = 8
  path.write_text(json.dumps(settings))
  with pytest.raises(ValueError, match="does not match its config.json"):
    evaluator.run(tiny([str(copy)], tmp_path / "out"))
  (copy / model_dir_lib.ARCHITECTURE_FILE).unlink()
  with pytest.raises(ValueError, match="does not fit the architecture"):
    evaluator.run(tiny([str(copy)], tmp_path / "out"))


def test_dataset_mismatch_needs_permission(trained, tmp_path):
  with pytest.raises(ValueError, match="trained on a different dataset.*"
                     "--allow_dataset_mismatch"):
    evaluator.run(tiny(trained, tmp_path / "out",
                       dataset_overrides={"data_seed": 9}))
  configs = [model_dir_lib.read_config(d) for d in trained]
  dataset = evaluator.resolve_dataset(
      tiny(trained, tmp_path / "out", dataset_overrides={"data_seed": 9},
           allow_dataset_mismatch=True), configs)
  assert dataset["data_seed"] == 9
  with pytest.raises(ValueError, match="takes 32 px images"):
    evaluator.resolve_dataset(
        tiny(trained, tmp_path / "out", dataset_overrides={"image_size": 64},
             allow_dataset_mismatch=True), configs)


def test_binary_reports_bad_input_in_one_line(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "trainers.evaluate",
       f"--model_dir={tmp_path}/missing", f"--output_dir={tmp_path}/out"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=120, check=False)
  assert result.returncode == 2
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("error: --model_dir=") and (
      "has no config.json" in last_line)
  assert not (tmp_path / "out").exists()


def _chairs_folder(folder):
  for chair in range(4):
    renders = folder / "rendered_chairs" / f"chair{chair}" / "renders"
    renders.mkdir(parents=True)
    for azimuth in (0, 11, 22, 33):
      for pitch in (20, 30):
        pixels = np.full((40, 40, 3), 255, np.uint8)
        pixels[10:30, 10 + azimuth // 11 * 3:20 + azimuth // 11 * 3] = (
            50 * chair)
        Image.fromarray(pixels).save(
            renders / f"image_000_p{pitch:03d}_t{azimuth:03d}_r096.png")
  return str(folder)


def test_chairs_models_get_figure_7_and_their_scores(tmp_path, tiny_config):
  chairs = tiny_config(
      tmp_path / "chairs", dataset="chairs", designated=("azimuth",),
      dataset_path=_chairs_folder(tmp_path / "manual"), ratio="1:0:0:1",
      data_dir=str(tmp_path / "tfds"))
  trainer.run(chairs, verbose=0)
  out = tmp_path / "report"
  metrics = evaluator.run(tiny([tmp_path / "chairs"], out))
  scores = metrics["models"]["chairs"]["factors"]
  assert set(scores) == {"azimuth"} and scores["azimuth"]["latent"] == 0
  # Figure 7: unseen (test-split) chairs rotated by sweeping z1.
  sheet = Image.open(out / "chairs_sweep_azimuth.png")
  # The input and a column per sweep step (--sweep_steps 2 here), in gray.
  assert sheet.size[0] > 3 * 32
  pixels = np.asarray(sheet.convert("RGB"), np.int32)
  assert np.abs(pixels - pixels[..., :1]).max() <= 2
  report = (out / "report.md").read_text()
  assert "| chairs | azimuth | z1 |" in report
  assert "![chairs_sweep_azimuth.png](chairs_sweep_azimuth.png)" in report
  # Unseen chairs turned through the calibrated z1, against their true
  # renders.
  novel = metrics["models"]["chairs"]["novel_view"]["azimuth"]
  assert novel["pairs"] > 0 and 0 <= novel["mean_lower_bound"]
  assert 0 < novel["mean_error"] < 1
  assert "| chairs | azimuth | " in report.split("Novel views")[1]
  # The chairs' azimuth wraps: scored on the circle.
  assert scores["azimuth"]["period"] == 31
  assert "linear_r2" in scores["azimuth"]
  # The whole dataset (4 chairs x 4 azimuths x 2 elevations, train and
  # test together) is the grid the disentanglement metrics sample.
  grid_scores = metrics["models"]["chairs"]["disentanglement"]
  assert grid_scores["factor_sizes"] == [4, 4, 2]
  assert grid_scores["factor_names"] == ["chair", "azimuth", "elevation"]
  assert 0 <= grid_scores["dci"]["disentanglement"] <= 1
  assert "| chairs | " in report.split("factor grid (4 x 4 x 2)")[1]
  # What the binary prints: the novel views and the grid's DCI too.
  line = evaluator.summary_line("chairs", metrics["models"]["chairs"])
  assert line.startswith("chairs: MSE ") and "; azimuth R² " in line
  assert "novel-view MSE azimuth" in line and "DCI-D" in line


def test_models_of_different_labelled_sources_are_evaluated_apart(
    tmp_path, dsprites_npz, tiny_config):
  for name, designated in (("a", ("orientation",)), ("b", ("position_x",))):
    trainer.run(tiny_config(
        tmp_path / name, dataset="npz", dataset_path=dsprites_npz,
        designated=designated, ratio="1:0:0:1", group_size=3,
        eval_groups_per_type=3), verbose=0)
  with pytest.raises(ValueError, match="evaluate them apart"):
    evaluator.run(tiny([tmp_path / "a", tmp_path / "b"],
                       tmp_path / "report"))
  assert not (tmp_path / "report").exists()


def test_a_dataset_that_is_not_a_grid_gets_every_other_score(
    tmp_path, dsprites_npz, tiny_config):
  arrays = dict(np.load(dsprites_npz))
  # Drop one image: one combination of shape x orientation x position_x
  # (4 x 4 x 3) is missing.
  incomplete = tmp_path / "incomplete.npz"
  np.savez(incomplete, imgs=arrays["imgs"][1:],
           latents_classes=arrays["latents_classes"][1:])
  trainer.run(tiny_config(tmp_path / "npz", dataset="npz",
                          dataset_path=str(incomplete),
                          designated=("orientation",), ratio="1:0:0:1"),
              verbose=0)
  out = tmp_path / "report"
  metrics = evaluator.run(tiny([tmp_path / "npz"], out))
  model = metrics["models"]["npz"]
  assert "disentanglement" not in model
  assert model["disentanglement_skipped"].startswith(
      "the labels are not a complete factor grid: 1 of the 48 combinations "
      "of 4 x 4 x 3 (shape, orientation, position_x) have no image")
  assert model["factors"]["orientation"]["r2"] <= 1
  # The test split's two held-out shapes: trials of two objects each.
  retrieval = model["identity_retrieval"]["orientation"]
  assert retrieval["chance"] == 0.5 and retrieval["trials"] >= 1
  assert retrieval["top1_within_45_degrees"] is None  # Label units.
  assert retrieval["top1_within_45_degrees_standard_error"] is None
  assert "No disentanglement metrics: the labels are not a complete" in (
      out / "report.md").read_text()


def test_binary_refuses_a_preset_with_a_model_dir(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "trainers.evaluate", "--preset=faces_64",
       f"--model_dir={tmp_path}/m", f"--output_dir={tmp_path}/out"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=120, check=False)
  assert result.returncode == 2
  assert ("--preset=faces_64 and --model_dir=" in
          result.stderr.strip().splitlines()[-1])
  assert not (tmp_path / "out").exists()
