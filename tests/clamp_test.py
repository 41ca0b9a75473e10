"""Tests for dcign_tf.clamp: forward values and gradients in closed form."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import clamp
from dcign_tf.data import factors

# The paper's assignment: z1, z2, z3 for azimuth, elevation, light.
DEFAULT_FACTOR_LATENTS = {"azimuth": (0,), "elevation": (1,), "light": (2,)}

SCALE = 0.37


def _case(num_groups, group_size, latent_size, pattern, seed=0):
  rng = np.random.default_rng(seed)
  latents = rng.normal(size=(num_groups * group_size, latent_size))
  group_ids = np.repeat(np.arange(num_groups), group_size)
  if pattern == "all_active":
    group_active = np.ones((num_groups, latent_size))
  elif pattern == "none_active":
    group_active = np.zeros((num_groups, latent_size))
  else:
    group_active = rng.uniform(size=(num_groups, latent_size)) < 0.4
  active = group_active[group_ids].astype(np.float64)
  upstream = rng.normal(size=latents.shape)
  return latents, group_ids, active, upstream


def _closed_form(latents, group_ids, active, upstream, scale):
  means = np.stack([latents[group_ids == g].mean(0)
                    for g in range(group_ids.max() + 1)])[group_ids]
  forward = active * latents + (1 - active) * means
  gradient = active * upstream + (1 - active) * scale * (latents - means)
  return forward, gradient


GRID = list(itertools.product([1, 2, 5], [2, 3, 20], [1, 4],
                              ["all_active", "none_active", "random"]))


@pytest.mark.parametrize("num_groups,group_size,latent_size,pattern", GRID)
def test_forward_and_gradient_match_closed_form(num_groups, group_size,
                                                latent_size, pattern):
  latents, group_ids, active, upstream = _case(num_groups, group_size,
                                               latent_size, pattern)
  z = tf.constant(latents)
  with tf.GradientTape() as tape:
    tape.watch(z)
    out = clamp.clamp_to_group_mean(z, tf.constant(group_ids),
                                    tf.constant(active), SCALE, num_groups)
    objective = tf.reduce_sum(out * upstream)
  forward, gradient = _closed_form(latents, group_ids, active, upstream,
                                   SCALE)
  np.testing.assert_allclose(out.numpy(), forward, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(tape.gradient(objective, z).numpy(), gradient,
                             rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_groups,group_size", [(1, 4), (3, 5)])
def test_inactive_latents_are_identical_within_each_group(num_groups,
                                                          group_size):
  latents, group_ids, active, _ = _case(num_groups, group_size, 6, "random")
  out = clamp.clamp_to_group_mean(tf.constant(latents), group_ids, active,
                                  SCALE, num_groups).numpy()
  for group in range(num_groups):
    rows = group_ids == group
    inactive = active[rows][0] == 0
    np.testing.assert_allclose(out[rows][:, inactive],
                               np.broadcast_to(out[rows][0, inactive],
                                               out[rows][:, inactive].shape),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(out[rows][:, ~inactive],
                                  latents[rows][:, ~inactive])


@pytest.mark.parametrize("num_groups,group_size,latent_size,pattern",
                         GRID[::3])
def test_gradient_equals_the_penalty_gradient(num_groups, group_size,
                                              latent_size, pattern):
  """Inactive gradient == d/dz of (s/2) * sum (z - group mean)^2."""
  latents, group_ids, active, _ = _case(num_groups, group_size, latent_size,
                                        pattern, seed=3)
  z = tf.constant(latents)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    # With zero upstream gradient only the pull remains.
    out = clamp.clamp_to_group_mean(z, group_ids, active, SCALE, num_groups)
    through_op = tf.reduce_sum(out * tf.stop_gradient(out) * 0.0)
    penalty = clamp.invariance_penalty(z, group_ids, active, SCALE,
                                       num_groups)
  from_op = tape.gradient(through_op, z).numpy()
  from_penalty = tape.gradient(penalty, z).numpy()
  np.testing.assert_allclose(from_op, from_penalty, rtol=1e-10, atol=1e-12)
  assert np.abs(from_penalty).max() > 0 or pattern == "all_active"


def test_pull_moves_codes_towards_the_mean():
  latents, group_ids, active, _ = _case(2, 5, 3, "none_active", seed=1)
  z = tf.Variable(latents)
  spread_before = np.var(latents[:5], axis=0).sum()
  for _ in range(20):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(clamp.clamp_to_group_mean(z, group_ids, active,
                                                     1.0, 2) * 0.0)
    z.assign_sub(0.1 * tape.gradient(loss, z))
  assert np.var(z.numpy()[:5], axis=0).sum() < 0.5 * spread_before


@pytest.mark.parametrize("num_groups,group_size,latent_size,pattern", GRID)
def test_through_mean_adds_the_exact_gradient_of_the_clamp(
    num_groups, group_size, latent_size, pattern):
  # through_mean: the pull plus autodiff's gradient of
  # active * z + (1 - active) * group mean(z).
  latents, group_ids, active, upstream = _case(num_groups, group_size,
                                               latent_size, pattern, seed=5)
  z = tf.constant(latents)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    out = clamp.clamp_to_group_mean(z, group_ids, active, SCALE, num_groups,
                                    through_mean=True)
    loss = tf.reduce_sum(out * upstream)
    plain = active * z + (1 - active) * clamp.group_means(z, group_ids,
                                                          num_groups)
    reference = tf.reduce_sum(plain * upstream) + clamp.invariance_penalty(
        z, group_ids, active, SCALE, num_groups)
  np.testing.assert_allclose(tape.gradient(loss, z).numpy(),
                             tape.gradient(reference, z).numpy(),
                             rtol=1e-10, atol=1e-12)
  _, paper = _closed_form(latents, group_ids, active, upstream, SCALE)
  means = np.stack([((1 - active) * upstream)[group_ids == g].mean(0)
                    for g in range(num_groups)])[group_ids]
  np.testing.assert_allclose(tape.gradient(loss, z).numpy(),
                             paper + (1 - active) * means, rtol=1e-10,
                             atol=1e-12)


@pytest.mark.parametrize("num_groups,group_size", [(1, 2), (3, 5), (2, 20)])
def test_other_member_indices_pair_each_row_with_another_in_its_group(
    num_groups, group_size):
  rng = np.random.default_rng(num_groups + group_size)
  shifts = rng.integers(1, group_size, size=num_groups)
  partners = clamp.other_member_indices(tf.constant(shifts),
                                        group_size).numpy()
  rows = np.arange(num_groups * group_size)
  np.testing.assert_array_equal(partners // group_size, rows // group_size)
  assert (partners != rows).all()
  # A cyclic shift is a permutation: every member is someone's partner.
  np.testing.assert_array_equal(np.sort(partners), rows)
  np.testing.assert_array_equal(
      partners % group_size,
      (rows % group_size + np.repeat(shifts, group_size)) % group_size)


def test_swap_with_group_member_forward_and_gradient():
  latents, group_ids, active, upstream = _case(3, 4, 5, "random", seed=3)
  shifts = np.array([1, 3, 2])
  partners = clamp.other_member_indices(tf.constant(shifts), 4).numpy()
  z = tf.constant(latents)
  with tf.GradientTape() as tape:
    tape.watch(z)
    out = clamp.swap_with_group_member(z, tf.constant(active),
                                       tf.constant(partners))
    loss = tf.reduce_sum(out * upstream)
  np.testing.assert_allclose(
      out.numpy(), active * latents + (1 - active) * latents[partners])
  # Row j receives its own active upstream, and the inactive upstream of
  # the row whose partner it is.
  expected = active * upstream
  np.add.at(expected, partners, (1 - active) * upstream)
  np.testing.assert_allclose(tape.gradient(loss, z).numpy(), expected)


def test_spread_scale_adds_a_strength_over_each_latents_batch_variance():
  latents = np.array([[0.0, 1.0, 5.0], [2.0, 1.0, 5.0], [4.0, 1.0, 5.003]])
  scale = clamp.spread_scale(tf.constant(latents), 0.5, 2.0).numpy()
  # Variances over the rows: 8/3, 0 (floored), 2e-6 (above the floor,
  # which only guards against zero).
  floor = clamp.SPREAD_VARIANCE_FLOOR
  assert floor < 1e-6
  np.testing.assert_allclose(
      scale, [0.5 + 2.0 / (8 / 3), 0.5 + 2.0 / floor, 0.5 + 2.0 / 2e-6],
      rtol=1e-6)


def test_the_spread_pull_is_blind_to_a_latents_scale():
  latents, group_ids, active, _ = _case(3, 4, 5, "random", seed=7)
  rescale = np.array([1.0, 0.05, 3.0, 0.2, 10.0])  # Every latent its own.

  def pull(z, absolute):
    z = tf.constant(z)
    return clamp.invariance_penalty(
        z, group_ids, active, clamp.spread_scale(z, absolute, SCALE),
        3).numpy()

  assert pull(latents * rescale, 0.0) == pytest.approx(pull(latents, 0.0),
                                                       rel=1e-9)
  # The absolute part is not.
  assert pull(latents * rescale, 1.0) != pytest.approx(pull(latents, 1.0),
                                                       rel=1e-3)


def test_spread_pull_gradient_holds_the_variance_constant():
  latents, group_ids, active, upstream = _case(2, 5, 4, "random", seed=5)
  z = tf.constant(latents)
  strength = 0.2 + SCALE / latents.var(axis=0)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    scale = clamp.spread_scale(z, 0.2, SCALE)
    out = clamp.clamp_to_group_mean(z, group_ids, active, scale, 2)
    through_op = tf.reduce_sum(out * upstream)
    penalty = clamp.invariance_penalty(z, group_ids, active, scale, 2)
  _, expected = _closed_form(latents, group_ids, active, upstream, strength)
  np.testing.assert_allclose(tape.gradient(through_op, z).numpy(), expected,
                             rtol=1e-9)
  _, pull_only = _closed_form(latents, group_ids, active, 0 * upstream,
                              strength)
  np.testing.assert_allclose(tape.gradient(penalty, z).numpy(), pull_only,
                             rtol=1e-9, atol=1e-12)


def _ratio_penalty(z, group_ids, active, num_groups):
  """The spread pull written out: (S / 2) * sum of inactive squared
  deviations from the group mean over each latent's batch variance."""
  means = tf.gather(tf.math.unsorted_segment_mean(z, group_ids, num_groups),
                    group_ids)
  variance = tf.math.reduce_variance(z, axis=0)
  return 0.5 * SCALE * tf.reduce_sum((1.0 - active) * tf.square(z - means) /
                                     variance)


def test_spread_pull_with_its_variance_part_is_the_ratios_gradient():
  latents, group_ids, active, _ = _case(3, 4, 5, "random", seed=11)
  z = tf.constant(latents)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    pull = clamp.invariance_penalty(
        z, group_ids, active, clamp.spread_scale(z, 0.0, SCALE), 3)
    variance_part = clamp.spread_variance_gradient(z, group_ids, active,
                                                   SCALE, 3)
    exact = _ratio_penalty(z, group_ids, active, 3)
  assert variance_part.numpy() == 0.0  # A loss adds nothing to its value.
  assert pull.numpy() == pytest.approx(exact.numpy(), rel=1e-6)
  total = (tape.gradient(pull, z) + tape.gradient(variance_part, z)).numpy()
  np.testing.assert_allclose(total, tape.gradient(exact, z).numpy(),
                             rtol=1e-5, atol=1e-7)
  # The penalty does not change when latent n is scaled (degree 0), so by
  # Euler's theorem its gradient is orthogonal to z's column n: shrinking a
  # latent cannot lower it. Without the variance part it can.
  np.testing.assert_allclose((latents * total).sum(axis=0), 0.0, atol=1e-6)
  held = tape.gradient(pull, z).numpy()
  assert ((latents * held).sum(axis=0) > 1e-3).all()
  assert clamp.spread_variance_gradient(z, group_ids, active, 0.0,
                                        3).numpy() == 0.0


def test_active_latent_table():
  table = clamp.active_latent_table(6, DEFAULT_FACTOR_LATENTS)
  np.testing.assert_array_equal(table, [[1, 0, 0, 0, 0, 0],
                                        [0, 1, 0, 0, 0, 0],
                                        [0, 0, 1, 0, 0, 0],
                                        [0, 0, 0, 1, 1, 1]])
  chairs = clamp.active_latent_table(4, {"azimuth": [0]})
  np.testing.assert_array_equal(chairs[factors.GroupType.ELEVATION], 0)
  np.testing.assert_array_equal(chairs[factors.GroupType.INTRINSIC],
                                [0, 1, 1, 1])
  with pytest.raises(ValueError, match="at least one must stay intrinsic"):
    clamp.active_latent_table(3, DEFAULT_FACTOR_LATENTS)
  with pytest.raises(ValueError, match="Unknown scene factor 'roll'"):
    clamp.active_latent_table(6, {"roll": [0]})
