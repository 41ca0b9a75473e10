"""The SGVB objective's terms, per image (Kulkarni et al. 2015, §3)."""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def bernoulli_nll(images, logits):
  """-log p(x | z) for Bernoulli pixels, summed over pixels: [B].

  Binary cross-entropy of targets in [0, 1] against sigmoid(logits),
  computed from logits for numerical stability. The original authors found
  this trained far better than MSE.
  """
  per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=images,
                                                      logits=logits)
  return tf.reduce_sum(per_pixel, axis=tf.range(1, tf.rank(images)))


def gaussian_nll(images, logits, stddev):
  """-log p(x | z) for independent Gaussian pixels of mean sigmoid(logits)
  and a fixed `stddev`, summed over pixels, without the constant: [B].

  sum((x - sigmoid(logits))^2) / (2 stddev^2). Unlike the Bernoulli term,
  whose curvature 1 / (p (1 - p)) is largest on the black background and
  smallest on mid-grey skin, it weighs an error equally at every intensity,
  so a decoder spends its capacity on the face. Its gradient with respect
  to a logit carries the sigmoid's slope p (1 - p), which vanishes where
  the sigmoid saturates: see `gaussian_linear_nll`.
  """
  return gaussian_linear_nll(images, tf.sigmoid(logits), stddev)


def gaussian_linear_nll(images, means, stddev):
  """-log p(x | z) for independent Gaussian pixels whose mean is the
  decoder's output itself (the Gaussian's canonical, identity link), with
  a fixed `stddev`, summed over pixels, without the constant: [B].

  sum((x - means)^2) / (2 stddev^2). Its gradient (means - x) / stddev^2
  never vanishes. Through a sigmoid it would be multiplied by p (1 - p):
  a decoder that early on pushes every pixel towards the black background
  saturates, the face's pixels then pull it back with almost no force, and
  training can sit on a black image for hundreds of steps; a face pixel
  drawn as background at the outline is corrected just as slowly. Pixels
  are the means clipped to [0, 1] (`pixels`).
  """
  squared = tf.square(images - means)
  return tf.reduce_sum(squared, axis=tf.range(1, tf.rank(images))) / (
      2.0 * stddev * stddev)


LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_linear")


def reconstruction_nll(images, logits, likelihood="bernoulli", stddev=0.1):
  """The reconstruction term of `likelihood` (one of LIKELIHOODS) for the
  decoder's outputs `logits`: [B]."""
  if likelihood == "bernoulli":
    return bernoulli_nll(images, logits)
  if likelihood == "gaussian":
    return gaussian_nll(images, logits, stddev)
  if likelihood == "gaussian_linear":
    return gaussian_linear_nll(images, logits, stddev)
  raise ValueError(f"Unknown likelihood {likelihood!r}; allowed: "
                   f"{', '.join(LIKELIHOODS)}.")


def pixels(outputs, likelihood="bernoulli"):
  """The decoder's outputs as images in [0, 1]: the sigmoid of the logits
  for "bernoulli" and "gaussian", the means clipped for
  "gaussian_linear"."""
  if likelihood == "gaussian_linear":
    return tf.clip_by_value(outputs, 0.0, 1.0)
  if likelihood in LIKELIHOODS:
    return tf.sigmoid(outputs)
  raise ValueError(f"Unknown likelihood {likelihood!r}; allowed: "
                   f"{', '.join(LIKELIHOODS)}.")


def posterior(loc, log_variance):
  """q(z | x): a diagonal Gaussian as a TFP distribution over [B, N]."""
  return tfd.Independent(
      tfd.Normal(loc=loc, scale=tf.exp(0.5 * log_variance)),
      reinterpreted_batch_ndims=1)


def standard_normal_prior(latent_size, dtype=tf.float32):
  """p(z) = N(0, I) over [N]."""
  return tfd.Independent(
      tfd.Normal(loc=tf.zeros([latent_size], dtype),
                 scale=tf.ones([latent_size], dtype)),
      reinterpreted_batch_ndims=1)


def kl_to_prior(distribution):
  """KL(q(z|x) || N(0, I)) per image, [B], from tfd.kl_divergence."""
  latent_size = distribution.event_shape[-1]
  return tfd.kl_divergence(
      distribution, standard_normal_prior(latent_size, distribution.dtype))


def pixel_mse(images, reconstructions):
  """Mean squared error per pixel, per image: [B]."""
  return tf.reduce_mean(tf.square(images - reconstructions),
                        axis=tf.range(1, tf.rank(images)))
