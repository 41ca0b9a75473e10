"""Tests for dcign_tf.model (tiny shapes)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import ada_gvae
from dcign_tf import clamp
from dcign_tf import configs
from dcign_tf import losses
from dcign_tf import model as model_lib
from dcign_tf import precision
from dcign_tf import training

NETWORK = configs.NetworkConfig(
    image_size=16, latent_size=6, encoder_filters=(4, 4),
    encoder_kernels=(3, 3), decoder_filters=(4,), decoder_kernels=(3, 3),
    padding="same")


def _batch(num_groups=3, group_size=4, seed=0):
  """Dark images with one bright square each: structure a net can learn."""
  rng = np.random.default_rng(seed)
  images = np.full((num_groups * group_size, 16, 16, 1), 0.05)
  for image in images:
    y, x = rng.integers(0, 10, size=2)
    image[y:y + 6, x:x + 6] = 0.95
  return {
      "images": tf.constant(images.reshape(num_groups, group_size, 16, 16, 1),
                            tf.float32),
      "group_type": tf.constant(np.arange(num_groups) % 4, tf.int32),
  }


def _model(**kwargs):
  # The initialisers draw from Keras' global generator: seeded here, every
  # test starts from the same weights whatever ran before it.
  keras.utils.set_random_seed(0)
  model = model_lib.DCIGN(NETWORK, seed=1, **kwargs)
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  return model.build_for_images()


def test_decoder_sees_inactive_latents_clamped_per_group():
  model = _model()
  batch = _batch()
  _, latents = model.objective(batch, sample=True)
  latents = latents.numpy().reshape(3, 4, 6)
  table = model.active_table
  for group, group_type in enumerate(batch["group_type"].numpy()):
    inactive = table[group_type] == 0
    block = latents[group][:, inactive]
    np.testing.assert_allclose(block, np.broadcast_to(block[0], block.shape),
                               atol=1e-6)
    active_block = latents[group][:, ~inactive]
    assert np.ptp(active_block, axis=0).min() > 0  # Samples still differ.


def _other_member_step(**kwargs):
  """An other-member model's objective on `_batch()` with fixed noise, and
  what it is built from: the sampled latents, the active mask and the loss
  without the pull."""
  model = _model(clamp_target="other_member", invariance_scale=3.0, **kwargs)
  batch = _batch()
  noise = tf.random.stateless_normal([12, 6], seed=[1, 2])
  values, decoder_latents = model.objective(batch, sample=True, noise=noise)
  images = tf.reshape(batch["images"], [-1, 16, 16, 1])
  distribution = model.encode(images)
  latents = (distribution.mean() + distribution.stddev() * noise).numpy()
  active = model.active_table[np.repeat(batch["group_type"].numpy(), 4)]
  logits = model.decoder(decoder_latents)
  unpulled = tf.reduce_mean(losses.bernoulli_nll(images, logits) +
                            losses.kl_to_prior(distribution)).numpy()
  return model, values, decoder_latents.numpy(), latents, active, unpulled


def test_other_member_clamp_feeds_another_views_code_and_adds_the_pull():
  model, values, decoder_latents, latents, active, unpulled = (
      _other_member_step())
  np.testing.assert_allclose(decoder_latents * active, latents * active)
  shifts = model.member_shifts(3, 4).numpy()
  assert ((shifts >= 1) & (shifts <= 3)).all()
  for row in range(12):
    group, member = divmod(row, 4)
    partner = group * 4 + (member + shifts[group]) % 4
    inactive = active[row] == 0
    np.testing.assert_allclose(decoder_latents[row, inactive],
                               latents[partner, inactive], rtol=1e-6)
  # loss = mean(reconstruction + KL) + (s / 2) * sum of squared inactive
  # deviations from the group mean, divided by the batch's 12 images.
  means = latents.reshape(3, 4, 6).mean(1).repeat(4, axis=0)
  pull = 0.5 * 3.0 * np.sum((1 - active) * (latents - means) ** 2) / 12
  np.testing.assert_allclose(values["loss"].numpy(), unpulled + pull,
                             rtol=1e-5)


def test_the_spread_pull_divides_by_each_latents_batch_variance():
  _, values, _, latents, active, unpulled = _other_member_step(
      invariance_spread_scale=2.0)
  means = latents.reshape(3, 4, 6).mean(1).repeat(4, axis=0)
  variance = np.maximum(latents.var(axis=0), clamp.SPREAD_VARIANCE_FLOOR)
  pull = 0.5 * np.sum((3.0 + 2.0 / variance) * (1 - active) *
                      (latents - means) ** 2) / 12
  np.testing.assert_allclose(values["loss"].numpy(), unpulled + pull,
                             rtol=1e-5)


@pytest.mark.parametrize("clamp_target", ["group_mean", "other_member"])
def test_the_spread_pulls_variance_part_reaches_the_encoder(clamp_target,
                                                           monkeypatch):
  noise = tf.random.stateless_normal([12, 6], seed=[1, 2])

  def step():
    model = _model(clamp_target=clamp_target, invariance_scale=0.0,
                   invariance_spread_scale=2.0)
    gradients, values = model.compute_gradients(_batch(), noise=noise)
    return np.concatenate([g.numpy().ravel() for g in gradients]), values

  with_part, values = step()
  monkeypatch.setattr(clamp, "spread_variance_gradient",
                      lambda *args, **kwargs: tf.constant(0.0))
  without_part, values_without = step()
  # The term adds to the gradient, never to the reported loss.
  assert float(values["loss"]) == pytest.approx(float(values_without["loss"]),
                                                rel=1e-6)
  assert np.abs(with_part - without_part).max() > 1e-4


def test_member_shifts_are_a_function_of_seed_and_step():
  model = _model(clamp_target="other_member")
  first = model.member_shifts(64, 20).numpy()
  np.testing.assert_array_equal(model.member_shifts(64, 20).numpy(), first)
  assert first.min() >= 1 and first.max() <= 19
  assert len(set(first.tolist())) > 5  # Drawn, not one fixed shift.
  model.optimizer.iterations.assign(7)
  assert (model.member_shifts(64, 20).numpy() != first).any()
  # Groups of one have no other member: the shift wraps to itself.
  np.testing.assert_array_equal(
      clamp.other_member_indices(model.member_shifts(3, 1), 1).numpy(),
      [0, 1, 2])


def test_vae_mode_is_plain_sgvb():
  model = _model(training="vae")
  batch = _batch()
  values, latents = model.objective(batch, sample=False)
  images = tf.reshape(batch["images"], [-1, 16, 16, 1])
  distribution = model.encode(images)
  np.testing.assert_allclose(latents.numpy(), distribution.mean().numpy())
  expected = tf.reduce_mean(
      losses.bernoulli_nll(images, model.decoder(distribution.mean())) +
      losses.kl_to_prior(distribution))
  np.testing.assert_allclose(values["loss"].numpy(), expected.numpy(),
                             rtol=1e-5)


def test_gvae_mode_decodes_the_groups_averaged_posterior():
  model = _model(training="gvae", beta=0.5)
  batch = _batch()
  values, latents = model.objective(batch, sample=False)
  images = tf.reshape(batch["images"], [-1, 16, 16, 1])
  own = model.encode(images)
  mean = own.mean().numpy().reshape(3, 4, 6)
  variance = own.variance().numpy().reshape(3, 4, 6)
  latents = latents.numpy().reshape(3, 4, 6)
  expected_mean, expected_variance = mean.copy(), variance.copy()
  for group, group_type in enumerate(batch["group_type"].numpy()):
    shared = model.active_table[group_type] == 0
    expected_mean[group][:, shared] = mean[group][:, shared].mean(0)
    expected_variance[group][:, shared] = variance[group][:, shared].mean(0)
  # Without sampling the decoder gets the averaged means; the KL is the
  # averaged posterior's, in closed form.
  np.testing.assert_allclose(latents, expected_mean, rtol=1e-5, atol=1e-6)
  kl = 0.5 * np.sum(expected_variance + expected_mean ** 2 - 1 -
                    np.log(expected_variance), axis=-1).reshape(-1)
  np.testing.assert_allclose(values["kl"].numpy(), kl.mean(), rtol=1e-4,
                             atol=1e-6)
  logits = model.decoder(tf.constant(latents.reshape(12, 6)))
  expected = np.mean(losses.bernoulli_nll(images, logits).numpy() + 0.5 * kl)
  np.testing.assert_allclose(values["loss"].numpy(), expected, rtol=1e-5)


def test_ada_gvae_mode_averages_each_image_with_its_partner():
  model = _model(training="ada_gvae")
  batch = _batch()
  _, latents = model.objective(batch, sample=False)
  own = model.encode(tf.reshape(batch["images"], [-1, 16, 16, 1]))
  partners = clamp.other_member_indices(model.member_shifts(3, 4), 4)
  mean, _, shared = ada_gvae.average_pairs(
      own.mean(), tf.math.log(own.variance()), partners)
  np.testing.assert_allclose(latents.numpy(), mean.numpy(), rtol=1e-6)
  # Some latents are averaged and some are not, in every row.
  shared = shared.numpy()
  assert shared.any(axis=1).all() and (~shared).any(axis=1).all()


@pytest.mark.parametrize("training", ["gvae", "ada_gvae"])
def test_the_baselines_train(training):
  model = _model(training=training)
  dataset = tf.data.Dataset.from_tensors(_batch()).repeat()
  history = model.fit(dataset, steps_per_epoch=10, epochs=3, verbose=0)
  assert history.history["loss"][-1] < 0.9 * history.history["loss"][0]


def test_loss_falls_on_a_fixed_batch():
  model = _model()
  dataset = tf.data.Dataset.from_tensors(_batch()).repeat()
  history = model.fit(dataset, steps_per_epoch=10, epochs=3, verbose=0)
  losses_seen = history.history["loss"]
  assert losses_seen[-1] < 0.9 * losses_seen[0]
  assert set(history.history) == {"loss", "reconstruction", "kl", "mse",
                                  "invariance"}


def test_predict_returns_reconstructions():
  model = _model()
  images = np.random.default_rng(0).uniform(size=(5, 16, 16, 1))
  out = model.predict(images, verbose=0)
  assert out.shape == (5, 16, 16, 1)
  assert out.min() >= 0 and out.max() <= 1


def test_config_round_trip():
  model = _model(training="vae", invariance_scale=0.5, beta=2.0,
                 likelihood="gaussian", pixel_stddev=0.05,
                 clamp_gradient="mean_and_pull", clamp_target="other_member",
                 invariance_spread_scale=4.0)
  config = model.get_config()
  assert config["invariance_spread_scale"] == 4.0
  assert config["likelihood"] == "gaussian" and config["pixel_stddev"] == 0.05
  assert config["clamp_target"] == "other_member"
  clone = model_lib.DCIGN.from_config(config)
  assert clone.get_config() == config
  assert clone.network == NETWORK


def test_mirror_odd_factors_make_their_latents_odd():
  model = _model(mirror_odd_factors=("azimuth", "light"))
  assert model.encoder.odd_latents == (0, 2)
  clone = model_lib.DCIGN.from_config(model.get_config())
  assert clone.get_config()["mirror_odd_factors"] == ["azimuth", "light"]
  assert clone.encoder.odd_latents == (0, 2)


@pytest.mark.parametrize("kwargs,message", [
    (dict(training="beta"), "Unknown training mode 'beta'"),
    (dict(invariance_scale=-1.0), "must be >= 0"),
    (dict(clamp_gradient="none"), "Unknown clamp gradient 'none'; allowed: "
     "pull, mean_and_pull"),
    (dict(clamp_target="median"), "Unknown clamp target 'median'; allowed: "
     "group_mean, other_member"),
    (dict(invariance_spread_scale=-2.0), "invariance_spread_scale, beta "
     "and kl_warmup_steps must be >= 0, got 0.01, -2.0"),
    (dict(likelihood="laplace"), "Unknown likelihood 'laplace'; allowed: "
     "bernoulli, gaussian"),
    (dict(likelihood="gaussian", pixel_stddev=0.0),
     "pixel_stddev must be > 0, got 0.0"),
    (dict(mirror_odd_factors=("elevation",)),
     "A mirror does not negate 'elevation'; allowed mirror odd factors: "
     "azimuth, light"),
    (dict(mirror_odd_factors=("light",), factor_latents={"azimuth": [0]}),
     "'light' has no latent to make odd"),
])
def test_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    model_lib.DCIGN(NETWORK, **kwargs)


def test_paper_network_parameter_count():
  model = model_lib.DCIGN(configs.paper()).build_for_images()
  encoder = (5 * 5 * 1 * 96 + 96) + (5 * 5 * 96 * 48 + 48) + (
      5 * 5 * 48 * 24 + 24) + 2 * (5400 * 200 + 200)
  decoder = (200 * 5400 + 5400) + (7 * 7 * 24 * 48 + 48) + (
      7 * 7 * 48 * 96 + 96) + (7 * 7 * 96 * 96 + 96) + (7 * 7 * 96 * 1 + 1)
  assert model.count_params() == encoder + decoder  # About 4.1 M.


def test_kl_warmup_ramps_the_kl_weight():
  model = _model(beta=2.0, kl_warmup_steps=4)
  assert float(model.kl_weight()) == 0.0
  model.optimizer.iterations.assign(1)
  assert float(model.kl_weight()) == pytest.approx(0.5)
  model.optimizer.iterations.assign(10)
  assert float(model.kl_weight()) == pytest.approx(2.0)
  values, _ = model.objective(_batch(), sample=False)
  expected = values["reconstruction"] + 2.0 * values["kl"]
  np.testing.assert_allclose(values["loss"].numpy(), expected.numpy(),
                             rtol=1e-4)
  assert _model(beta=2.0).kl_weight() == 2.0


def _trained_copy(weights, policy, steps=2, jit_compile=False, **kwargs):
  """A model with `weights` built under `policy`, after `steps` SGD steps
  on the same batch through training.StepRunner; its weights and losses."""
  strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
  with strategy.scope(), precision.policy_scope(policy):
    model = model_lib.DCIGN(NETWORK, seed=1, **kwargs)
    optimizer = keras.optimizers.SGD(1e-4)
    if policy == "mixed_float16":
      # Keras' default first scale (2^15) overflows these float16 gradients
      # and skips steps by design; a small one trains from the first step
      # and still scales and unscales.
      optimizer = keras.optimizers.LossScaleOptimizer(optimizer,
                                                      initial_scale=8.0)
    model.compile(optimizer=optimizer)
    model.build_for_images()
    model.optimizer.build(model.trainable_variables)
    model.set_weights(weights)
  batches = iter(strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensors(_batch()).repeat()))
  runner = training.StepRunner(model, strategy, jit_compile=jit_compile)
  losses_seen = [float(runner(batches)["loss"]) for _ in range(steps)]
  return model, [v.numpy() for v in model.trainable_variables], losses_seen


@pytest.mark.parametrize("mixed,rtol", [("bfloat16", 3e-2),
                                        ("float16", 3e-3)])
def test_mixed_precision_trains_like_float32(mixed, rtol):
  initial = _model().get_weights()
  _, expected, expected_losses = _trained_copy(initial, "float32")
  model, weights, seen_losses = _trained_copy(
      initial, precision.POLICIES[mixed])
  # The convolutions compute in the reduced type; variables, latents and
  # losses stay float32.
  assert model.encoder.stages[0].compute_dtype == mixed
  assert model.encoder.stages[0].kernel.dtype == "float32"
  assert model.encode(_batch()["images"][0]).mean().dtype == tf.float32
  assert model.decode(tf.zeros([2, 6])).dtype == tf.float32
  if mixed == "float16":
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
  np.testing.assert_allclose(seen_losses, expected_losses, rtol=rtol)
  change = max(np.abs(a - b).max() for a, b in zip(expected, initial))
  error = max(np.abs(a - b).max() for a, b in zip(weights, expected))
  # Each step moved the weights; the reduced type moved them alike.
  assert change > 1e-4 and error < 0.1 * change, (change, error)


def test_xla_compiled_steps_equal_plain_ones():
  initial = _model().get_weights()
  _, expected, expected_losses = _trained_copy(initial, "float32", steps=3)
  _, weights, seen_losses = _trained_copy(initial, "float32", steps=3,
                                          jit_compile=True)
  np.testing.assert_allclose(seen_losses, expected_losses, rtol=1e-5)
  for value, reference in zip(weights, expected):
    np.testing.assert_allclose(value, reference, rtol=1e-4, atol=1e-6)
  assert max(np.abs(a - b).max() for a, b in zip(expected, initial)) > 1e-4


def _unscaled_gradients(optimizer, weights, noise):
  """compute_gradients under `optimizer`, divided by its loss scale."""
  model = model_lib.DCIGN(NETWORK, seed=1, invariance_scale=50.0)
  model.compile(optimizer=optimizer)
  model.build_for_images()
  model.optimizer.build(model.trainable_variables)
  model.set_weights(weights)
  gradients, _ = model.compute_gradients(_batch(), noise=noise)
  scale = float(model.optimizer.scale_loss(tf.constant(1.0)))
  return [g.numpy() / scale for g in gradients]


def test_pull_survives_loss_scaling():
  # Under mixed float16 Keras scales the loss by 2^15 and divides the
  # gradients by it. The pull is injected in the backward pass, so unless
  # it is scaled too it arrives 2^15 times too weak.
  weights = _model().get_weights()
  noise = tf.random.stateless_normal([12, 6], seed=[3, 4])
  plain = _unscaled_gradients(keras.optimizers.SGD(1e-3), weights, noise)
  scaled = _unscaled_gradients(keras.optimizers.LossScaleOptimizer(
      keras.optimizers.SGD(1e-3), initial_scale=2.0 ** 15), weights, noise)
  for value, reference in zip(scaled, plain):
    np.testing.assert_allclose(value, reference, rtol=1e-4, atol=1e-7)
  # The pull is a visible part of the encoder's gradient here: without it
  # (scale 0) the encoder's gradient changes.
  weights_model = model_lib.DCIGN(NETWORK, seed=1, invariance_scale=0.0)
  weights_model.compile(optimizer=keras.optimizers.SGD(1e-3))
  weights_model.build_for_images()
  weights_model.set_weights(weights)
  without, _ = weights_model.compute_gradients(_batch(), noise=noise)
  assert not np.allclose(without[0].numpy(), plain[0], rtol=1e-3)
