"""Tests for dcign_tf.flops."""

import dataclasses

import pytest

from dcign_tf import configs
from dcign_tf import flops
from dcign_tf import train_config as train_config_lib


def test_forward_flops_of_the_paper_network(tiny_config, tmp_path):
  config = tiny_config(tmp_path, network="paper", image_size=150,
                       latent_size=200,
                       train_steps=12000, checkpoint_every=12000)
  network = train_config_lib.validate(config)
  # The paper network's forward pass is about 7.8 GFLOP per image; its
  # decoder in phases does 7x7 stages with 16 taps per output, not 49.
  assert flops.forward_flops_per_image(
      network, phases=False) == pytest.approx(7.8e9, rel=0.1)
  assert flops.forward_flops_per_image(network) == pytest.approx(
      3.4e9, rel=0.05)


def test_hidden_layers_add_their_multiply_adds():
  base = configs.small()
  wide = dataclasses.replace(base, dense_units=100)
  features = base.encoder_grid() ** 2 * base.encoder_filters[-1]
  grid_features = base.decoder_grid() ** 2 * base.encoder_filters[-1]
  # Encoder: features -> 100 -> two heads of N; decoder: N -> 100 -> grid,
  # in place of features -> two heads and N -> grid.
  added = 2.0 * (features * 100 + 100 * base.latent_size +
                 2 * 100 * base.latent_size + 100 * grid_features -
                 2 * features * base.latent_size -
                 base.latent_size * grid_features)
  assert flops.forward_flops_per_image(wide) - flops.forward_flops_per_image(
      base) == pytest.approx(added)
