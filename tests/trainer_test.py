"""Tests for dcign_tf.trainer: training runs at tiny sizes, resumed,
pre-empted, killed, refused, and on every data source."""

import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import scipy.io
import tensorflow as tf

from dcign_tf import collapse
from dcign_tf import model as model_lib
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import precision
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer
from dcign_tf import training
from dcign_tf.data import factors
from dcign_tf.data import objects_dataset
from dcign_tf.graphics import mesh as mesh_lib

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_dry_run_writes_everything_and_a_rerun_resumes(
    tiny_config, tmp_path, capsys):
  metrics = trainer.run(tiny_config(tmp_path), verbose=0)
  assert metrics["steps"] == 2
  assert model_dir_lib.read_config(str(tmp_path)) == tiny_config(tmp_path)
  assert glob.glob(str(tmp_path / "checkpoints" / "ckpt-2*"))
  assert glob.glob(str(tmp_path / "logs" / "**" / "events.out.tfevents.*"),
                   recursive=True)
  for factor in ("azimuth", "elevation", "light"):
    assert (tmp_path / f"sweep_{factor}.png").exists()
  with open(tmp_path / "metrics.json") as stream:
    written = json.load(stream)
  assert set(written["factors"]) == {"azimuth", "elevation", "light"}
  assert written["factors"]["azimuth"]["latent"] == 0
  assert 0 < written["test_mse_per_pixel"] < 1
  for score in written["factors"].values():
    assert -1 <= score["spearman"] <= 1 and score["r2"] <= 1
  capsys.readouterr()
  again = trainer.run(tiny_config(tmp_path, train_steps=4), verbose=0)
  assert "Resuming from" in capsys.readouterr().out
  assert again["steps"] == 4


def test_range_warmup_resumes_where_it_was(tiny_config, tmp_path, monkeypatch):
  calls = []
  original = task.pipeline.live_dataset

  def recording(*args, **kwargs):
    calls.append(kwargs)
    return original(*args, **kwargs)

  monkeypatch.setattr(task.pipeline, "live_dataset", recording)
  start = factors.FactorRanges(azimuth=(-10, 10))
  trainer.run(tiny_config(tmp_path, range_warmup_steps=8, warmup_ranges=start),
              verbose=0)
  trainer.run(tiny_config(tmp_path, range_warmup_steps=8, warmup_ranges=start,
                          train_steps=4), verbose=0)
  assert [c["first_step"] for c in calls] == [0, 2]
  assert calls[1]["range_warmup"] == task.pipeline.RangeWarmup(start, 8)


def test_vae_baseline_scores_its_most_varying_latents(tiny_config, tmp_path):
  metrics = trainer.run(tiny_config(tmp_path, training="vae"), verbose=0)
  # Recomputed from the trained model on the same test groups: for each
  # factor, the latent whose mean within-group variance over that factor's
  # groups is largest.
  config, model = task.load_trained(str(tmp_path))
  data = task.evaluation_groups(config)
  codes = task.encode_all(model, data["images"])
  for factor, score in metrics["factors"].items():
    assert score["chosen_by"] == "largest within-group variance"
    mask = data["group_type"] == factors.FACTORS.index(factor)
    within = np.mean([codes[mask][data["group_id"][mask] == g].var(axis=0)
                      for g in np.unique(data["group_id"][mask])], axis=0)
    assert score["latent"] == int(np.argmax(within)), factor


@pytest.mark.parametrize("training, chosen_by", [
    ("gvae", "designated"), ("ada_gvae", "largest within-group variance")])
def test_weak_supervision_baselines_train_and_are_scored(
    tiny_config, tmp_path, training, chosen_by):
  metrics = trainer.run(tiny_config(tmp_path, training=training), verbose=0)
  assert metrics["training"] == training and metrics["steps"] == 2
  for score in metrics["factors"].values():
    assert score["chosen_by"] == chosen_by
  # The Group-VAE's latents are assigned as DC-IGN's are.
  if training == "gvae":
    assert [metrics["factors"][f]["latent"] for f in factors.FACTORS] == [
        0, 1, 2]
  assert set(metrics["identity_retrieval"]) == set(factors.FACTORS)


@pytest.mark.parametrize("overrides,message", [
    (dict(network="paper", image_size=64), "cannot be produced by decoder"),
    (dict(latent_size=3), "latent_size must be >= 4"),
    (dict(ratio="1:-1:1:1"), "negative"),
    (dict(optimizer="sgd"), "Unknown optimizer 'sgd'"),
    (dict(training="beta"), "Unknown training mode 'beta'"),
    (dict(data="stream"), "Unknown data mode 'stream'"),
    (dict(clamp_gradient="none"), "Unknown clamp gradient 'none'"),
    (dict(clamp_target="median"), "Unknown clamp target 'median'; allowed: "
     "group_mean, other_member"),
    (dict(invariance_spread_scale=-1.0),
     "invariance_spread_scale=-1.0 must be >= 0"),
    (dict(train_steps=3, checkpoint_every=2), "must be a multiple"),
    (dict(image_size=16), r"image_size must be an integer in \[32, 256\]"),
    (dict(range_warmup_steps=-1), "range_warmup_steps must be >= 0, got -1"),
    (dict(mirror_odd_factors=("identity",)),
     "A mirror does not negate 'identity'; allowed mirror_odd_factors: "
     "azimuth, light"),
    (dict(range_warmup_steps=5, data="prepared"), "needs live data"),
    (dict(live_reuse=2, data="prepared"), "live_reuse=2 applies to live data"),
    (dict(live_reuse=17), "from 1 to 16, got reuse=17"),
    (dict(members_per_group=2, data="live"),
     "members_per_group=2 needs the prepared faces"),
    (dict(members_per_group=1, data="prepared"),
     r"members_per_group must be 0 \(whole groups\) or an integer in "
     r"\[2, group_size=3\], got 1"),
    (dict(strategy="tpu"), "Unknown strategy 'tpu'; allowed: auto, one_device"),
    (dict(mixed_precision="float16"), "float16 needs a GPU"),
    (dict(mixed_precision="fp8"), "Unknown mixed precision 'fp8'"),
    (dict(warmup_ranges=factors.FactorRanges(azimuth=(-100, 30))),
     r"warm-up range of azimuth \[-100, 30\] leaves its full range "
     r"\[-90, 90\]"),
    (dict(warmup_ranges=factors.FactorRanges(light=(10, 10))),
     "light range is the single value 10"),
])
def test_bad_settings_fail_before_training(
    tiny_config, tmp_path, overrides, message):
  with pytest.raises(ValueError, match=message):
    trainer.run(tiny_config(tmp_path / "run", **overrides), verbose=0)
  assert not (tmp_path / "run").exists()


def test_refuses_a_model_dir_of_another_architecture(tiny_config, tmp_path):
  trainer.run(tiny_config(tmp_path), verbose=0)
  before = sorted(os.listdir(tmp_path / "checkpoints"))
  with pytest.raises(ValueError, match="different architecture.*latent_size: "
                     "6 in model_dir, 8 asked"):
    trainer.run(tiny_config(tmp_path, latent_size=8), verbose=0)
  assert sorted(os.listdir(tmp_path / "checkpoints")) == before


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    tiny_config, tmp_path, monkeypatch):
  original = model_lib.DCIGN.objective

  def poisoned(self, data, sample=True, noise=None, loss_scale=1.0):
    values, latents = original(self, data, sample, noise, loss_scale)
    values = dict(values)
    values["loss"] = tf.where(self.optimizer.iterations >= 3,
                              tf.constant(np.nan, values["loss"].dtype),
                              values["loss"])
    return values, latents

  monkeypatch.setattr(model_lib.DCIGN, "objective", poisoned)
  with pytest.raises(trainer.TrainingDiverged,
                     match="NaN or Inf at step 4.*ckpt-2"):
    trainer.run(tiny_config(tmp_path, train_steps=6, checkpoint_every=2),
                verbose=0)
  assert not glob.glob(str(tmp_path / "checkpoints" / "ckpt-4*"))
  assert not (tmp_path / "metrics.json").exists()


def test_a_decoder_collapsed_onto_one_image_is_reported_once(
    tiny_config, tmp_path, monkeypatch, capsys):
  # The checkpoint at step 2 sees a collapse and says so; the run goes on
  # without checking again, and records the spread it measures at the end.
  monkeypatch.setattr(collapse, "CHECK_FROM_STEP", 2)
  spreads = []

  def collapsed(model, images):
    spreads.append(len(images))
    return 0.01

  monkeypatch.setattr(trainer, "reconstruction_spread", collapsed)
  metrics = trainer.run(tiny_config(tmp_path, train_steps=4,
                                    checkpoint_every=2), verbose=0)
  out = capsys.readouterr().out
  assert out.count("draws nearly the same image") == 1
  assert "at step 2 " in out
  assert metrics["reconstruction_spread"] == 0.01
  assert spreads == [32, 32]  # Step 2 and the end, on 32 test images.


def test_a_trained_decoder_records_its_real_spread(tiny_config, tmp_path,
                                                   capsys):
  metrics = trainer.run(tiny_config(tmp_path), verbose=0)
  assert 0 <= metrics["reconstruction_spread"] < 10
  # Two steps are too few to call anything a collapse.
  assert "draws nearly the same image" not in capsys.readouterr().out


_KILLABLE = r"""
import os
import random
import signal
import sys
import threading
from tensorflow.python.checkpoint import checkpoint_management
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer


def die():
  os.kill(os.getpid(), signal.SIGKILL)  # No handler, no clean-up.

if __name__ == "__main__":
  model_dir, how, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
  hooks = []
  if how == "step":
    hooks.append(lambda step: step == at and die())
  elif how == "before_index":
    # The checkpoint's files are written; the index still names the last.
    record = checkpoint_management.CheckpointManager._record_state
    def record_state(self):
      if self._latest_checkpoint.endswith(f"ckpt-{at}"):
        die()
      record(self)
    checkpoint_management.CheckpointManager._record_state = record_state
  elif how == "mid_write":
    # Killed at a random moment while TensorFlow writes the checkpoint.
    write = trainer.tf.train.Checkpoint._write
    def timed_write(self, prefix, *args, **kwargs):
      if prefix.endswith(f"ckpt-{at}"):
        threading.Timer(random.uniform(0, 0.02), die).start()
      return write(self, prefix, *args, **kwargs)
    trainer.tf.train.Checkpoint._write = timed_write
  config = train_config_lib.TrainConfig(
      model_dir=model_dir, image_size=32, group_size=3, latent_size=6,
      ratio="1:1:1:1", train_steps=8, checkpoint_every=2, live_reuse=2,
      eval_groups_per_type=3, workers=1, sweep_faces=1, sweep_steps=2,
      kl_warmup_steps=4, grid_identities=2, grid_bins=2, metric_samples=40)
  trainer.run(config, verbose=0, step_hooks=hooks)
"""


def _killable_run(tmp_path, model_dir, how="none", at=0):
  script = tmp_path / "killable.py"
  script.write_text(_KILLABLE)
  return subprocess.run(
      [sys.executable, str(script), str(model_dir), how, str(at)], cwd=REPO,
      env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
      timeout=300, check=False)


def _final_weights(model_dir):
  reader = tf.train.load_checkpoint(str(model_dir / "checkpoints"))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if name.startswith("model/")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("uninterrupted")
  result = _killable_run(tmp_path, tmp_path / "run")
  assert result.returncode == 0, result.stderr[-3000:]
  return _final_weights(tmp_path / "run")


def _assert_same_weights(weights, expected):
  assert weights.keys() == expected.keys()
  for name, value in expected.items():
    # Same data, noise and optimizer state: only round-off may differ.
    np.testing.assert_allclose(weights[name], value, rtol=1e-5, atol=1e-6,
                               err_msg=name)


def test_sigkill_at_a_random_step_resumes_to_the_same_weights(
    tmp_path, uninterrupted):
  step = random.randrange(3, 8)
  killed = _killable_run(tmp_path, tmp_path / "run", "step", step)
  assert killed.returncode == -signal.SIGKILL, (step, killed.stderr[-2000:])
  resumed = _killable_run(tmp_path, tmp_path / "run")
  assert resumed.returncode == 0, (step, resumed.stderr[-2000:])
  last_saved = step // 2 * 2
  assert f"ckpt-{last_saved} at step {last_saved}." in resumed.stdout, step
  _assert_same_weights(_final_weights(tmp_path / "run"), uninterrupted)


@pytest.mark.parametrize("how", ["before_index", "mid_write"])
def test_sigkill_during_a_checkpoint_write_leaves_a_restorable_one(
    tmp_path, uninterrupted, how):
  killed = _killable_run(tmp_path, tmp_path / "run", how, 4)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = _killable_run(tmp_path, tmp_path / "run")
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert re.search(r"Resuming from .*ckpt-[24] at step [24]\.",
                   resumed.stdout), resumed.stdout
  assert not glob.glob(str(tmp_path / "run" / "checkpoints" / "*_temp*"))
  _assert_same_weights(_final_weights(tmp_path / "run"), uninterrupted)


@pytest.mark.skipif(
    not precision.cpu_flags() & set(precision.BFLOAT16_CPU_FLAGS),
    reason="this CPU has no bfloat16 instructions (the trainer refuses)")
def test_bfloat16_and_xla_train_and_evaluate_in_float32(tiny_config, tmp_path):
  metrics = trainer.run(tiny_config(tmp_path, mixed_precision="bfloat16",
                                    jit_compile=True), verbose=0)
  assert metrics["steps"] == 2 and 0 < metrics["test_mse_per_pixel"] < 1
  config, model = task.load_trained(str(tmp_path))
  assert config.mixed_precision == "none"  # Evaluation and export.
  assert model.encoder.stages[0].compute_dtype == "float32"


@pytest.mark.parametrize("flags,compiled,says", [
    ({"avx", "avx2", "fma"}, True, "XLA compiles the training step"),
    ({"avx2", "avx512f"}, False, "TensorFlow's kernels run the training"),
])
def test_auto_xla_follows_the_cpu(tiny_config, tmp_path, monkeypatch, capsys,
                                  flags, compiled, says):
  runners = []
  step_runner = training.StepRunner

  def recording_runner(model, strategy, jit_compile=False):
    runners.append(jit_compile)
    return step_runner(model, strategy, jit_compile)

  monkeypatch.setattr(training, "StepRunner", recording_runner)
  monkeypatch.setattr(precision, "cpu_flags", lambda *args: set(flags))
  metrics = trainer.run(tiny_config(tmp_path, jit_compile="auto"))
  assert runners == [compiled]
  assert says in capsys.readouterr().out
  assert metrics["steps"] == 2 and 0 < metrics["test_mse_per_pixel"] < 1


@pytest.mark.parametrize("tf_config,message", [
    (None, "needs the cluster in the TF_CONFIG environment variable"),
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:1"]}, "task": '
     '{"type": "worker", "index": 0}}', "TF_CONFIG names 127.0.0.1:1 twice"),
])
def test_a_bad_cluster_is_refused_before_anything_is_written(
    tiny_config, tmp_path, monkeypatch, tf_config, message):
  if tf_config is None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
  else:
    monkeypatch.setenv("TF_CONFIG", tf_config)
  with pytest.raises(ValueError, match=message):
    trainer.run(tiny_config(tmp_path / "run", strategy="multi_worker"),
                verbose=0)
  assert not (tmp_path / "run").exists()


def _sphere_head(rows=6, cols=8):
  vertices, triangles = mesh_lib.uv_sphere(rows=rows, cols=cols)
  return vertices.astype(np.float64) * [0.8, 1.0, 0.9], triangles


def _write_face_model(kind, folder):
  """A tiny face model in each format users own, as its spec."""
  rng = np.random.default_rng(0)
  mean, triangles = _sphere_head()
  modes = rng.normal(scale=0.05, size=(2,) + mean.shape)
  folder.mkdir()
  if kind == "npz":
    path = folder / "model.npz"
    np.savez(path, mean=mean, shape_basis=modes, triangles=triangles)
    return f"npz:{path}"
  if kind == "bfm":  # The Basel Face Model's 01_MorphableModel.mat keys.
    path = folder / "01_MorphableModel.mat"
    scipy.io.savemat(str(path), dict(
        shapeMU=mean.reshape(-1, 1) * 1e5, shapePC=modes.reshape(2, -1).T,
        shapeEV=np.array([[1.0], [0.5]]),
        texMU=np.full((mean.size, 1), 150.0),
        texPC=rng.normal(size=(mean.size, 1)), texEV=np.array([[1.0]]),
        tl=(triangles + 1).astype(np.float64)))
    return f"bfm:{path}"
  # An OBJ blendshape folder: a neutral mesh and identity meshes.
  def obj(vertices):
    return "\n".join([f"v {x} {y} {z}" for x, y, z in vertices] +
                     [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles])
  (folder / "generic_neutral_mesh.obj").write_text(obj(mean))
  for index, mode in enumerate(modes):
    (folder / f"identity{index:03d}.obj").write_text(obj(mean + mode))
  return f"obj:{folder}"


@pytest.mark.parametrize("kind", ["npz", "bfm", "obj"])
def test_trains_on_a_face_model_the_user_owns(tiny_config, tmp_path, kind):
  spec = _write_face_model(kind, tmp_path / "model")
  metrics = trainer.run(tiny_config(tmp_path / "run", face_model=spec),
                        verbose=0)
  assert metrics["steps"] == 2
  assert model_dir_lib.read_config(str(tmp_path / "run")).face_model == spec
  # Groups are rendered from that model: two shape modes (and the BFM
  # file's one albedo mode).
  source = task.data_source(tiny_config(tmp_path,
                                        face_model=spec)).group_source()
  assert source.model().identity_size == {"npz": 2, "bfm": 3, "obj": 2}[kind]


def test_a_face_model_that_is_not_there_is_refused_before_training(
    tiny_config, tmp_path):
  with pytest.raises(ValueError, match="missing.mat"):
    trainer.run(tiny_config(tmp_path / "run", face_model=f"bfm:{tmp_path}/"
                            "missing.mat"), verbose=0)
  assert not (tmp_path / "run").exists()


def test_trains_and_scores_on_a_labelled_npz(tiny_config, tmp_path,
                                             dsprites_npz,
                                             capsys):
  metrics = trainer.run(tiny_config(
      tmp_path / "run", dataset="npz", dataset_path=dsprites_npz,
      designated=("orientation", "position_x"), ratio="1:1:0:1"), verbose=0)
  assert metrics["steps"] == 2 and metrics["dataset"] == "npz"
  # 2 shapes x 3 positions for orientation groups, 2 x 4 for position
  # groups, 4 x 3 (orientation, position) for intrinsic groups.
  assert ("npz groups (usable combinations per type): train orientation: 6 "
          "combinations, position_x: 8, intrinsic: 12") in capsys.readouterr(
              ).out
  # Scored under the dataset's own factor names, z1 and z2.
  assert {name: s["latent"] for name, s in metrics["factors"].items()} == {
      "orientation": 0, "position_x": 1}
  assert sorted(os.path.basename(p) for p in metrics["sweeps"]) == [
      "sweep_orientation.png", "sweep_position_x.png"]
  with open(tmp_path / "run" / "architecture.json") as stream:
    assert json.load(stream)["factor_latents"] == {"azimuth": [0],
                                                   "elevation": [1]}


@pytest.mark.parametrize("overrides,message", [
    (dict(designated=("rotation",)), "no factor 'rotation'; its factors are "
     "color, shape, scale, orientation, position_x, position_y"),
    (dict(designated=()), "--designated needs 1 to 3"),
    (dict(designated=("orientation",), ratio="1:0:0:1",
          factor_names=("a", "b")), "6 columns|names"),
    (dict(designated=("color",), ratio="1:0:0:1"),
     "cannot form any 'color' group"),
    (dict(dataset_path=None, designated=("shape",)), "needs --dataset_path"),
    (dict(designated=("shape",), live_reuse=2),
     "live_reuse=2 applies to the rendered faces"),
])
def test_bad_labelled_settings_fail_before_anything_is_written(
    tiny_config, tmp_path, dsprites_npz, overrides, message):
  settings = dict(dataset="npz", dataset_path=dsprites_npz, ratio="1:0:0:1")
  settings.update(overrides)
  with pytest.raises(ValueError, match=message):
    trainer.run(tiny_config(tmp_path / "run", **settings), verbose=0)
  assert not (tmp_path / "run").exists()


def test_trains_on_3d_chairs_from_the_manual_folder(tiny_config, tmp_path):
  for chair in range(3):
    renders = (tmp_path / "manual" / "rendered_chairs" / f"chair{chair}" /
               "renders")
    renders.mkdir(parents=True)
    for azimuth in (0, 11, 22, 33):
      for pitch in (20, 30):
        pixels = np.full((40, 40, 3), 255, np.uint8)
        pixels[10:30, 10 + azimuth // 11 * 3:20 + azimuth // 11 * 3] = (
            60 * chair)
        PIL.Image.fromarray(pixels).save(
            renders / f"image_000_p{pitch:03d}_t{azimuth:03d}_r096.png")
  metrics = trainer.run(tiny_config(
      tmp_path / "run", dataset="chairs", designated=("azimuth",),
      dataset_path=str(tmp_path / "manual"), ratio="1:0:0:1",
      data_dir=str(tmp_path / "tfds")), verbose=0)
  assert metrics["steps"] == 2
  assert set(metrics["factors"]) == {"azimuth"}


def test_trains_on_a_folder_of_obj_objects(tiny_config, tmp_path):
  # A box and a pyramid, in ShapeNet's one-folder-per-object layout.
  box = [(x, y, z) for x in (-1, 1) for y in (-0.5, 0.5) for z in (-2, 2)]
  box_faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7),
               (1, 3, 7, 5), (2, 6, 8, 4)]
  pyramid = [(-1, 0, -1), (1, 0, -1), (1, 0, 1), (-1, 0, 1), (0, 2, 0)]
  pyramid_faces = [(1, 2, 3, 4), (1, 5, 2), (2, 5, 3), (3, 5, 4), (4, 5, 1)]
  for name, vertices, faces in (("box", box, box_faces),
                                ("pyramid", pyramid, pyramid_faces)):
    folder = tmp_path / "objects" / name / "models"
    folder.mkdir(parents=True)
    (folder / "model_normalized.obj").write_text("\n".join(
        [f"v {x} {y} {z}" for x, y, z in vertices] +
        ["f " + " ".join(map(str, face)) for face in faces]) + "\n")
  metrics = trainer.run(tiny_config(
      tmp_path / "run", dataset="objects", designated=("azimuth", "light"),
      dataset_path=str(tmp_path / "objects"), ratio="1:1:0:1",
      data_dir=str(tmp_path / "tfds"), object_azimuths=6,
      object_elevations=(0.0, 25.0), object_lights=(-40.0, 40.0)), verbose=0)
  assert metrics["steps"] == 2
  assert set(metrics["factors"]) == {"azimuth", "light"}
  # The views asked for: 2 objects x 6 azimuths x 2 elevations x 2 lights
  # (one object per split; intrinsic groups vary the elevation).
  builder = objects_dataset.builder(
      dict(image_size=32, azimuths=6, elevations=(0.0, 25.0),
           lights=(-40.0, 40.0)), data_dir=str(tmp_path / "tfds"))
  assert builder.is_prepared()
  assert sum(split.num_examples
             for split in builder.info.splits.values()) == 48


def test_trains_in_colour_on_a_colour_npz(tiny_config, tmp_path, colour_npz):
  config = tiny_config(tmp_path / "run", dataset="npz", channels=3,
                       dataset_path=colour_npz,
                       factor_names=("hue", "position"),
                       designated=("position",),
                       ratio="1:0:0:1")
  metrics = trainer.run(config, verbose=0)
  assert metrics["steps"] == 2
  with open(tmp_path / "run" / "architecture.json") as stream:
    assert json.load(stream)["network"]["channels"] == 3
  # The sweep sheet shows the colour images in gray.
  sheet = np.asarray(PIL.Image.open(metrics["sweeps"][0]).convert("RGB"),
                     np.int32)
  assert np.abs(sheet - sheet[..., :1]).max() <= 2


@pytest.mark.parametrize("dataset", ["faces", "chairs", "objects"])
def test_colour_is_refused_for_grayscale_sources(
    tiny_config, tmp_path, dataset):
  with pytest.raises(ValueError, match=f"--dataset={dataset} gives "
                     "grayscale images"):
    trainer.run(tiny_config(tmp_path / "run", dataset=dataset, channels=3,
                            dataset_path=str(tmp_path),
                            designated=("azimuth",)),
                  verbose=0)
  assert not (tmp_path / "run").exists()


def _snapshot(folder):
  """Relative path -> bytes of every file under `folder`."""
  files = {}
  for root, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as stream:
        files[os.path.relpath(path, folder)] = stream.read()
  return files


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
  """A model dir trained by the tiny run (copied by each test that may
  damage it)."""
  folder = tmp_path_factory.mktemp("trained") / "run"
  settings = dict(model_dir=str(folder), image_size=32, group_size=3,
                  network="small", latent_size=6, ratio="1:1:1:1",
                  train_steps=2, checkpoint_every=1, eval_groups_per_type=3,
                  workers=1, sweep_faces=2, sweep_steps=3, grid_identities=2,
                  grid_bins=2, metric_samples=40)
  trainer.run(train_config_lib.TrainConfig(**settings), verbose=0)
  return folder


def _copy_of(folder, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(folder, copy)
  return copy


def test_a_model_dir_holding_another_programs_config_is_refused(
    tiny_config, tmp_path):
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "config.json").write_text('{"learning_rate": "fast", '
                                                '"layers": [1, 2]}')
  before = _snapshot(tmp_path / "run")
  with pytest.raises(ValueError, match="its config.json is not a dcign_tf "
                     "training config"):
    trainer.run(tiny_config(tmp_path / "run"), verbose=0)
  assert _snapshot(tmp_path / "run") == before


def test_an_unreadable_face_model_leaves_a_trained_dir_byte_identical(
    tiny_config, tmp_path, trained_dir):
  run_dir = _copy_of(trained_dir, tmp_path)
  broken = tmp_path / "broken.npz"
  broken.write_bytes(b"not a zip file")
  before = _snapshot(run_dir)
  with pytest.raises(ValueError, match="broken.npz"):
    trainer.run(tiny_config(run_dir, face_model=f"npz:{broken}",
                            train_steps=4), verbose=0)
  assert _snapshot(run_dir) == before


def test_resuming_on_other_data_is_refused_naming_each_difference(
    tiny_config, tmp_path, trained_dir):
  run_dir = _copy_of(trained_dir, tmp_path)
  spec = _write_face_model("npz", tmp_path / "model")
  before = _snapshot(run_dir)
  changed = tiny_config(run_dir, face_model=spec, data_seed=3, train_steps=4)
  with pytest.raises(ValueError, match=r"trained on other data \(face_model: "
                     r"'builtin' in model_dir, 'npz:.*' asked; data_seed: 0 "
                     r"in model_dir, 3 asked\).*--allow_data_change"):
    trainer.run(changed, verbose=0)
  assert _snapshot(run_dir) == before
  # On purpose, it resumes on the new data and records it.
  metrics = trainer.run(changed, verbose=0, allow_data_change=True)
  assert metrics["steps"] == 4
  assert model_dir_lib.read_config(str(run_dir)).face_model == spec


def test_more_steps_on_the_same_data_resume_without_a_flag(
    tiny_config, tmp_path, trained_dir):
  run_dir = _copy_of(trained_dir, tmp_path)
  metrics = trainer.run(tiny_config(run_dir, train_steps=3,
                                    learning_rate=1e-4), verbose=0)
  assert metrics["steps"] == 3


def test_a_model_dir_that_is_a_file_is_refused(tiny_config, tmp_path):
  (tmp_path / "run").write_text("notes")
  with pytest.raises(ValueError, match="--model_dir=.*run is a file, not a "
                     "folder"):
    trainer.run(tiny_config(tmp_path / "run"), verbose=0)
  assert (tmp_path / "run").read_text() == "notes"


def test_an_architecture_record_without_checkpoints_binds_nothing(
    tiny_config, tmp_path):
  # What a refused run of an older version could leave behind.
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "architecture.json").write_text(
      '{"network": {"latent_size": 99}, "training": "vae"}')
  metrics = trainer.run(tiny_config(tmp_path / "run"), verbose=0)
  assert metrics["steps"] == 2
  with open(tmp_path / "run" / "architecture.json") as stream:
    assert json.load(stream)["network"]["latent_size"] == 6


def test_negative_workers_are_refused(tiny_config, tmp_path):
  with pytest.raises(ValueError, match="workers must be >= 0.*got -3"):
    trainer.run(tiny_config(tmp_path / "run", workers=-3), verbose=0)
  assert not (tmp_path / "run").exists()
