"""Tests for dcign_tf.data.pipeline."""

import re

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


def _stored_groups(prepared):
  """Every stored training group as (images, azimuth, elevation, light)."""
  stored = prepared.as_dataset(split=faces_dataset.split_names("train"),
                               shuffle_files=False)
  return [(g["images"].numpy(), *(g[k].numpy() for k in
                                   pipeline.FACTOR_KEYS))
          for g in stored]


def test_kept_members_are_a_group_s_own_in_order(prepared):
  stored = _stored_groups(prepared)
  dataset = pipeline.prepared_dataset(prepared, "train", ratio="1:1:1:1",
                                      groups_per_batch=2, seed=6,
                                      members_per_group=2)
  chosen = set()
  for batch in dataset.take(30):
    assert batch["images"].shape == (2, 2, 32, 32, 1)
    assert batch["identity"].shape == (2, 2, 33)
    for k in range(2):
      images = np.round(batch["images"][k].numpy() * 255).astype(np.uint8)
      matches = [
          (group, [next(i for i in range(3)
                        if np.array_equal(group[0][i], image))
                   for image in images])
          for group in stored
          if all(any(np.array_equal(m, image) for m in group[0])
                 for image in images)]
      assert len(matches) == 1  # Both members come from one stored group,
      group, members = matches[0]
      assert members == sorted(set(members))  # distinct, in stored order,
      for f, key in enumerate(pipeline.FACTOR_KEYS):  # with their factors.
        np.testing.assert_array_equal(batch[key][k].numpy(),
                                      group[1 + f][members])
      group_type = factors.GroupType(int(batch["group_type"][k]))
      for name in factors.FACTORS:
        assert (np.ptp(batch[name][k].numpy()) > 0) == (
            name == group_type.factor)
      chosen.add(tuple(members))
  # Over 60 groups every pair of members of 3 is drawn.
  assert chosen == {(0, 1), (0, 2), (1, 2)}


def test_kept_members_resume_and_shard_like_the_full_stream(prepared):
  def stream(**kwargs):
    return _images(pipeline.prepared_dataset(
        prepared, "train", "1:1:1:1", groups_per_batch=2, seed=5,
        members_per_group=2, **kwargs), 8)

  full = stream()
  assert full[0].shape == (2, 2, 32, 32, 1)
  np.testing.assert_array_equal(stream(first_step=5)[0], full[5])
  shares = stream(sharding=pipeline.Sharding(2, (0, 1)))
  np.testing.assert_array_equal(
      np.concatenate([shares[2], shares[3]]), full[1])
  # The same slots with whole groups hold the groups the members came from.
  whole = _images(pipeline.prepared_dataset(
      prepared, "train", "1:1:1:1", groups_per_batch=2, seed=5), 8)
  for kept, groups_of_step in zip(full, whole):
    for members, group in zip(kept, groups_of_step):
      assert all(any(np.array_equal(m, g) for g in group) for m in members)


@pytest.mark.parametrize("members", [1, 4, 2.5, True, -1])
def test_bad_members_per_group_fails_before_reading(prepared, members):
  with pytest.raises(ValueError, match=r"members_per_group must be 0 \(whole "
                     r"groups\) or an integer in \[2, group_size=3\], got "
                     + re.escape(repr(members))):
    pipeline.prepared_dataset(prepared, "train", members_per_group=members)


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
    (dict(reuse=0), r"whole number of times from 1 to 16, got reuse=0"),
    (dict(reuse=2.5), r"got reuse=2.5"),
])
def test_bad_pipeline_arguments_fail_at_construction(kwargs, message):
  with pytest.raises(ValueError, match=message):
    pipeline.live_dataset(SOURCE, **kwargs)


def test_reused_live_groups_appear_the_given_number_of_times():
  dataset = pipeline.live_dataset(SOURCE, ratio="1:1:1:1", seed=3, reuse=3,
                                  num_workers=1)
  batches = [batch for batch in dataset.take(60)]
  # Each distinct group (identified by its pixels) comes exactly 3 times,
  # once every group in the window has been drawn.
  counts = {}
  for batch in batches:
    key = batch["images"].numpy().tobytes()
    counts[key] = counts.get(key, 0) + 1
  assert max(counts.values()) == 3
  assert len(counts) >= 20
  # The copies are scattered, not served back to back.
  keys = [b["images"].numpy().tobytes() for b in batches]
  assert sum(a == b for a, b in zip(keys, keys[1:])) < 10
  # The 60 slots are the first window's: the first 32 groups of the
  # unreused stream of the same seed.
  stream = pipeline.live_groups(SOURCE, ratio="1:1:1:1", seed=3)
  rendered = {(next(stream)["images"] / 255.0).astype(np.float32).tobytes()
              for _ in range(pipeline.REUSE_SHUFFLE_GROUPS)}
  assert set(counts) <= rendered


def _images(dataset, count):
  return [batch["images"].numpy() for batch in dataset.take(count)]


@pytest.mark.parametrize("reuse", [1, 2])
def test_a_live_stream_started_at_step_n_continues_the_full_one(reuse):
  full = _images(pipeline.live_dataset(
      SOURCE, "1:1:1:1", groups_per_batch=2, seed=3, reuse=reuse), 40)
  resumed = _images(pipeline.live_dataset(
      SOURCE, "1:1:1:1", groups_per_batch=2, seed=3, reuse=reuse,
      first_step=33), 7)
  for expected, batch in zip(full[33:], resumed):
    np.testing.assert_array_equal(batch, expected)


def test_live_shares_of_replicas_make_up_the_global_batch():
  full = _images(pipeline.live_dataset(
      SOURCE, "1:1:1:1", groups_per_batch=4, seed=3, reuse=2), 6)
  both = _images(pipeline.live_dataset(
      SOURCE, "1:1:1:1", groups_per_batch=4, seed=3, reuse=2,
      sharding=pipeline.Sharding(2, (0, 1))), 12)
  second = _images(pipeline.live_dataset(
      SOURCE, "1:1:1:1", groups_per_batch=4, seed=3, reuse=2,
      sharding=pipeline.Sharding(2, (1,))), 6)
  for step, expected in enumerate(full):
    assert both[2 * step].shape[0] == 2
    np.testing.assert_array_equal(
        np.concatenate([both[2 * step], both[2 * step + 1]]), expected)
    np.testing.assert_array_equal(second[step], expected[2:])


def test_prepared_streams_resume_and_shard_like_the_full_one(prepared):
  def stream(**kwargs):
    return _images(pipeline.prepared_dataset(
        prepared, "train", "1:1:1:1", groups_per_batch=2, seed=5, **kwargs),
                   12)

  full = stream()
  np.testing.assert_array_equal(stream(first_step=5)[0], full[5])
  shares = stream(sharding=pipeline.Sharding(2, (0, 1)))
  np.testing.assert_array_equal(
      np.concatenate([shares[2], shares[3]]), full[1])
  np.testing.assert_array_equal(
      stream(sharding=pipeline.Sharding(2, (1,)))[3], full[3][1:])


def test_shardings_are_checked():
  with pytest.raises(ValueError, match=r"local_replicas \[1, 0\] must be "
                     r"distinct, increasing ids in \[0, 2\)"):
    pipeline.Sharding(2, (1, 0))
  with pytest.raises(ValueError, match="groups_per_batch=3 cannot be split "
                     "into whole groups over 2 replicas"):
    pipeline.live_dataset(SOURCE, "1:1:1:1", groups_per_batch=3,
                          sharding=pipeline.Sharding(2, (0, 1)))


def test_live_dataset_refuses_to_sweep_a_fixed_factor():
  source = groups.GroupSource(image_size=32, group_size=3,
                              ranges=factors.FactorRanges(light=(0, 0)))
  with pytest.raises(ValueError, match="light groups have weight > 0"):
    pipeline.live_dataset(source, ratio="1:1:1:1")
  pipeline.live_dataset(source, ratio="1:1:0:1")


def test_range_warmup_widens_sweeps_with_the_step():
  start = factors.FactorRanges(azimuth=(-10, 10), elevation=(-5, 5),
                               light=(0, 20))
  warmup = pipeline.RangeWarmup(start, steps=4)
  assert warmup.ranges_at(2, SOURCE.ranges).azimuth == (-50.0, 50.0)
  stream = pipeline.live_groups(SOURCE, ratio="1:1:1:0", seed=5,
                                range_warmup=warmup, first_step=1,
                                groups_per_batch=2)
  examples = [next(stream) for _ in range(12)]
  for index, example in enumerate(examples):
    step = 1 + index // 2
    ranges = warmup.ranges_at(step, SOURCE.ranges)
    for name in factors.FACTORS:
      low, high = ranges.span(name)
      values = example[name]
      assert low - 1e-3 <= values.min() and values.max() <= high + 1e-3, (
          step, name, values)
  # From step 4 on the sweeps cover the full range: a stratified azimuth
  # sweep of 3 reaches beyond +-30 degrees at both ends.
  late = [e for i, e in enumerate(examples)
          if 1 + i // 2 >= 4 and int(e["group_type"]) == 0]
  assert late
  for example in late:
    assert example["azimuth"].min() < -30 and example["azimuth"].max() > 30


def test_range_warmup_is_checked_before_any_rendering():
  with pytest.raises(ValueError, match="whole number of steps >= 1"):
    pipeline.RangeWarmup(factors.FactorRanges(), steps=0)
  outside = pipeline.RangeWarmup(factors.FactorRanges(azimuth=(-95, 0)), 3)
  with pytest.raises(ValueError, match=r"azimuth \[-95, 0\] leaves"):
    pipeline.live_dataset(SOURCE, ratio="1:1:1:1", range_warmup=outside)
  fixed = pipeline.RangeWarmup(factors.FactorRanges(azimuth=(0, 0)), 3)
  with pytest.raises(ValueError, match="azimuth range is the single value"):
    pipeline.live_dataset(SOURCE, ratio="1:1:1:1", range_warmup=fixed)
