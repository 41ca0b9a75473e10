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
