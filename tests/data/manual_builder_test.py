"""Tests for dcign_tf.data.manual_builder: the split by name hash and the
base builder's registration."""

import hashlib

import pytest
import tensorflow_datasets as tfds

from dcign_tf.data import manual_builder

NAMES = tuple(f"item_{index:03d}" for index in range(200))


def test_bucket_is_the_md5_of_the_name_modulo_1000():
  digest = hashlib.md5("chair".encode("utf-8")).hexdigest()
  assert manual_builder.split_bucket("chair") == int(digest, 16) % 1000


def test_a_name_goes_to_test_below_the_fraction_of_buckets():
  splits = manual_builder.split_by_name(NAMES, 0.25)
  assert set(splits["train"]) | set(splits["test"]) == set(NAMES)
  assert not set(splits["train"]) & set(splits["test"])
  for name in splits["test"]:
    assert manual_builder.split_bucket(name) < 250
  for name in splits["train"]:
    assert manual_builder.split_bucket(name) >= 250
  assert list(splits["test"]) == sorted(splits["test"])
  # About a quarter: 200 hashes, binomial standard deviation about 6.
  assert 25 <= len(splits["test"]) <= 75


def test_a_split_does_not_depend_on_the_other_names():
  whole = manual_builder.split_by_name(NAMES, 0.25)
  half = manual_builder.split_by_name(NAMES[::2][::-1], 0.25)
  assert set(half["test"]) == set(whole["test"]) & set(NAMES[::2])


def test_neither_split_is_left_empty():
  by_bucket = sorted(NAMES[:5], key=lambda n: (manual_builder.split_bucket(n),
                                               n))
  none_in_test = manual_builder.split_by_name(NAMES[:5], 1e-9)
  assert none_in_test["test"] == (by_bucket[0],)
  all_in_test = manual_builder.split_by_name(NAMES[:5], 1.0)
  assert all_in_test["train"] == (by_bucket[-1],)
  with pytest.raises(ValueError, match="at least 2 names"):
    manual_builder.split_by_name(["one"], 0.5)


def test_the_base_builder_is_not_a_dataset():
  assert "manual_dir_builder" not in tfds.list_builders()
