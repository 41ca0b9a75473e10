"""Tests for the trainers.train binary: flags, exit codes, exports, and
the paper's flagfile from nothing."""

import copy
import glob
import json
import os
import subprocess
import sys

import pytest

# Each trains or exports a whole (tiny) model.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


_BAD_FLAGS = [
    ("--optimizer=sgd", "Unknown optimizer 'sgd'; allowed:"),
    ("--warmup_light_range=left", "--warmup_light_range=left must be two "
     "numbers low,high in degrees."),
    ("--warmup_azimuth_range=-120,0", r"The warm-up range of azimuth "
     "[-120, 0] leaves its full range [-90, 90]"),
    ("--object_elevations=low", "--object_elevations=low must be a list of "
     "numbers in degrees."),
]


def test_binary_rejects_bad_flags_in_one_line(tmp_path, binary_cases):
  results = binary_cases("trainers.train", [
      ["--flagfile=faces_quick.flags", f"--model_dir={tmp_path}/run{index}",
       flag] for index, (flag, _) in enumerate(_BAD_FLAGS)])
  for (flag, message), result in zip(_BAD_FLAGS, results):
    assert result["status"] == 2, (flag, result["stderr"][-2000:])
    last_line = result["stderr"].strip().splitlines()[-1]
    assert last_line.startswith("error: " + message), flag
    assert "Traceback" not in result["stderr"], flag
  assert not list(tmp_path.iterdir())  # No model dir was made.


_DIVERGING_BINARY = """
import sys
import numpy as np
import tensorflow as tf
from dcign_tf import cli
from dcign_tf import model as model_lib
from trainers import train
original = model_lib.DCIGN.objective
def poisoned(self, data, sample=True, noise=None, loss_scale=1.0):
  values, latents = original(self, data, sample, noise, loss_scale)
  values = dict(values)
  values["loss"] = tf.where(self.optimizer.iterations >= 1,
                            tf.constant(np.nan, values["loss"].dtype),
                            values["loss"])
  return values, latents
model_lib.DCIGN.objective = poisoned
sys.argv = ["train"] + sys.argv[1:]
cli.run(train.main)
"""


def test_binary_reports_divergence_and_exits_3(tmp_path):
  result = subprocess.run(
      [sys.executable, "-c", _DIVERGING_BINARY, f"--model_dir={tmp_path}",
       "--image_size=32", "--group_size=3", "--latent_size=6",
       "--ratio=1:1:1:1", "--train_steps=4", "--checkpoint_every=2",
       "--eval_groups_per_type=3", "--workers=1", "--grid_identities=2",
       "--grid_bins=2", "--metric_samples=40"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=300, check=False)
  assert result.returncode == 3, result.stderr[-2000:]
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("error: The loss became NaN or Inf at step 2")
  assert last_line.endswith("no checkpoint was written.")


_TINY_FLAGS = ["--image_size=32", "--group_size=3", "--latent_size=6",
               "--ratio=1:1:1:1", "--train_steps=2", "--checkpoint_every=2",
               "--eval_groups_per_type=3", "--workers=1",
               "--grid_identities=2", "--grid_bins=2", "--metric_samples=40"]


def _train_binary(*flags):
  return subprocess.run(
      [sys.executable, "-m", "trainers.train", *_TINY_FLAGS, *flags],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=300, check=False)


def test_binary_exports_for_serving_at_the_end(tmp_path):
  result = _train_binary(f"--model_dir={tmp_path}/run")
  assert result.returncode == 0, result.stderr[-2000:]
  for name in ("encoder", "decoder"):
    assert (tmp_path / "run" / "export" / name / "1" /
            "saved_model.pb").exists()
  assert (tmp_path / "run" / "export" / "models.config").exists()
  assert "Exported for TF Serving" in result.stdout
  skipped = _train_binary(f"--model_dir={tmp_path}/plain", "--noexport")
  assert skipped.returncode == 0, skipped.stderr[-2000:]
  assert (tmp_path / "plain" / "metrics.json").exists()
  assert not (tmp_path / "plain" / "export").exists()


def test_binary_refuses_another_models_export_dir_before_training(tmp_path):
  other = tmp_path / "theirs"
  other.mkdir()
  (other / "dcign_export.json").write_text('{"model_dir": "/elsewhere"}')
  result = _train_binary(f"--model_dir={tmp_path}/run",
                         f"--export_dir={other}")
  assert result.returncode == 2
  assert "holds the exports of another model" in result.stderr
  assert not (tmp_path / "run").exists()


_SIGTERM_AFTER_STEP_5 = """
import os
import signal
import sys
from dcign_tf import cli
from dcign_tf import trainer
from trainers import train
original = trainer.run
def send_sigterm(step):
  if step == 5:
    os.kill(os.getpid(), signal.SIGTERM)  # What a pre-empting scheduler sends.
trainer.run = lambda config, **kwargs: original(
    config, step_hooks=[send_sigterm], **kwargs)
sys.argv = ["train"] + sys.argv[1:]
cli.run(train.main)
"""


def test_sigterm_saves_a_checkpoint_and_a_rerun_resumes(tmp_path):
  flags = [f"--model_dir={tmp_path}/run", "--image_size=32", "--group_size=3",
           "--latent_size=6", "--ratio=1:1:1:1", "--train_steps=8",
           "--checkpoint_every=4", "--eval_groups_per_type=3", "--workers=1",
           "--grid_identities=2", "--grid_bins=2", "--metric_samples=40",
           "--noexport"]
  environment = {**os.environ, "PYTHONPATH": REPO}
  stopped = subprocess.run(
      [sys.executable, "-c", _SIGTERM_AFTER_STEP_5, *flags], cwd=REPO,
      env=environment, capture_output=True, text=True, timeout=300,
      check=False)
  assert stopped.returncode == 143, stopped.stderr[-2000:]
  last_line = stopped.stderr.strip().splitlines()[-1]
  # The signal reaches every worker with the next step, which then saves.
  assert last_line.startswith("pre-empted: Stopped by SIGTERM at step 6")
  assert glob.glob(str(tmp_path / "run" / "checkpoints" / "ckpt-6*"))
  assert not (tmp_path / "run" / "metrics.json").exists()
  resumed = subprocess.run(
      [sys.executable, "-m", "trainers.train", *flags], cwd=REPO,
      env=environment, capture_output=True, text=True, timeout=300,
      check=False)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "at step 6" in resumed.stdout
  with open(tmp_path / "run" / "metrics.json") as stream:
    assert json.load(stream)["steps"] == 8
  assert glob.glob(str(tmp_path / "run" / "checkpoints" / "ckpt-8*"))


def test_paper_flagfile_prepares_trains_and_evaluates_from_nothing(tmp_path):
  # faces.flags on an empty data dir (a fresh machine), shrunk: it must
  # prepare the dataset, train, evaluate and write metrics.json.
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  result = subprocess.run(
      [sys.executable, "-m", "trainers.train", "--flagfile=faces.flags",
       "--image_size=32", "--network=small", "--latent_size=8",
       "--group_size=4", "--train_groups_per_type=2",
       "--test_groups_per_type=2", "--eval_groups_per_type=2",
       "--train_steps=2", "--checkpoint_every=2", f"--data_dir={data_dir}",
       f"--model_dir={tmp_path}/run", "--grid_identities=2", "--grid_bins=2",
       "--metric_samples=40", "--workers=1", "--noexport"],
      cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
      text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  assert glob.glob(str(data_dir / "dcign_faces" / "*" / "1.0.0" /
                       "dataset_info.json"))
  with open(tmp_path / "run" / "metrics.json") as stream:
    metrics = json.load(stream)
  assert metrics["steps"] == 2
  assert set(metrics["identity_retrieval"]) == {"azimuth", "elevation",
                                                "light"}
  for factor, retrieval in metrics["identity_retrieval"].items():
    assert retrieval["chance"] == 0.25, factor
    # Retrieval uses as many groups as the test (--eval_groups_per_type).
    assert retrieval["groups"] == 2, factor
  assert 0 < metrics["reconstruction_foreground"]["foreground_ssim"] <= 1
  assert 0 <= metrics["disentanglement"]["dci"]["disentanglement"] <= 1
  assert "identity top-1 within 45°" in result.stdout


@pytest.mark.parametrize("argv,value", [
    ([], False), (["--jit_compile"], True), (["--nojit_compile"], False),
    (["--jit_compile=auto"], "auto"), (["--jit_compile=false"], False)])
def test_jit_compile_flag_is_a_boolean_that_also_takes_auto(argv, value):
  from absl import flags  # pylint: disable=g-import-not-at-top
  from trainers import train_flags  # pylint: disable=g-import-not-at-top
  values = flags.FlagValues()
  values[train_flags.JIT_COMPILE_FLAG.name] = copy.deepcopy(
      train_flags.JIT_COMPILE_FLAG)
  values(["train"] + argv)
  assert values.jit_compile == value


def test_jit_compile_flag_refuses_other_words():
  from absl import flags  # pylint: disable=g-import-not-at-top
  from trainers import train_flags  # pylint: disable=g-import-not-at-top
  values = flags.FlagValues()
  values["jit_compile"] = copy.deepcopy(train_flags.JIT_COMPILE_FLAG)
  with pytest.raises(flags.IllegalFlagValueError,
                     match="jit_compile='sometimes': allowed true, false or "
                     "auto"):
    values(["train", "--jit_compile=sometimes"])
