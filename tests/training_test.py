"""Tests for dcign_tf.training: replicas train as one device, and each
replica clamps its own whole groups.

TensorFlow fixes the number of logical CPU devices when it starts, so the
two-replica runs happen in a subprocess that splits the CPU in two.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Plain SGD: Adam divides by the root of tiny second moments, which turns
# round-off differences in near-zero gradients into full-size steps.
LEARNING_RATE = 1e-5
STEPS = 3
TOLERANCE = 1e-6  # Largest allowed weight difference after STEPS steps.

_SCRIPT = r"""
import json
import sys
import numpy as np
import tensorflow as tf
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from dcign_tf import configs, model as model_lib, training
from dcign_tf.data import factors, groups, pipeline

SOURCE = groups.GroupSource(image_size=32, group_size=3, seed=1)
NETWORK = configs.preset("small", image_size=32, latent_size=6)


def build(strategy, weights=None, clamp_target="group_mean"):
  with strategy.scope():
    model = model_lib.DCIGN(NETWORK, seed=7, invariance_scale=1.0,
                            clamp_target=clamp_target)
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE))
    model.build_for_images()
    model.optimizer.build(model.trainable_variables)
    if weights is not None:
      model.set_weights(weights)
  return model


def batches(strategy):
  return strategy.distribute_datasets_from_function(
      lambda context: pipeline.live_dataset(
          SOURCE, "1:1:1:1", groups_per_batch=4, seed=3,
          sharding=training.input_sharding(context)))


def train(strategy, model, steps):
  runner = training.StepRunner(model, strategy)
  iterator = iter(batches(strategy))
  losses = [float(runner(iterator)["loss"]) for _ in range(steps)]
  return losses, [v.numpy() for v in model.trainable_variables]


def decoder_latents(strategy, model):
  # The latents the decoder sees for the first batch, with each replica's
  # group types, gathered over replicas in replica order.
  batch = next(iter(batches(strategy)))
  outputs = strategy.run(
      lambda data: (model.objective(data, sample=True)[1],
                    data["group_type"]), args=(batch,))
  latents = [t.numpy() for t in strategy.experimental_local_results(
      outputs[0])]
  types = [t.numpy() for t in strategy.experimental_local_results(
      outputs[1])]
  return np.concatenate(latents), np.concatenate(types)


one = tf.distribute.OneDeviceStrategy("/cpu:0")
two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
single = build(one)
initial = single.get_weights()
mirrored = build(two, initial)
result = {"replicas": two.num_replicas_in_sync}
one_latents, one_types = decoder_latents(one, single)
two_latents, two_types = decoder_latents(two, mirrored)
result["latent_difference"] = float(np.abs(one_latents - two_latents).max())
result["types_equal"] = bool((one_types == two_types).all())
result["latents"] = two_latents.tolist()
result["types"] = two_types.tolist()
result["active"] = mirrored.active_table.tolist()
one_losses, one_weights = train(one, single, STEPS)
two_losses, two_weights = train(two, mirrored, STEPS)
result["losses"] = [one_losses, two_losses]
result["weight_difference"] = max(
    float(np.abs(a - b).max()) for a, b in zip(one_weights, two_weights))
result["weight_change"] = max(
    float(np.abs(a - b).max()) for a, b in zip(one_weights, initial))
# The other-member clamp pairs the same images on any replica.
single = build(one, initial, "other_member")
mirrored = build(two, initial, "other_member")
one_latents, _ = decoder_latents(one, single)
two_latents, _ = decoder_latents(two, mirrored)
result["member_latent_difference"] = float(
    np.abs(one_latents - two_latents).max())
_, one_weights = train(one, single, STEPS)
_, two_weights = train(two, mirrored, STEPS)
result["member_weight_difference"] = max(
    float(np.abs(a - b).max()) for a, b in zip(one_weights, two_weights))
print("RESULT", json.dumps(result))
""".replace("LEARNING_RATE", repr(LEARNING_RATE)).replace("STEPS", str(STEPS))


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory):
  script = tmp_path_factory.mktemp("mirrored") / "mirrored.py"
  script.write_text(_SCRIPT)
  output = subprocess.run([sys.executable, str(script)], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO},
                          capture_output=True, text=True, timeout=300)
  assert output.returncode == 0, output.stderr[-3000:]
  line = [l for l in output.stdout.splitlines() if l.startswith("RESULT ")]
  return json.loads(line[-1][len("RESULT "):])


def test_two_replicas_make_the_updates_of_one_device(two_replicas):
  assert two_replicas["replicas"] == 2
  np.testing.assert_allclose(*two_replicas["losses"], rtol=1e-5)
  assert two_replicas["weight_difference"] < TOLERANCE
  # The comparison means something: training moved the weights far more.
  assert two_replicas["weight_change"] > 100 * TOLERANCE


def test_each_group_draws_the_same_noise_on_any_replica(two_replicas):
  assert two_replicas["types_equal"]
  assert two_replicas["latent_difference"] < 1e-5


def test_the_other_member_clamp_pairs_the_same_images_on_any_replica(
    two_replicas):
  assert two_replicas["member_latent_difference"] < 1e-5
  assert two_replicas["member_weight_difference"] < TOLERANCE


def test_replicas_clamp_inactive_latents_per_group(two_replicas):
  latents = np.array(two_replicas["latents"]).reshape(4, 3, -1)
  active = np.array(two_replicas["active"])[two_replicas["types"]]
  for group, mask in zip(latents, active):
    spread = group.max(axis=0) - group.min(axis=0)
    assert spread[mask == 0].max() < 1e-6  # Clamped to the group mean.
    assert spread[mask == 1].min() > 1e-3  # Free to vary.


def test_input_sharding_feeds_each_worker_its_replicas():
  context = tf.distribute.InputContext(num_input_pipelines=2,
                                       input_pipeline_id=1,
                                       num_replicas_in_sync=4)
  sharding = training.input_sharding(context)
  assert sharding.replicas == 4 and sharding.local_replicas == (2, 3)
  slots = sharding.slots(groups_per_batch=8, first_step=1)
  # Step 1 of 8-group batches: slots 8..15; replicas 2 and 3 hold 12..15.
  assert [next(slots) for _ in range(6)] == [12, 13, 14, 15, 20, 21]
