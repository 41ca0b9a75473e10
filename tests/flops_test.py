"""Tests for dcign_tf.flops."""

import pytest

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
