"""Tests for dcign_tf.data.groups."""

import numpy as np
import pytest

from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import procedural_head
from dcign_tf.graphics import renderer

SOURCE = groups.GroupSource(image_size=32, group_size=5, seed=3)


def test_sweep_is_sorted_and_stratified():
  values = groups.sweep(-90, 90, 6, np.random.default_rng(0))
  assert np.all(np.diff(values) > 0)
  edges = np.linspace(-90, 90, 7)
  assert np.all((values >= edges[:-1]) & (values <= edges[1:]))


def test_same_seed_same_pixels_other_seed_other_pixels():
  task = ("train", "azimuth", 4)
  first, again = SOURCE.example(task), SOURCE.example(task)
  for key in first:
    np.testing.assert_array_equal(first[key], again[key])
  other = groups.GroupSource(image_size=32, group_size=5, seed=4).example(task)
  assert not np.array_equal(first["images"], other["images"])
  assert first["images"].dtype == np.uint8
  assert first["images"].shape == (5, 32, 32, 1)


@pytest.mark.parametrize("group_type", ["azimuth", "elevation", "light"])
def test_only_the_swept_factor_varies(group_type):
  spec = SOURCE.spec("train", group_type, 0)
  assert spec.group_type.label == group_type
  for row in spec.identities:
    np.testing.assert_array_equal(row, spec.identities[0])
  for name in factors.FACTORS:
    values = getattr(spec, name)
    if name == group_type:
      low, high = factors.FactorRanges().span(name)
      assert np.all(np.diff(values) > 0)
      step = (high - low) / spec.group_size
      assert values[0] < low + step and values[-1] > high - step
    else:
      assert np.all(values == values[0])


def test_intrinsic_group_varies_identity_only():
  spec = SOURCE.spec("train", "intrinsic", 2)
  assert len({row.tobytes() for row in spec.identities}) == spec.group_size
  for name in factors.FACTORS:
    values = getattr(spec, name)
    assert np.all(values == values[0])


def test_azimuth_group_images_differ_only_by_pose():
  example = SOURCE.example(("train", "azimuth", 1))
  assert len({image.tobytes() for image in example["images"]}) == 5
  np.testing.assert_array_equal(example["light"], example["light"][0])
  np.testing.assert_array_equal(example["elevation"],
                                example["elevation"][0])


def test_light_group_keeps_one_silhouette():
  spec = SOURCE.spec("test", "light", 0)
  mesh = SOURCE.model().mesh(spec.identities[0], SOURCE.image_size)
  coverages, images = [], []
  for light in spec.light:
    image, coverage = renderer.render(mesh, spec.azimuth[0], spec.elevation[0],
                                      light, SOURCE.camera,
                                      return_coverage=True)
    coverages.append(coverage)
    images.append(image)
  for coverage in coverages[1:]:
    np.testing.assert_array_equal(coverage, coverages[0])
  assert np.abs(images[0] - images[-1]).max() > 0.1
  rendered = groups.render_group(spec, SOURCE.model(), SOURCE.camera)
  np.testing.assert_array_equal(rendered, np.stack(images))


def test_train_and_test_identities_are_disjoint():
  train = np.concatenate([SOURCE.spec("train", t, i).identities
                          for t in factors.GroupType for i in range(3)])
  test = np.concatenate([SOURCE.spec("test", t, i).identities
                         for t in factors.GroupType for i in range(3)])
  assert not {row.tobytes() for row in train} & {row.tobytes() for row in test}


def test_sample_group_rejects_bad_input():
  head = procedural_head.ProceduralHead()
  rng = np.random.default_rng(0)
  with pytest.raises(ValueError, match="Unknown group type 'spin'"):
    groups.sample_group("spin", head, rng)
  with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
    groups.sample_group("azimuth", head, rng, group_size=1)
  with pytest.raises(ValueError, match="Cannot sweep light"):
    groups.sample_group("light", head, rng,
                        ranges=factors.FactorRanges(light=(5, 5)))
  with pytest.raises(ValueError, match="Unknown split 'valid'"):
    groups.group_rng(0, "valid", factors.GroupType.LIGHT, 0)


@pytest.mark.parametrize("kwargs,message", [
    (dict(image_size=16), r"image_size must be an integer in \[32, 256\]"),
    (dict(image_size=300), r"image_size must be an integer in \[32, 256\]"),
    (dict(group_size=1), "group_size must be an integer >= 2"),
    (dict(face_model="bfm:/no/such/file.mat"), "does not exist"),
    (dict(face_model="mesh:x"), "Unknown face model spec"),
])
def test_group_source_validates_before_rendering(kwargs, message):
  with pytest.raises(ValueError, match=message):
    groups.GroupSource(**kwargs)


def test_stack_examples_flattens_groups():
  source = groups.GroupSource(image_size=32, group_size=3, seed=1)
  examples = [source.example(("test", 0, 0)), source.example(("test", 3, 1))]
  stacked = groups.stack_examples(examples)
  assert stacked["images"].shape == (6, 32, 32, 1)
  assert stacked["images"].dtype == np.float32
  np.testing.assert_array_equal(stacked["images"][3:] * 255.0,
                                examples[1]["images"])
  np.testing.assert_array_equal(stacked["group_type"], [0, 0, 0, 3, 3, 3])
  np.testing.assert_array_equal(stacked["group_id"], [0, 0, 0, 1, 1, 1])
  np.testing.assert_array_equal(stacked["azimuth"][:3], examples[0]["azimuth"])
