"""Group-VAE: the posteriors of the latents a group shares, averaged.

The weakly supervised baseline of Hosoya (2019) as Locatello et al.
(2020) train it ("GroupVAE", with labels saying which factor varies): an
image's posterior q(z_i | x) = N(mu_i, var_i) is replaced, on every latent
i that its group shares, by the group's average

    mu_i' = mean over the group of mu_i,    var_i' = mean of var_i,

(the arithmetic mean of the members' means and variances), then sampled,
decoded and charged the KL of the averaged posterior. Latents the group
does not share keep each image's own posterior. Unlike DC-IGN's clamp,
the average is the posterior itself, so the KL term sees it and the
gradient reaches every member through the mean; there is no extra pull.

Which latents a group shares comes from its type, as in DC-IGN: an azimuth
group shares every latent but the azimuth's, an intrinsic group the
extrinsic ones (`clamp.active_latent_table`; shared = not active).
"""

import tensorflow as tf

from dcign_tf import clamp


def average_posteriors(mean, log_variance, group_ids, shared, num_groups):
  """The Group-VAE posterior of every image, [B, N] mean and log-variance.

  Args:
    mean, log_variance: float [B, N], each image's own posterior.
    group_ids: int [B], each image's group in [0, num_groups).
    shared: [B, N], 1 (or True) where the image's group shares the latent.
    num_groups: the number of groups.

  Returns:
    (mean', log_variance'): on shared latents the group's average of the
    means and log of the average variance; elsewhere the image's own.
  """
  shared = tf.cast(shared, mean.dtype)
  group_mean = clamp.group_means(mean, group_ids, num_groups)
  group_variance = clamp.group_means(tf.exp(log_variance), group_ids,
                                     num_groups)
  averaged_mean = shared * group_mean + (1.0 - shared) * mean
  averaged_log_variance = (shared * tf.math.log(group_variance) +
                           (1.0 - shared) * log_variance)
  return averaged_mean, averaged_log_variance
