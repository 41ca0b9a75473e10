"""Tests for the dcign_faces TFDS builder (tiny sizes)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dcign_tf.data import factors
from dcign_tf.data import faces_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def tiny_config(**overrides):
  settings = dict(image_size=32, group_size=3, train_groups_per_type=2,
                  test_groups_per_type=1, seed=5)
  settings.update(overrides)
  return faces_dataset.make_config(**settings)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  builder = faces_dataset.builder(tiny_config(),
                                  str(tmp_path_factory.mktemp("tfds")),
                                  num_workers=1)
  builder.download_and_prepare()
  return builder


def _examples(builder, split):
  return list(builder.as_dataset(split=split, shuffle_files=False)
              .as_numpy_iterator())


def test_splits_shapes_and_types(prepared):
  splits = prepared.info.splits
  for group_type in factors.GroupType:
    assert splits[faces_dataset.split_name("train", group_type)
                  ].num_examples == 2
    assert splits[faces_dataset.split_name("test", group_type)
                  ].num_examples == 1
    for example in _examples(prepared,
                             faces_dataset.split_name("train", group_type)):
      assert example["group_type"] == group_type
      assert example["images"].shape == (3, 32, 32, 1)
      assert example["images"].dtype == np.uint8
      assert example["identity"].shape == (3, 33)
  assert len(_examples(prepared, faces_dataset.split_names("train"))) == 8


def test_stored_groups_are_the_rendered_groups(prepared):
  source = prepared.builder_config.source
  stored = sorted(_examples(prepared, "train_elevation"),
                  key=lambda e: e["elevation"][0])
  rendered = sorted((source.example(("train", "elevation", i))
                     for i in range(2)), key=lambda e: e["elevation"][0])
  for want, got in zip(rendered, stored):
    np.testing.assert_array_equal(got["images"], want["images"])
    np.testing.assert_array_equal(got["elevation"], want["elevation"])
    np.testing.assert_array_equal(got["identity"], want["identity"])


def test_train_and_test_identities_are_disjoint(prepared):
  def identities(split):
    return {row.tobytes() for example in _examples(
        prepared, faces_dataset.split_names(split))
            for row in example["identity"]}
  assert identities("train") and identities("test")
  assert not identities("train") & identities("test")


def test_parallel_workers_render_the_same_data(tmp_path, prepared):
  builder = faces_dataset.builder(tiny_config(), str(tmp_path), num_workers=2)
  builder.download_and_prepare()
  for split in ("train_azimuth", "test_intrinsic"):
    ours = sorted(_examples(builder, split), key=lambda e: e["images"].sum())
    theirs = sorted(_examples(prepared, split),
                    key=lambda e: e["images"].sum())
    for a, b in zip(ours, theirs):
      np.testing.assert_array_equal(a["images"], b["images"])


def test_config_names_encode_settings():
  assert faces_dataset.make_config(64).name == "64px"
  assert faces_dataset.make_config(150).name == "150px"
  names = {tiny_config().name, tiny_config(seed=6).name,
           tiny_config(group_size=4).name,
           tiny_config(ranges=factors.FactorRanges(light=(-30, 30))).name}
  assert len(names) == 4
  assert all(name.startswith("32px_") for name in names)


@pytest.mark.parametrize("overrides,message", [
    (dict(image_size=24), r"image_size must be an integer in \[32, 256\]"),
    (dict(group_size=1), "group_size must be an integer >= 2"),
    (dict(train_groups_per_type=0), "train_groups_per_type must be"),
    (dict(face_model="npz:/missing.npz"), "does not exist"),
])
def test_bad_configs_fail_before_rendering(overrides, message):
  with pytest.raises(ValueError, match=message):
    tiny_config(**overrides)


def test_unknown_split():
  with pytest.raises(ValueError, match="Unknown split 'validation'"):
    faces_dataset.split_name("validation", "azimuth")
  with pytest.raises(ValueError, match="Unknown group type 'roll'"):
    faces_dataset.split_name("train", "roll")


_SLOW_BUILD = textwrap.dedent("""
    import sys, time
    from dcign_tf.data import faces_dataset, groups
    original = groups.GroupSource.example
    def slow(self, task):
      time.sleep(0.1)
      return original(self, task)
    groups.GroupSource.example = slow
    config = faces_dataset.make_config(image_size=32, group_size=2,
                                       train_groups_per_type=30,
                                       test_groups_per_type=1, seed=9)
    faces_dataset.builder(config, sys.argv[1],
                          num_workers=1).download_and_prepare()
""")


def test_an_interrupted_build_leaves_nothing_to_read(tmp_path):
  data_dir = str(tmp_path)
  process = subprocess.Popen([sys.executable, "-c", _SLOW_BUILD, data_dir],
                             cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  config_dir = os.path.join(data_dir, "dcign_faces")
  deadline = time.time() + 120
  try:
    # Wait until the first split is written into the temporary folder, so
    # the kill lands part-way through the build.
    while time.time() < deadline:
      written = [os.path.join(root, name)
                 for root, _, names in os.walk(config_dir) for name in names
                 if "tfrecord" in name]
      if written:
        break
      assert process.poll() is None, "the build ended before it was killed"
      time.sleep(0.2)
    assert written, "the build never started writing"
    time.sleep(0.5)
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  config = faces_dataset.make_config(image_size=32, group_size=2,
                                     train_groups_per_type=30,
                                     test_groups_per_type=1, seed=9)
  builder = faces_dataset.builder(config, data_dir, num_workers=1)
  assert not builder.is_prepared()
  assert not os.path.exists(builder.data_dir)
  # A smaller build in the same folder prepares and reads cleanly.
  small = faces_dataset.builder(tiny_config(), data_dir, num_workers=1)
  small.download_and_prepare()
  assert len(_examples(small, faces_dataset.split_names("test"))) == 4


@pytest.mark.parametrize("image_size", [64, 150])
def test_paper_sized_presets_resolve_to_the_predefined_configs(tmp_path,
                                                               image_size):
  builder = faces_dataset.builder(faces_dataset.make_config(image_size),
                                  str(tmp_path))
  assert builder.builder_config.name == f"{image_size}px"
  assert builder.builder_config.train_groups_per_type == 3000
  assert builder.builder_config.image_size == image_size
  assert not builder.is_prepared()


_KILLABLE_BUILD = textwrap.dedent("""
    import sys, time
    from dcign_tf.data import faces_dataset, groups
    faces_dataset.CHUNK_GROUPS = 4
    original = groups.GroupSource.example
    def slow(self, task):
      time.sleep(0.05)
      return original(self, task)
    groups.GroupSource.example = slow
    config = faces_dataset.make_config(image_size=32, group_size=2,
                                       train_groups_per_type=10,
                                       test_groups_per_type=2, seed=9)
    faces_dataset.builder(config, sys.argv[1],
                          num_workers=1).download_and_prepare()
""")


def _all_records(builder):
  return [_examples(builder, faces_dataset.split_name(split, group_type))
          for split in faces_dataset.SPLITS for group_type in factors.GroupType]


def test_a_killed_preparation_resumes_with_the_same_records(
    tmp_path, monkeypatch, capsys):
  data_dir = str(tmp_path / "killed")
  process = subprocess.Popen(
      [sys.executable, "-c", _KILLABLE_BUILD, data_dir], cwd=REPO,
      env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  partial = os.path.join(data_dir, faces_dataset.PARTIAL_DIR)
  deadline = time.time() + 120
  try:
    chunks = []
    while time.time() < deadline and len(chunks) < 3:
      chunks = [name for _, _, names in os.walk(partial) for name in names
                if name.endswith(".npz") and ".tmp-" not in name]
      assert process.poll() is None, "the build ended before it was killed"
      time.sleep(0.05)
    assert len(chunks) >= 3, "the build never wrote its chunks"
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  monkeypatch.setattr(faces_dataset, "CHUNK_GROUPS", 4)
  rendered = []
  original = faces_dataset.groups.GroupSource.example
  monkeypatch.setattr(faces_dataset.groups.GroupSource, "example",
                      lambda self, task: rendered.append(task) or original(
                          self, task))
  config = faces_dataset.make_config(image_size=32, group_size=2,
                                     train_groups_per_type=10,
                                     test_groups_per_type=2, seed=9)
  resumed = faces_dataset.builder(config, data_dir, num_workers=1)
  assert not resumed.is_prepared()
  done = faces_dataset.count_chunked_groups(resumed.partial_dir)
  assert done >= 10
  resumed.download_and_prepare()
  assert (f"Resuming the preparation: {done} of 48 groups" in
          capsys.readouterr().out)
  # The finished chunks were read back, not rendered again.
  assert len(rendered) == 48 - done
  assert not os.path.exists(partial)
  fresh = faces_dataset.builder(config, str(tmp_path / "fresh"),
                                num_workers=1)
  fresh.download_and_prepare()
  for got, expected in zip(_all_records(resumed), _all_records(fresh)):
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
      for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_preparation_timer_measures_its_own_rate():
  said, now = [], [0.0]
  timer = faces_dataset.PreparationTimer(
      total=1000, done=100, say=lambda text, flush: said.append(text),
      clock=lambda: now[0], measure_groups=100)
  assert said == ["Resuming the preparation: 100 of 1000 groups were "
                  "already rendered."]
  now[0] = 30.0  # The first chunk pays for starting the workers.
  timer.add(64)
  now[0] = 40.0
  timer.add(64)
  assert len(said) == 1
  now[0] = 50.0
  timer.add(64)  # 128 groups in 20 s after the first chunk: 6.4 groups/s.
  assert timer.estimate_s == pytest.approx((1000 - 100 - 192) / 6.4)
  assert said[-1] == ("Preparing 1000 groups at 6.4 groups/s on this "
                      "machine: about 2 min to go.")
  timer.add(64)
  assert len(said) == 2
