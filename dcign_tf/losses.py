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
  so a decoder spends its capacity on the face.
  """
  squared = tf.square(images - tf.sigmoid(logits))
  return tf.reduce_sum(squared, axis=tf.range(1, tf.rank(images))) / (
      2.0 * stddev * stddev)


LIKELIHOODS = ("bernoulli", "gaussian")


def reconstruction_nll(images, logits, likelihood="bernoulli", stddev=0.1):
  """The reconstruction term of `likelihood` (one of LIKELIHOODS): [B]."""
  if likelihood == "bernoulli":
    return bernoulli_nll(images, logits)
  if likelihood == "gaussian":
    return gaussian_nll(images, logits, stddev)
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
