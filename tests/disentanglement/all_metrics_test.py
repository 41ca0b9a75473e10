"""Tests for dcign_tf.disentanglement.all_metrics."""

import json

import pytest

from dcign_tf import disentanglement as dis
from tests.disentanglement import grids


SMALL = {"num_train": 300, "num_test": 200, "batch_size": 16,
         "num_variance_estimate": 500}


def test_all_metrics_is_deterministic_and_json_serialisable():
  grid = dis.FactorGrid(
      grids.with_extra(grids.factor_indices(), grids.rng(3).normal(size=grids.SIZES)),
      ("id", "az", "el"))
  first = dis.all_metrics(grid, grids.rng(7), **SMALL)
  again = dis.all_metrics(grid, grids.rng(7), **SMALL)
  assert json.dumps(first) == json.dumps(again)
  assert set(first) == set(dis.METRIC_NAMES) | {"factor_names",
                                                "factor_sizes"}
  assert first["factor_names"] == ["id", "az", "el"]
  assert len(first["dci"]["importance"]) == 4
  other = dis.all_metrics(grid, grids.rng(8), include=("mig", "sap"), **SMALL)
  assert set(other) == {"mig", "sap", "factor_names", "factor_sizes"}
  assert other["mig"]["mig"] != first["mig"]["mig"]
  # Each metric has its own generator, so leaving others out changes none.
  alone = dis.all_metrics(grid, grids.rng(7), include=("beta_vae",), **SMALL)
  assert alone["beta_vae"] == first["beta_vae"]
  with pytest.raises(ValueError, match="unknown metrics"):
    dis.all_metrics(grid, grids.rng(7), include=("modularity",))
