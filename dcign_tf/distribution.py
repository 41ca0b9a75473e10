"""Choosing the tf.distribute strategy a training run uses, and the checks
that must hold before one starts.

  auto          mirrored over every GPU when there are several, else one
                device (the first GPU, or the CPU)
  one_device    OneDeviceStrategy
  mirrored      MirroredStrategy over the GPUs (or, without GPUs, over the
                logical CPU devices, as the tests configure them)
  multi_worker  MultiWorkerMirroredStrategy over the cluster in TF_CONFIG

DC-IGN clamps latents to their group's mean, so a group must never be split
across replicas: a global batch of K groups needs K divisible by the number
of replicas (`check_groups_per_replica`).
"""

import json
import os
from typing import Callable, Optional

import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
TF_CONFIG = "TF_CONFIG"


def parse_tf_config(text: Optional[str]) -> dict:
  """The cluster spec in a TF_CONFIG value, checked: valid JSON, a
  "cluster" of jobs that each list "host:port" addresses, no address named
  twice, and a "task" whose type is a job and whose index is in range."""
  if not text:
    raise ValueError("--strategy=multi_worker needs the cluster in the "
                     "TF_CONFIG environment variable, e.g. {\"cluster\": "
                     "{\"worker\": [\"host1:2222\", \"host2:2222\"]}, "
                     "\"task\": {\"type\": \"worker\", \"index\": 0}}.")
  try:
    config = json.loads(text)
  except json.JSONDecodeError as error:
    raise ValueError(f"TF_CONFIG is not valid JSON ({error.msg} at "
                     f"character {error.pos}): {text!r}.") from None
  if not isinstance(config, dict) or not isinstance(config.get("cluster"),
                                                    dict):
    raise ValueError("TF_CONFIG needs a \"cluster\" object mapping job names "
                     f"to address lists; got {text!r}.")
  cluster = config["cluster"]
  seen = {}
  for job, addresses in cluster.items():
    if not isinstance(addresses, list) or not addresses or not all(
        isinstance(a, str) and a.rpartition(":")[2].isdigit()
        for a in addresses):
      raise ValueError(f"TF_CONFIG's job {job!r} must list \"host:port\" "
                       f"addresses; got {addresses!r}.")
    for index, address in enumerate(addresses):
      if address in seen:
        raise ValueError(
            f"TF_CONFIG names {address} twice ({seen[address]} and "
            f"{job}:{index}); every task needs its own address.")
      seen[address] = f"{job}:{index}"
  task = config.get("task")
  if not isinstance(task, dict) or task.get("type") not in cluster:
    raise ValueError("TF_CONFIG's \"task\" must name one of the cluster's "
                     f"jobs ({', '.join(cluster)}); got {task!r}.")
  index = task.get("index")
  if isinstance(index, bool) or not isinstance(index, int) or not (
      0 <= index < len(cluster[task["type"]])):
    raise ValueError(f"TF_CONFIG's task index must be an integer in [0, "
                     f"{len(cluster[task['type']])}) for job "
                     f"{task['type']!r}; got {index!r}.")
  return config


def is_chief(config: Optional[dict]) -> bool:
  """Whether this task writes checkpoints, summaries and exports: the
  "chief" task, or worker 0 when the cluster has no chief."""
  if config is None:
    return True
  task = config["task"]
  if "chief" in config["cluster"]:
    return task["type"] == "chief"
  return task["type"] == "worker" and task["index"] == 0


def make_strategy(name: str, say: Callable[[str], None] = print,
                  environ=os.environ) -> tf.distribute.Strategy:
  """The strategy called `name` (see the module docstring); `say` receives
  a line when the request cannot be met as asked (mirrored on one device)."""
  if name not in STRATEGIES:
    raise ValueError(f"Unknown strategy {name!r}; allowed: "
                     f"{', '.join(STRATEGIES)}.")
  if name == "multi_worker":
    # Before anything else touches the TensorFlow runtime: the collective
    # ops of MultiWorkerMirroredStrategy are set up as it starts.
    parse_tf_config(environ.get(TF_CONFIG))
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices("GPU")
  if name == "mirrored":
    devices = [d.name for d in (gpus or tf.config.list_logical_devices(
        "CPU"))]
    if len(devices) >= 2:
      return tf.distribute.MirroredStrategy(devices)
    say(f"--strategy=mirrored: only one device ({devices[0]}) is visible, "
        "so training runs on it alone.")
    return tf.distribute.OneDeviceStrategy(devices[0])
  if name == "auto" and len(gpus) >= 2:
    return tf.distribute.MirroredStrategy([d.name for d in gpus])
  return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def check_groups_per_replica(groups_per_batch: int, replicas: int) -> int:
  """Groups per replica; raises unless the K groups of a global batch split
  into whole groups over the replicas."""
  if groups_per_batch % replicas:
    raise ValueError(
        f"groups_per_batch={groups_per_batch} cannot be split into whole "
        f"groups over {replicas} replicas (a group is never split: its "
        f"latents are clamped to its mean); use a multiple of {replicas}.")
  return groups_per_batch // replicas
