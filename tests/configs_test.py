"""Tests for dcign_tf.configs."""

import dataclasses

import pytest

from dcign_tf import configs


def test_paper_geometry():
  network = configs.paper()
  assert network.encoder_grid() == 15  # 150 -> 73 -> 34 -> 15
  assert network.decoder_grid() == 15  # 15 -> 24 -> 42 -> 78 -> 150
  assert network.latent_size == 200 and network.padding == "valid"


def test_small_geometry():
  network = configs.small()
  assert network.image_size == 64
  assert network.encoder_grid() == 4 and network.decoder_grid() == 4


def test_round_trip():
  network = configs.small(latent_size=12)
  assert configs.NetworkConfig.from_dict(network.to_dict()) == network


def test_hidden_layer_round_trips_and_older_records_stay_equal():
  wide = dataclasses.replace(configs.small(), dense_units=64)
  assert wide.to_dict()["dense_units"] == 64
  assert configs.NetworkConfig.from_dict(wide.to_dict()) == wide
  # Without a hidden layer the record is the one written before the
  # setting existed, so older architecture.json files still match.
  assert "dense_units" not in configs.small().to_dict()
  assert configs.NetworkConfig.from_dict(
      configs.small().to_dict()).dense_units == 0


@pytest.mark.parametrize("build,message", [
    (lambda: configs.paper(image_size=64), "cannot be produced by decoder"),
    (lambda: configs.small(image_size=60), "cannot be produced by decoder"),
    (lambda: configs.small(latent_size=3), "latent_size must be >= 4"),
    (lambda: configs.preset("huge"), "Unknown network preset 'huge'"),
    (lambda: configs.NetworkConfig(padding="full"), "padding must be"),
    (lambda: configs.NetworkConfig(dense_units=-1),
     "dense_units must be >= 0 .* got -1"),
    (lambda: configs.NetworkConfig.from_dict({"width": 3}),
     "Unknown network settings"),
])
def test_bad_geometry(build, message):
  with pytest.raises(ValueError, match=message):
    build()


def test_error_suggests_reachable_sizes():
  with pytest.raises(ValueError, match="e.g. .*150"):
    configs.paper(image_size=149)
