"""Tests for dcign_tf.data.labelled_source."""

import numpy as np
import pytest

from dcign_tf.data import factors
from dcign_tf.data import labelled
from dcign_tf.data import labelled_source

NAMES = ("chair", "azimuth", "elevation")


def _source(designated=("azimuth", "elevation")):
  labels = np.array([(c, a, e) for c in range(4) for a in range(3)
                     for e in range(2)])
  images = (np.arange(len(labels), dtype=np.uint8)[:, None, None, None]
            * np.ones((1, 4, 4, 1), np.uint8))
  groups = labelled.LabelledGroups(labels, NAMES, designated, group_size=2)
  return labelled_source.LabelledSource("chairs", NAMES, designated, images,
                                        groups, images, groups)


def test_designated_factors_must_be_the_datasets():
  assert labelled_source.check_designated(["elevation"], NAMES) == (
      "elevation",)
  with pytest.raises(ValueError, match="no factor 'light'; its factors are "
                     "chair, azimuth, elevation"):
    labelled_source.check_designated(["light"], NAMES)
  with pytest.raises(ValueError, match="needs 1 to 3"):
    labelled_source.check_designated([], NAMES)


def test_slot_i_takes_the_ratio_weight_of_slot_i():
  source = _source()
  assert source.slots == ("azimuth", "elevation")
  assert source.factor_latents() == {"azimuth": (0,), "elevation": (1,)}
  # azimuth : elevation : light : intrinsic = 1 : 2 : 3 : 4; light's
  # weight has no designated factor and is dropped.
  assert source.weights("1:2:3:4") == [0.1, 0.2, 0.4]


def test_evaluation_groups_carry_their_images_labels():
  source = _source()
  data = labelled_source.evaluation_groups(source, 3, seed=0)
  # Image value k is the k-th label row, so each image's labels are known.
  rows = source.test_groups.labels[
      (data["images"][:, 0, 0, 0] * 255).round().astype(int)]
  np.testing.assert_array_equal(data["azimuth"], rows[:, 1])
  np.testing.assert_array_equal(data["elevation"], rows[:, 2])
  assert set(data["group_type"]) == {int(factors.GroupType.AZIMUTH),
                                     int(factors.GroupType.ELEVATION),
                                     int(factors.GroupType.INTRINSIC)}
  assert len(data["group_id"]) == 3 * 3 * 2
  with pytest.raises(ValueError, match="Unknown split 'val'"):
    labelled_source.evaluation_groups(source, 1, 0, split="val")
