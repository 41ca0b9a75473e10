"""Ada-GVAE (Locatello et al. 2020): pairs whose shared latents are inferred.

The weak supervision is only that a pair of images shares some factors,
not which. Per latent i, the divergence between the pair's posteriors

    d_i = var1_i / var2_i + (mu2_i - mu1_i)^2 / var2_i - 1
          + log var2_i - log var1_i          (= 2 KL(q1_i || q2_i))

is low where the pair agrees. The latents whose d_i falls in the lower of
two equal-width bins spanning [min_i d_i, max_i d_i] are taken as shared
(Locatello et al.'s adaptive threshold, the midpoint of the range); their
posteriors are averaged as the Group-VAE averages them (mean of the means,
mean of the variances), the others keep each image's own. When all d_i are
equal nothing marks a latent as different, and every latent is shared.

Here a group of G images becomes G pairs: each image with another member
of its group (`clamp.other_member_indices`, the pairing the other-member
clamp uses), so the data and batches are the same as every other method's
and only which latents are averaged is inferred instead of given.
"""

import tensorflow as tf


def pair_divergence(mean_1, log_variance_1, mean_2, log_variance_2):
  """d_i of each pair, [B, N] (twice the KL of q1_i from q2_i)."""
  variance_1 = tf.exp(log_variance_1)
  variance_2 = tf.exp(log_variance_2)
  return (variance_1 / variance_2 + tf.square(mean_2 - mean_1) / variance_2
          - 1.0 + log_variance_2 - log_variance_1)


def shared_latents(divergence):
  """[B, N] bool: the latents in the lower half of each row's range."""
  low = tf.reduce_min(divergence, axis=-1, keepdims=True)
  high = tf.reduce_max(divergence, axis=-1, keepdims=True)
  # A latent exactly at the midpoint falls in the upper bin, as in a
  # two-bin histogram of fixed width.
  lower_bin = (divergence - low) < 0.5 * (high - low)
  return tf.logical_or(lower_bin, tf.equal(high, low))


def average_pairs(mean, log_variance, partners):
  """Each image's Ada-GVAE posterior, paired with image `partners[b]`.

  Args:
    mean, log_variance: float [B, N], the images' own posteriors.
    partners: int [B], the index of each image's partner in the batch.

  Returns:
    (mean', log_variance', shared): the aggregated posterior and the bool
    [B, N] mask of the latents taken as shared.
  """
  partner_mean = tf.gather(mean, partners)
  partner_log_variance = tf.gather(log_variance, partners)
  shared = shared_latents(pair_divergence(mean, log_variance, partner_mean,
                                          partner_log_variance))
  averaged_mean = 0.5 * (mean + partner_mean)
  averaged_log_variance = tf.math.log(
      0.5 * (tf.exp(log_variance) + tf.exp(partner_log_variance)))
  return (tf.where(shared, averaged_mean, mean),
          tf.where(shared, averaged_log_variance, log_variance), shared)
