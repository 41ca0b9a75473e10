"""Clamp-and-pull-to-mean: DC-IGN's training signal for disentangling.

Within a group only one scene factor varies, so only its latents may vary
(Kulkarni et al. 2015, §3.1-3.2). Between the sampler and the decoder:

  forward:  every inactive latent is replaced by its mean over the group;
            active latents pass unchanged;
  backward: active latents get the decoder's gradient unchanged; inactive
            latents get `invariance_scale * (z - group mean)` instead.

That backward rule is exactly the gradient of the penalty
(s / 2) * sum over inactive entries of (z - group mean)^2 (the mean's own
dependence on z cancels because deviations from a mean sum to zero), so it
pulls each group's codes towards their mean under minimisation.

The paper's backward rule discards the decoder's gradient at inactive
latents: in a group where only the azimuth varies, the identity latents
learn nothing from the reconstruction. `through_mean=True` keeps it: each
inactive latent also receives the decoder's gradient at its group mean
divided by the group size, which is the exact gradient of the forward
clamp, so every group type teaches the encoder identity; the pull is added
on top.

Normalisation: the paper's s = 1/100 is relative to a loss summed over the
pixels of one image. If the optimised loss divides that by B (a mean over a
global batch of B images), pass s / B so the pull keeps its strength
relative to the reconstruction term; `model.DCIGN` does this.

Units: the pull above is absolute, so an encoder can weaken it by shrinking
a latent (and letting the decoder scale it back up): with a weak KL term
the identity latents of a face model whose faces differ subtly end up
small, and their change between two views of one face rivals their spread
between faces. The spread pull measures each latent's deviations in units
of its spread over the batch: the penalty
(S / 2) * sum over inactive entries of (z - group mean)^2 / Var_batch(z),
which no rescaling of a latent changes. Its gradient has two parts:
`spread_scale` gives the strength with the variance held constant (the
part that pulls each group together; both clamps take it), and
`spread_variance_gradient` the variance's own part (which pushes the
groups apart in proportion to how spread they are inside). Without the
second part the pull only ever pulls codes together while its strength
grows as one over their scale: the encoder shrinks the codes towards
nothing. With it, shrinking a latent changes nothing and a constant latent
scores worst.
"""

import numpy as np
import tensorflow as tf

from dcign_tf.data import factors


def active_latent_table(latent_size: int, factor_latents: dict) -> np.ndarray:
  """[4, N] float mask: row t marks the latents free to vary in type t.

  Factor groups free their factor's latents; intrinsic groups free every
  latent that no factor owns.
  """
  table = np.zeros((len(factors.GroupType), latent_size), np.float32)
  owned = np.zeros(latent_size, bool)
  for name, indices in factor_latents.items():
    factors.check_factor(name)
    indices = list(indices)
    if not indices or min(indices) < 0 or max(indices) >= latent_size:
      raise ValueError(f"The {name} latents {indices} must be non-empty and "
                       f"lie in [0, {latent_size - 1}].")
    if owned[indices].any():
      raise ValueError(f"Latent(s) {indices} of {name} already belong to "
                       "another factor.")
    owned[indices] = True
    table[factors.FACTORS.index(name), indices] = 1.0
  if owned.all():
    raise ValueError(f"All {latent_size} latents belong to factors; at least "
                     "one must stay intrinsic (identity).")
  table[factors.GroupType.INTRINSIC, ~owned] = 1.0
  return table


def group_means(latents, group_ids, num_groups):
  """Mean latent of each example's group, [B, N]."""
  means = tf.math.unsorted_segment_mean(latents, group_ids, num_groups)
  return tf.gather(means, group_ids)


# A guard against dividing by zero (a standard deviation of 1e-4), not a
# scale: a floor near the latents' own scale lets the encoder escape the
# spread pull by shrinking a latent under it, where the pull is absolute
# again and weakens quadratically.
SPREAD_VARIANCE_FLOOR = 1e-8


def _floored_variance(latents, variance_floor):
  """Each latent's variance over the batch's rows, at least the floor, [N]."""
  return tf.maximum(tf.math.reduce_variance(latents, axis=0),
                    tf.constant(variance_floor, latents.dtype))


def spread_scale(latents, invariance_scale, invariance_spread_scale=0.0,
                 variance_floor: float = SPREAD_VARIANCE_FLOOR):
  """Per-latent pull strengths s + s_spread / Var_batch(z_n), [N].

  Passed as `invariance_scale` to `clamp_to_group_mean` or
  `invariance_penalty`. The second term's gradient
  s_spread * (z - mean) / Var(z) does not depend on the latent's scale:
  multiplying latent n by c multiplies its deviations by c and its variance
  by c^2. The variance is over the batch's rows (on each replica, its own)
  and held constant in the gradient: these strengths pull codes towards
  their group; add `spread_variance_gradient` to the loss for the rest of
  the spread pull's gradient. With s_spread = 0 it is s alone (no variance
  is computed).
  """
  latents = tf.convert_to_tensor(latents)
  absolute, spread = (tf.cast(
      tf.convert_to_tensor(value, dtype_hint=latents.dtype), latents.dtype)
                      for value in (invariance_scale, invariance_spread_scale))
  if not invariance_spread_scale:
    return absolute
  return absolute + spread / tf.stop_gradient(
      _floored_variance(latents, variance_floor))


def spread_variance_gradient(latents, group_ids, active,
                             invariance_spread_scale, num_groups,
                             variance_floor: float = SPREAD_VARIANCE_FLOOR):
  """A loss of value 0 whose gradient is the spread pull's variance part.

  The spread pull is P = (S / 2) * sum over inactive entries of
  (z - group mean)^2 / Var_batch(z). `spread_scale` holds Var constant in
  the gradient; this term differentiates P through Var alone (the
  deviations held constant). Added to the loss, the two give P's exact
  gradient, which is orthogonal to every rescaling of a latent (P does
  not change when a latent is multiplied by c). Its value is zero so that
  a reported loss does not count the pull twice.

  Args:
    latents: float [B, N].
    group_ids: int [B].
    active: [B, N], 1 where a latent is free to vary in the example's group.
    invariance_spread_scale: S (a float; 0 gives a constant 0).
    num_groups: number of groups in the batch.
    variance_floor: the variance's guard against zero.
  """
  latents = tf.convert_to_tensor(latents)
  if not invariance_spread_scale:
    return tf.constant(0.0, latents.dtype)
  # The same penalty, its deviations held constant and its strength live.
  strength = tf.cast(invariance_spread_scale, latents.dtype) / (
      _floored_variance(latents, variance_floor))
  term = invariance_penalty(tf.stop_gradient(latents), group_ids, active,
                            strength, num_groups)
  return term - tf.stop_gradient(term)


def clamp_to_group_mean(latents, group_ids, active, invariance_scale,
                        num_groups, through_mean: bool = False):
  """Clamps inactive latents to their group mean; pulls them there in grad.

  Args:
    latents: float [B, N], the sampled codes.
    group_ids: int [B], each example's group in [0, num_groups).
    active: [B, N], 1 where a latent is free to vary in the example's group
      (bool or float).
    invariance_scale: s, the strength of the pull (a float, a scalar
      tensor, or one per latent, [N], as `spread_scale` gives).
    num_groups: number of groups in the batch.
    through_mean: also pass the decoder's gradient at the group mean to the
      inactive latents (the forward clamp's exact gradient), not only the
      pull. False is the paper's rule.

  Returns:
    float [B, N]: the clamped codes for the decoder.
  """
  active = tf.cast(active, latents.dtype)
  invariance_scale = tf.cast(
      tf.convert_to_tensor(invariance_scale, dtype_hint=latents.dtype),
      latents.dtype)

  @tf.custom_gradient
  def _clamp(latents, active):
    mean = group_means(latents, group_ids, num_groups)
    clamped = active * latents + (1.0 - active) * mean

    def grad(upstream):
      inactive = 1.0 - active
      pulled = active * upstream + inactive * invariance_scale * (
          latents - mean)
      if through_mean:
        # d(mean_j)/d(z_i) = 1/G for every member j of i's group; a group
        # shares one active mask, so only inactive entries receive it.
        pulled += inactive * group_means(inactive * upstream, group_ids,
                                         num_groups)
      return pulled, tf.zeros_like(active)

    return clamped, grad

  return _clamp(latents, active)


def invariance_penalty(latents, group_ids, active, invariance_scale,
                       num_groups):
  """(s / 2) * sum over inactive entries of (z - group mean)^2.

  The loss whose gradient `clamp_to_group_mean` gives inactive latents; s
  is a scalar or one per latent ([N], as `spread_scale` gives).
  """
  inactive = 1.0 - tf.cast(active, latents.dtype)
  deviation = latents - group_means(latents, group_ids, num_groups)
  scale = tf.cast(
      tf.convert_to_tensor(invariance_scale, dtype_hint=latents.dtype),
      latents.dtype)
  return 0.5 * tf.reduce_sum(scale * inactive * tf.square(deviation))


def other_member_indices(shifts, group_size):
  """Row of another member of the same group, for each of K * G rows.

  Rows are laid out group after group (`[K, G]` flattened). Member g of
  group k is paired with member (g + shifts[k]) mod G of the same group, so
  a shift in [1, G - 1] pairs every member with another one.

  Args:
    shifts: int [K], each group's cyclic shift.
    group_size: G.

  Returns:
    int [K * G] row indices.
  """
  shifts = tf.cast(shifts, tf.int32)
  members = tf.range(group_size)
  partners = tf.math.floormod(members[tf.newaxis, :] + shifts[:, tf.newaxis],
                              group_size)
  starts = tf.range(tf.shape(shifts)[0]) * group_size
  return tf.reshape(starts[:, tf.newaxis] + partners, [-1])


def swap_with_group_member(latents, active, partners):
  """Inactive latents taken from another member of the group.

  A view-swap variant of the clamp: where `clamp_to_group_mean` feeds the
  decoder the group's mean code, this feeds it one other member's code, so
  the decoder renders example i's active factor from the rest of the scene
  as *another image* encodes it. That is the novel-view task itself: any
  trace of i's own pose or light that the encoder leaves in an inactive
  latent now arrives from the wrong image and costs reconstruction, which
  makes those latents invariant where the pull alone only penalises their
  spread. The gradient is the gather's exact one; add `invariance_penalty`
  to the loss for the pull.

  Args:
    latents: float [B, N].
    active: [B, N], 1 where a latent is free to vary in the example's group.
    partners: int [B] row of another member of each example's group
      (`other_member_indices`).

  Returns:
    float [B, N]: the decoder's input.
  """
  active = tf.cast(active, latents.dtype)
  return active * latents + (1.0 - active) * tf.gather(latents, partners)
