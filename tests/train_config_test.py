"""Tests for dcign_tf.train_config."""

import json

import pytest

from dcign_tf import train_config as train_config_lib
from dcign_tf.data import factors


def test_config_round_trips_through_json(tiny_config, tmp_path):
  config = tiny_config(tmp_path, mirror_odd_factors=("azimuth",),
                       warmup_ranges=factors.FactorRanges(azimuth=(-20, 20)),
                       range_warmup_steps=3)
  values = json.loads(json.dumps(train_config_lib.config_to_dict(config)))
  assert train_config_lib.config_from_dict(values) == config
  with pytest.raises(ValueError, match=r"Unknown training settings \['x'\]"):
    train_config_lib.config_from_dict({**values, "x": 1})


def test_dense_units_widen_the_preset_network(tiny_config, tmp_path):
  plain = train_config_lib.validate(tiny_config(tmp_path))
  wide = train_config_lib.validate(tiny_config(tmp_path, dense_units=48))
  assert plain.dense_units == 0 and wide.dense_units == 48
  # Everything else is the preset's.
  assert wide.to_dict() == {**plain.to_dict(), "dense_units": 48}
  # A config written before the setting existed reads as no hidden layer.
  values = train_config_lib.config_to_dict(tiny_config(tmp_path))
  del values["dense_units"]
  assert train_config_lib.config_from_dict(values).dense_units == 0
  with pytest.raises(ValueError, match="dense_units must be >= 0"):
    train_config_lib.validate(tiny_config(tmp_path, dense_units=-2))
