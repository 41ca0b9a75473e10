"""The DC-IGN model: encoder, TFP posterior, clamp-and-pull, decoder.

Training consumes the grouped batches of `data.pipeline`: images
[K, G, S, S, C] and each group's type [K]. Each group type has a block of
*active* latents (azimuth -> z1, elevation -> z2, light -> z3 by default,
intrinsic -> every latent not given to a factor); all others are clamped to
their group mean on the way to the decoder and pulled towards it in the
backward pass (`clamp.clamp_to_group_mean`). `training="vae"` is the paper's
entangled baseline: the same network and data, plain SGVB, no clamping.
`training="gvae"` averages the posteriors of the latents a group shares
(`group_vae`) and `training="ada_gvae"` those a pair of group members is
inferred to share (`ada_gvae`): the weak-supervision methods that came
after DC-IGN, on the same groups.
"""

import keras
import tensorflow as tf

from dcign_tf import ada_gvae
from dcign_tf import clamp
from dcign_tf import configs
from dcign_tf import group_vae
from dcign_tf import layers
from dcign_tf import losses
from dcign_tf import preset_files

# dcign: the paper's clamp; vae: plain SGVB; gvae and ada_gvae: the
# weakly supervised baselines of Locatello et al. (2020) on the same groups.
TRAINING_MODES = ("dcign", "vae", "gvae", "ada_gvae")
# Modes whose latents are assigned to factors by the group types (the
# others are scored, like the paper's baseline, by the latent that varies
# most with each factor).
DESIGNATED_MODES = ("dcign", "gvae")
# What inactive latents receive in the backward pass (see DCIGN).
CLAMP_GRADIENTS = ("pull", "mean_and_pull")
# What the decoder receives at inactive latents (see DCIGN).
CLAMP_TARGETS = ("group_mean", "other_member")
# The paper's assignment (z1, z2, z3 in its 1-based numbering).
DEFAULT_FACTOR_LATENTS = {"azimuth": (0,), "elevation": (1,), "light": (2,)}
# Factors a horizontal mirror of the image negates (for a bilaterally
# symmetric object): the ones whose latents may be built odd.
MIRROR_ODD_FACTORS = ("azimuth", "light")
# The paper's s = 1/100 relative to a loss summed over one image's pixels.
DEFAULT_INVARIANCE_SCALE = 0.01


@keras.saving.register_keras_serializable(package="dcign_tf")
class DCIGN(keras.Model):
  """Deep Convolutional Inverse Graphics Network (Kulkarni et al., 2015).

  Args:
    network: a `configs.NetworkConfig` (or its dict).
    training: "dcign" (clamp and pull to the group mean), "vae" (the
      entangled baseline), "gvae" (the Group-VAE: shared latents'
      posteriors averaged over the group) or "ada_gvae" (Ada-GVAE: pairs
      of group members, the shared latents inferred).
    factor_latents: factor name -> latent indices it owns (default z1, z2,
      z3 for azimuth, elevation, light); factors left out have no latent
      (chairs: {"azimuth": [0]}).
    invariance_scale: s, the pull's strength relative to a loss summed over
      one image's pixels (the paper's 1/100).
    invariance_spread_scale: s_spread, a pull added to s's that measures
      each latent's deviation in its standard deviations over the batch
      and is differentiated through them too (`clamp.spread_scale`,
      `clamp.spread_variance_gradient`), so that shrinking a latent does
      not weaken it; 0 is the paper's pull alone.
    clamp_gradient: what inactive latents receive in the backward pass:
      "pull" (the paper's: only the pull to the group mean) or
      "mean_and_pull" (also the decoder's gradient at the group mean, the
      clamp's exact gradient; see `clamp.clamp_to_group_mean`).
    beta: weight of the KL term (1 = SGVB).
    likelihood: "bernoulli" (the paper's), "gaussian" pixels of mean
      sigmoid(output), or "gaussian_linear" pixels of mean output (see
      `losses.reconstruction_nll`; `losses.pixels` makes images of the
      decoder's outputs).
    pixel_stddev: the Gaussian likelihood's fixed standard deviation.
    kl_warmup_steps: ramp the KL weight linearly from 0 to `beta` over this
      many optimizer steps (0: no ramp). Early on, a full KL term lets the
      posterior of a latent collapse to the prior before the decoder has
      learnt to use it; a ramp is a common remedy.
    mirror_odd_factors: factors (from MIRROR_ODD_FACTORS) whose latents
      the encoder makes odd under a horizontal mirror of the image (see
      `layers.Encoder`); empty is the paper's encoder.
    decoder_phases: compute the decoder's upsampling + convolution stages
      at the low resolution (see `layers.Decoder`): same values, fewer
      operations.
    seed: seed of the posterior samples. The noise of a training step is
      keyed by (seed, step, group's index in the global batch), so every
      replica of a tf.distribute strategy draws its own groups' noise and
      R replicas train exactly as one device on the same global batch; a
      resumed run draws the same noise as an uninterrupted one.

  Example:
    model = DCIGN(configs.small())
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    model.fit(pipeline.live_dataset(source), steps_per_epoch=100)
    reconstructions = model.predict(images)
  """

  def __init__(self, network, training="dcign", factor_latents=None,
               invariance_scale=DEFAULT_INVARIANCE_SCALE, beta=1.0,
               likelihood="bernoulli", pixel_stddev=0.1, kl_warmup_steps=0,
               clamp_gradient="pull", mirror_odd_factors=(), decoder_phases=True,
               clamp_target="group_mean", invariance_spread_scale=0.0,
               seed=None, **kwargs):
    super().__init__(**kwargs)
    network = configs.as_network(network)
    if training not in TRAINING_MODES:
      raise ValueError(f"Unknown training mode {training!r}; allowed: "
                       f"{', '.join(TRAINING_MODES)}.")
    if (invariance_scale < 0 or invariance_spread_scale < 0 or beta < 0 or
        kl_warmup_steps < 0):
      raise ValueError("invariance_scale, invariance_spread_scale, beta and "
                       "kl_warmup_steps must be >= 0, got "
                       f"{invariance_scale}, {invariance_spread_scale}, "
                       f"{beta} and {kl_warmup_steps}.")
    if likelihood not in losses.LIKELIHOODS:
      raise ValueError(f"Unknown likelihood {likelihood!r}; allowed: "
                       f"{', '.join(losses.LIKELIHOODS)}.")
    if not pixel_stddev > 0:
      raise ValueError(f"pixel_stddev must be > 0, got {pixel_stddev}.")
    if clamp_gradient not in CLAMP_GRADIENTS:
      raise ValueError(f"Unknown clamp gradient {clamp_gradient!r}; allowed: "
                       f"{', '.join(CLAMP_GRADIENTS)}.")
    if clamp_target not in CLAMP_TARGETS:
      raise ValueError(f"Unknown clamp target {clamp_target!r}; allowed: "
                       f"{', '.join(CLAMP_TARGETS)}.")
    self.clamp_gradient = clamp_gradient
    self.clamp_target = clamp_target
    self.invariance_spread_scale = float(invariance_spread_scale)
    self.likelihood = likelihood
    self.pixel_stddev = float(pixel_stddev)
    self.network = network
    self.training_mode = training
    self.factor_latents = {
        name: tuple(int(i) for i in indices) for name, indices in (
            factor_latents or DEFAULT_FACTOR_LATENTS).items()}
    self.invariance_scale = float(invariance_scale)
    self.beta = float(beta)
    self.kl_warmup_steps = int(kl_warmup_steps)
    self.seed = seed
    self.active_table = clamp.active_latent_table(network.latent_size,
                                                  self.factor_latents)
    self.mirror_odd_factors = tuple(mirror_odd_factors)
    odd_latents = []
    for name in self.mirror_odd_factors:
      if name not in MIRROR_ODD_FACTORS:
        raise ValueError(f"A mirror does not negate {name!r}; allowed mirror "
                         f"odd factors: {', '.join(MIRROR_ODD_FACTORS)}.")
      if name not in self.factor_latents:
        raise ValueError(f"{name!r} has no latent to make odd (factor "
                         f"latents: {sorted(self.factor_latents)}).")
      odd_latents += self.factor_latents[name]
    self.encoder = layers.Encoder(network, odd_latents=odd_latents,
                                  name="encoder")
    self.decoder_phases = bool(decoder_phases)
    self.decoder = layers.Decoder(network, phases=self.decoder_phases,
                                  name="decoder")
    self.trackers = {
        name: keras.metrics.Mean(name=name)
        for name in ("loss", "reconstruction", "kl", "mse", "invariance")
    }

  @property
  def metrics(self):
    return list(self.trackers.values())

  def encode(self, images):
    """Posterior q(z | images) as a TFP distribution (float32 under any
    mixed-precision policy: the sampler, KL and clamp need its range)."""
    loc, log_variance = self.encoder(images)
    return losses.posterior(tf.cast(loc, tf.float32),
                            tf.cast(log_variance, tf.float32))

  def decode_logits(self, latents):
    """Latents [B, N] -> image logits [B, S, S, C], float32."""
    latents = tf.cast(latents, self.decoder.compute_dtype)
    return tf.cast(self.decoder(latents), tf.float32)

  def decode(self, latents):
    """Latents [B, N] -> images [B, S, S, C] in [0, 1]."""
    return losses.pixels(self.decode_logits(latents), self.likelihood)

  def call(self, images, training=False):
    """Reconstructions from the posterior mean (deterministic)."""
    del training
    loc, _ = self.encoder(images)
    return self.decode(loc)

  def step(self):
    """The optimizer step (0 before compile)."""
    if self.optimizer is None:
      return tf.constant(0, tf.int64)
    return tf.cast(self.optimizer.iterations, tf.int64)

  def batch_images(self, data):
    """Images in one replica's share of a batch (K * G)."""
    shape = tf.shape(data["images"])
    return shape[0] * shape[1]

  def _replica_share(self, draw, rows_per_replica, key_offset=0):
    """This replica's rows of `draw(global rows, seed)`.

    Drawn for the whole global batch from a stateless seed of (seed +
    key_offset, step) and sliced at this replica's rows, so a row's values
    depend neither on how many replicas share the batch nor on whether the
    run resumed.
    """
    context = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    replica = 0 if context is None else context.replica_id_in_sync_group
    key = tf.stack([tf.constant(self.seed or 0, tf.int64) + key_offset,
                    self.step()])
    values = draw(rows_per_replica * replicas, key)
    start = tf.cast(replica, tf.int32) * rows_per_replica
    return values[start:start + rows_per_replica]

  def posterior_noise(self, images_per_replica, latent_size):
    """Standard normal noise [B, N] for this replica's images."""
    # Philox by name: the default "auto_select" draws other numbers under
    # XLA than without it.
    return self._replica_share(
        lambda rows, key: tf.random.stateless_normal(
            tf.stack([rows, latent_size]), seed=key, alg="philox"),
        images_per_replica)

  def member_shifts(self, groups_per_replica, group_size):
    """Each group's cyclic shift in [1, G - 1] for the other-member clamp,
    keyed like `posterior_noise` (replicas and resumed runs pair the same
    members)."""
    uniform = self._replica_share(
        lambda rows, key: tf.random.stateless_uniform(
            tf.reshape(rows, [1]), seed=key, alg="philox"),
        groups_per_replica, key_offset=1)
    return 1 + tf.cast(
        tf.floor(uniform * tf.cast(tf.maximum(group_size - 1, 1),
                                   tf.float32)), tf.int32)

  def kl_weight(self):
    """beta, ramped up from 0 over the first kl_warmup_steps steps."""
    if not self.kl_warmup_steps or self.optimizer is None:
      return self.beta
    progress = tf.cast(self.optimizer.iterations, tf.float32) / float(
        self.kl_warmup_steps)
    return self.beta * tf.minimum(progress, 1.0)

  def objective(self, data, sample=True, noise=None, loss_scale=1.0):
    """Per-batch losses for a grouped batch, before replica scaling.

    Args:
      data: a pipeline batch (images [K, G, S, S, C], group_type [K]).
      sample: draw z from the posterior (training) or use its mean.
      noise: the standard normal noise [K * G, N] of the samples (default
        `posterior_noise`).
      loss_scale: the factor by which the caller will multiply the loss
        before differentiating (a LossScaleOptimizer's dynamic scale). The
        clamp's pull is a gradient injected in the backward pass, not the
        gradient of a loss term, so it must be multiplied by the same
        factor to survive the optimizer's unscaling.

    Returns:
      dict of scalar tensors (loss is the mean over images of
      reconstruction + beta * KL, plus the pull of the other-member clamp)
      and the decoder's input latents.
    """
    images = data["images"]
    shape = tf.shape(images)
    num_groups, group_size = shape[0], shape[1]
    flat_images = tf.reshape(images, tf.concat([[-1], shape[2:]], 0))
    group_ids = tf.repeat(tf.range(num_groups), group_size)
    active = tf.gather(tf.constant(self.active_table),
                       tf.repeat(tf.cast(data["group_type"], tf.int32),
                                 group_size))

    own = distribution = self.encode(flat_images)
    if self.training_mode in ("gvae", "ada_gvae"):
      distribution = self.aggregate_posterior(own, group_ids, active,
                                              num_groups, group_size)
    if sample:
      # Reparameterised: z = mean + stddev * noise.
      if noise is None:
        noise = self.posterior_noise(tf.shape(flat_images)[0],
                                     self.network.latent_size)
      latents = distribution.mean() + distribution.stddev() * noise
    else:
      latents = distribution.mean()
    batch_images = tf.cast(tf.shape(flat_images)[0], latents.dtype)
    pull_loss = tf.constant(0.0, latents.dtype)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if self.training_mode == "dcign":
      pull_scale = clamp.spread_scale(latents, self.invariance_scale,
                                      self.invariance_spread_scale)
      if self.clamp_target == "group_mean":
        # The loss is a mean over the global batch, so the per-image pull s
        # becomes s / (images per replica * replicas).
        scale = pull_scale * tf.cast(
            loss_scale, latents.dtype) / (batch_images * replicas)
        decoder_latents = clamp.clamp_to_group_mean(
            latents, group_ids, active, scale, num_groups,
            through_mean=self.clamp_gradient == "mean_and_pull")
      else:
        partners = clamp.other_member_indices(
            self.member_shifts(num_groups, group_size), group_size)
        decoder_latents = clamp.swap_with_group_member(latents, active,
                                                       partners)
        # The same pull as the mean clamp's, here as a loss term (whose
        # gradient the caller's loss scaling reaches by itself): s per
        # image, so s / B on the batch mean.
        pull_loss = clamp.invariance_penalty(latents, group_ids, active,
                                             pull_scale, num_groups)
      # The spread pull's gradient through the batch variance (value 0),
      # per image like the pull itself.
      pull_loss = (pull_loss + clamp.spread_variance_gradient(
          latents, group_ids, active, self.invariance_spread_scale,
          num_groups)) / batch_images
    else:  # The averaging (if any) is in the posterior itself.
      decoder_latents = latents
    logits = self.decode_logits(decoder_latents)
    reconstruction = losses.reconstruction_nll(
        flat_images, logits, self.likelihood, self.pixel_stddev)
    kl = losses.kl_to_prior(distribution)
    # Invariance is measured on the encoder's posterior means: the samples'
    # own noise would hide how far the codes themselves are from their
    # group's (and an averaged posterior is invariant by construction).
    loc = own.mean()
    deviation = loc - clamp.group_means(loc, group_ids, num_groups)
    inactive = 1.0 - active
    invariance = tf.reduce_sum(inactive * tf.square(deviation)) / tf.maximum(
        tf.reduce_sum(inactive), 1.0)
    return {
        "loss": tf.reduce_mean(reconstruction + self.kl_weight() * kl) +
                pull_loss,
        "reconstruction": tf.reduce_mean(reconstruction),
        "kl": tf.reduce_mean(kl),
        "mse": tf.reduce_mean(losses.pixel_mse(
            flat_images, losses.pixels(logits, self.likelihood))),
        "invariance": invariance,
    }, decoder_latents

  def aggregate_posterior(self, distribution, group_ids, active, num_groups,
                          group_size):
    """The weakly supervised baselines' posterior: on the latents a group
    shares (gvae: the inactive ones) or a pair is inferred to share
    (ada_gvae), the members' posteriors averaged."""
    mean = distribution.mean()
    log_variance = 2.0 * tf.math.log(distribution.stddev())
    if self.training_mode == "gvae":
      mean, log_variance = group_vae.average_posteriors(
          mean, log_variance, group_ids, 1.0 - active, num_groups)
    else:
      partners = clamp.other_member_indices(
          self.member_shifts(num_groups, group_size), group_size)
      mean, log_variance, _ = ada_gvae.average_pairs(mean, log_variance,
                                                     partners)
    return losses.posterior(mean, log_variance)

  def compute_gradients(self, data, noise=None):
    """(gradients, loss terms) of one replica's share of a global batch.

    No variable changes, so a training loop may compile this alone with
    XLA and apply the gradients (a cross-replica sum) outside it. Pass the
    `posterior_noise` in when compiling: XLA's random kernels draw other
    numbers from the same seed than TensorFlow's.
    """
    # A LossScaleOptimizer (mixed float16) multiplies the loss by its
    # dynamic scale; other optimizers return it as is.
    loss_scale = self.optimizer.scale_loss(tf.constant(1.0, tf.float32))
    with tf.GradientTape() as tape:
      values, _ = self.objective(data, sample=True, noise=noise,
                                 loss_scale=tf.stop_gradient(loss_scale))
      # Keras 3's optimizer sums gradients over replicas: divide so R
      # replicas make the same update as one device.
      replicas = tf.distribute.get_strategy().num_replicas_in_sync
      scaled = values["loss"] / tf.cast(replicas, values["loss"].dtype)
      scaled = scaled * tf.cast(loss_scale, scaled.dtype)
    return tape.gradient(scaled, self.trainable_variables), values

  def apply_step_gradients(self, gradients, values):
    """Applies `compute_gradients`' result; returns the running metrics."""
    self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
    return self._update_trackers(values)

  def train_step(self, data):
    return self.apply_step_gradients(*self.compute_gradients(data))

  def test_step(self, data):
    values, _ = self.objective(data, sample=False)
    return self._update_trackers(values)

  def _update_trackers(self, values):
    for name, tracker in self.trackers.items():
      tracker.update_state(values[name])
    return {name: tracker.result() for name, tracker in self.trackers.items()}

  def get_config(self):
    return {
        **super().get_config(),
        "network": self.network.to_dict(),
        "training": self.training_mode,
        "factor_latents": {k: list(v) for k, v in self.factor_latents.items()},
        "invariance_scale": self.invariance_scale,
        "beta": self.beta,
        "likelihood": self.likelihood,
        "clamp_gradient": self.clamp_gradient,
        "clamp_target": self.clamp_target,
        "invariance_spread_scale": self.invariance_spread_scale,
        "pixel_stddev": self.pixel_stddev,
        "kl_warmup_steps": self.kl_warmup_steps,
        "mirror_odd_factors": list(self.mirror_odd_factors),
        "decoder_phases": self.decoder_phases,
        "seed": self.seed,
    }

  @classmethod
  def from_preset(cls, name: str, directory=None) -> "DCIGN":
    """The trained model shipped as preset `name` (see
    `dcign_tf.preset_files`), built and ready to encode and decode.

    Every preset file is checked against its SHA-256 first. Raises
    preset_files.PresetError for an unknown name (listing the known ones)
    or a corrupted file (naming it).

    Example:
      model = DCIGN.from_preset("faces_64")
      images = model.decode(model.encode(photos).mean())
    """
    preset = preset_files.open_preset(name, directory)
    model = cls.from_config(preset.json(preset_files.MODEL_FILE))
    model.build_for_images()
    preset_files.assign_weights(preset, model.weights)
    return model

  def build_for_images(self):
    """Creates every variable by calling the model once on zeros."""
    size, channels = self.network.image_size, self.network.channels
    self(tf.zeros([1, size, size, channels]))
    return self
