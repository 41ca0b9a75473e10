"""Tests for dcign_tf.data.pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups
from dcign_tf.data import pipeline

SOURCE = groups.GroupSource(image_size=32, group_size=3, seed=2)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  config = faces_dataset.make_config(image_size=32, group_size=3,
                                     train_groups_per_type=3,
                                     test_groups_per_type=2, seed=2)
  builder = faces_dataset.builder(config, str(tmp_path_factory.mktemp("tfds")),
                                  num_workers=1)
  builder.download_and_prepare()
  return builder


@pytest.mark.parametrize("ratio", ["1:1:1:10", "1:0:2:1", "0:0:0:1"])
def test_draw_group_types_follows_the_ratio(ratio):
  draws = pipeline.draw_group_types(ratio, 2000, np.random.default_rng(0))
  share = np.bincount(draws, minlength=4) / 2000
  np.testing.assert_allclose(share, factors.parse_ratio(ratio), atol=0.03)


def test_prepared_batches_hold_whole_groups(prepared):
  batch = next(iter(pipeline.prepared_dataset(prepared, "train",
                                              groups_per_batch=2, seed=1)))
  assert batch["images"].shape == (2, 3, 32, 32, 1)
  assert batch["images"].dtype == tf.float32
  assert 0.0 <= float(tf.reduce_min(batch["images"]))
  assert float(tf.reduce_max(batch["images"])) <= 1.0
  assert batch["group_type"].shape == (2,)
  assert batch["group_type"].dtype == tf.int32
  for key in ("azimuth", "elevation", "light"):
    assert batch[key].shape == (2, 3)
  assert batch["identity"].shape == (2, 3, 33)


@pytest.mark.parametrize("ratio", ["1:1:1:10", "2:0:1:1"])
def test_prepared_type_ratio_over_2000_draws(prepared, ratio):
  dataset = pipeline.prepared_dataset(prepared, "train", ratio=ratio,
                                      groups_per_batch=1, seed=3)
  types = np.concatenate([b["group_type"].numpy() for b in dataset.take(2000)])
  share = np.bincount(types, minlength=4) / len(types)
  np.testing.assert_allclose(share, factors.parse_ratio(ratio), atol=0.03)


def test_prepared_batches_match_their_type(prepared):
  dataset = pipeline.prepared_dataset(prepared, "train", ratio="1:1:1:1",
                                      groups_per_batch=1, seed=4)
  for batch in dataset.take(40):
    group_type = factors.GroupType(int(batch["group_type"][0]))
    for name in factors.FACTORS:
      values = batch[name][0].numpy()
      assert (np.ptp(values) > 0) == (name == group_type.factor)


def test_evaluation_dataset_reads_every_group_once(prepared):
  batches = list(pipeline.evaluation_dataset(prepared, "test",
                                             groups_per_batch=3))
  types = np.concatenate([b["group_type"].numpy() for b in batches])
  assert sorted(types.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_live_dataset_is_deterministic_and_matches_the_source():
  def first_batches(workers):
    dataset = pipeline.live_dataset(SOURCE, ratio="1:1:1:1", groups_per_batch=2,
                                    seed=7, num_workers=workers)
    return [batch for batch in dataset.take(2)]

  one, again, parallel = first_batches(1), first_batches(1), first_batches(2)
  for a, b, c in zip(one, again, parallel):
    np.testing.assert_array_equal(a["images"].numpy(), b["images"].numpy())
    np.testing.assert_array_equal(a["images"].numpy(), c["images"].numpy())
  assert one[0]["images"].shape == (2, 3, 32, 32, 1)
  # The stream's group i is the source's ("stream", type, i).
  first_type = int(one[0]["group_type"][0])
  expected = SOURCE.example(("stream", first_type, 0))
  np.testing.assert_allclose(one[0]["images"][0].numpy(),
                             expected["images"] / 255.0, atol=1e-7)


@pytest.mark.parametrize("kwargs,message", [
    (dict(ratio="1:-1:1:1"), "negative"),
    (dict(ratio="0:0:0:0"), "all-zero"),
    (dict(groups_per_batch=0), "groups_per_batch must be an integer >= 1"),
])
def test_bad_pipeline_arguments_fail_at_construction(kwargs, message):
  with pytest.raises(ValueError, match=message):
    pipeline.live_dataset(SOURCE, **kwargs)


def test_live_dataset_refuses_to_sweep_a_fixed_factor():
  source = groups.GroupSource(image_size=32, group_size=3,
                              ranges=factors.FactorRanges(light=(0, 0)))
  with pytest.raises(ValueError, match="light groups have weight > 0"):
    pipeline.live_dataset(source, ratio="1:1:1:1")
  pipeline.live_dataset(source, ratio="1:1:0:1")
