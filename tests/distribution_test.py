"""Tests for dcign_tf.distribution: strategy choice and pre-flight checks."""

import glob
import json
import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import distribution

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLUSTER = {"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]},
           "task": {"type": "worker", "index": 1}}


def test_a_valid_tf_config_parses():
  assert distribution.parse_tf_config(json.dumps(CLUSTER)) == CLUSTER


@pytest.mark.parametrize("text,message", [
    ("", "needs the cluster in the TF_CONFIG environment variable"),
    ("{cluster: 1}", r"TF_CONFIG is not valid JSON \(Expecting property name"),
    ('{"task": {}}', 'needs a "cluster" object'),
    ('{"cluster": {"worker": ["hostonly"]}, "task": {"type": "worker", '
     '"index": 0}}', "must list \"host:port\" addresses"),
    ('{"cluster": {"chief": ["h:1"], "worker": ["h:2", "h:1"]}, "task": '
     '{"type": "worker", "index": 0}}',
     r"TF_CONFIG names h:1 twice \(chief:0 and worker:1\)"),
    ('{"cluster": {"worker": ["h:1"]}, "task": {"type": "ps", "index": 0}}',
     "must name one of the cluster's jobs \\(worker\\)"),
    ('{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", '
     '"index": 2}}', r"index must be an integer in \[0, 2\)"),
])
def test_bad_tf_configs_are_named(text, message):
  with pytest.raises(ValueError, match=message):
    distribution.parse_tf_config(text)


def test_only_the_chief_writes():
  assert distribution.is_chief(None)
  assert not distribution.is_chief(CLUSTER)
  assert distribution.is_chief({**CLUSTER, "task": {"type": "worker",
                                                    "index": 0}})
  with_chief = {"cluster": {"chief": ["h:1"], "worker": ["h:2"]},
                "task": {"type": "worker", "index": 0}}
  assert not distribution.is_chief(with_chief)
  assert distribution.is_chief({**with_chief, "task": {"type": "chief",
                                                       "index": 0}})


def test_groups_split_whole_over_replicas():
  assert distribution.check_groups_per_replica(4, 2) == 2
  assert distribution.check_groups_per_replica(3, 1) == 3
  with pytest.raises(ValueError, match="groups_per_batch=3 cannot be split "
                     "into whole groups over 2 replicas"):
    distribution.check_groups_per_replica(3, 2)


def test_strategies_on_one_cpu():
  said = []
  mirrored = distribution.make_strategy("mirrored", say=said.append)
  assert isinstance(mirrored, tf.distribute.OneDeviceStrategy)
  assert said and "only one device" in said[0]
  for name in ("auto", "one_device"):
    assert isinstance(distribution.make_strategy(name),
                      tf.distribute.OneDeviceStrategy)
  with pytest.raises(ValueError, match="Unknown strategy 'tpu'"):
    distribution.make_strategy("tpu")
  with pytest.raises(ValueError, match="needs the cluster in the TF_CONFIG"):
    distribution.make_strategy("multi_worker", environ={})


_TWO_CPUS = r"""
import sys
import tensorflow as tf
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer

if __name__ == "__main__":
  # One run per (model dir, groups per batch) pair, in one process: the
  # logical devices are set up once.
  for model_dir, groups_per_batch in zip(sys.argv[1::2], sys.argv[2::2]):
    config = train_config_lib.TrainConfig(
        model_dir=model_dir, image_size=32, group_size=3, latent_size=6,
        ratio="1:1:1:1", train_steps=2, checkpoint_every=2,
        eval_groups_per_type=3, workers=1, sweep_faces=1, sweep_steps=2,
        grid_identities=2, grid_bins=2, metric_samples=40,
        groups_per_batch=int(groups_per_batch), strategy="mirrored")
    try:
      metrics = trainer.run(config, verbose=0)
    except ValueError as error:
      print("error:", error)
    else:
      print("steps", metrics["steps"])
"""


@pytest.mark.slow
def test_mirrored_over_two_cpus_trains_whole_groups_only(tmp_path):
  script = tmp_path / "two_cpus.py"
  script.write_text(_TWO_CPUS)
  output = subprocess.run(
      [sys.executable, str(script), str(tmp_path / "split"), "3",
       str(tmp_path / "run"), "2"], cwd=REPO,
      env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
      timeout=300, check=True).stdout.splitlines()
  assert output[0].startswith("error: groups_per_batch=3 cannot be split "
                               "into whole groups over 2 replicas")
  assert not (tmp_path / "split").exists()
  assert output[-1] == "steps 2"
  assert os.listdir(tmp_path / "run" / "checkpoints")


_WORKER = r"""
import json
import sys
import numpy as np
from dcign_tf import task
from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer

built = []
original = task.build_model
def build_model(*args, **kwargs):
  built.append(original(*args, **kwargs))
  return built[-1]
task.build_model = build_model

if __name__ == "__main__":
  config = train_config_lib.TrainConfig(
      model_dir=sys.argv[1], image_size=32, group_size=3, latent_size=6,
      ratio="1:1:1:1", train_steps=4, checkpoint_every=2,
      eval_groups_per_type=3, workers=1, sweep_faces=1, sweep_steps=2,
      grid_identities=2, grid_bins=2, metric_samples=40,
      groups_per_batch=2, strategy="multi_worker")
  metrics = trainer.run(config, verbose=0)
  model = built[-1][0]
  np.savez(sys.argv[2], *[v.numpy() for v in model.trainable_variables])
  print("RESULT", json.dumps({"steps": metrics["steps"],
                              "evaluated": "factors" in metrics}))
"""


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


@pytest.mark.slow
def test_two_workers_train_alike_and_only_the_chief_writes(tmp_path):
  script = tmp_path / "worker.py"
  script.write_text(_WORKER)
  cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
  processes = []
  for index in range(2):
    tf_config = {"cluster": cluster, "task": {"type": "worker",
                                              "index": index}}
    processes.append(subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "run"),
         str(tmp_path / f"weights{index}.npz")], cwd=REPO,
        env={**os.environ, "PYTHONPATH": REPO,
             "TF_CONFIG": json.dumps(tf_config)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  results = []
  for process in processes:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    line = [l for l in stdout.splitlines() if l.startswith("RESULT ")][-1]
    results.append(json.loads(line[len("RESULT "):]))
  assert [r["steps"] for r in results] == [4, 4]
  # Worker 0 is the chief: it alone evaluates and writes.
  assert [r["evaluated"] for r in results] == [True, False]
  chief, other = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
  for name in chief.files:
    np.testing.assert_array_equal(chief[name], other[name])
  checkpoints = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
  assert checkpoints == ["checkpoint", "ckpt-2.data-00000-of-00001",
                         "ckpt-2.index", "ckpt-4.data-00000-of-00001",
                         "ckpt-4.index"]
  assert not glob.glob(os.path.join(tempfile.gettempdir(),
                                    "dcign_tf-worker-checkpoint-*"))
