"""Tests for dcign_tf.data.procedural: the files go through the real
readers and hold what their labels say."""

import numpy as np
import pytest

from dcign_tf.data import npz_files
from dcign_tf.data import object_meshes
from dcign_tf.data import procedural


def test_sprites_are_a_complete_grid_in_the_dsprites_layout(tmp_path):
  path = procedural.write_sprites(str(tmp_path / "sprites.npz"),
                                  image_size=32, scales=2, orientations=4,
                                  positions=3)
  images, labels, names = npz_files.load_npz(path)
  assert names == npz_files.DSPRITES_FACTORS
  assert images.shape == (3 * 2 * 4 * 3 * 3, 32, 32, 1)
  assert len({tuple(row) for row in labels}) == len(labels)
  assert images.max() == 255 and images.min() == 0  # Read as {0, 255}.
  area = (images > 0).sum(axis=(1, 2, 3))
  # Larger scale, larger sprite (same shape, orientation and position).
  small = (labels[:, 2] == 0)
  assert (area[~small] > area[small]).all()
  # A position moves the sprite: the mass centre follows position_x.
  columns = np.arange(32)
  centre_x = ((images[..., 0] > 0).sum(axis=1) * columns).sum(1) / area
  for x in range(2):
    assert (centre_x[labels[:, 4] == x + 1].mean() >
            centre_x[labels[:, 4] == x].mean() + 3)


def test_shapes_differ_and_rotation_turns_them():
  images, labels = procedural.sprite_images(32, 1, 8, 1)
  by_shape = [images[labels[:, 1] == s] for s in range(3)]
  assert not np.array_equal(by_shape[0][0], by_shape[1][0])
  assert not np.array_equal(by_shape[2][0], by_shape[2][2])  # heart turned
  # A square turned a quarter turn (8 orientations: index 2) is itself.
  assert (by_shape[0][0] != by_shape[0][2]).mean() < 0.02


def test_bad_sizes_are_refused():
  with pytest.raises(ValueError, match="orientations must be a whole number"):
    procedural.sprite_images(32, 1, 0, 1)


def test_objects_are_meshes_the_objects_source_reads(tmp_path):
  paths = procedural.write_objects(str(tmp_path / "objects"))
  assert len(paths) == len(procedural.solids()) >= 8
  for path in paths:
    mesh = object_meshes.load_mesh(path)
    assert mesh.vertices.shape[1] == 3
