"""Tests for dcign_tf.graphics.procedural_head."""

import numpy as np
import pytest
from scipy import ndimage

from dcign_tf.graphics import procedural_head
from dcign_tf.graphics import renderer


@pytest.fixture(scope="module")
def head():
  return procedural_head.ProceduralHead()


def test_parameter_counts_and_names(head):
  assert head.num_shape_params >= 20
  assert head.num_albedo_params >= 5
  names = head.parameter_names()
  assert len(names) == len(set(names)) == head.identity_size


def test_same_seed_same_mesh_and_identities_differ(head):
  first = head.sample_identity(np.random.default_rng(7))
  again = head.sample_identity(np.random.default_rng(7))
  other = head.sample_identity(np.random.default_rng(8))
  np.testing.assert_array_equal(first, again)
  mesh_a, mesh_b = head.mesh(first, 64), head.mesh(again, 64)
  np.testing.assert_array_equal(mesh_a.vertices, mesh_b.vertices)
  np.testing.assert_array_equal(mesh_a.albedo, mesh_b.albedo)
  mesh_c = head.mesh(other, 64)
  moved = np.linalg.norm(mesh_a.vertices - mesh_c.vertices, axis=1)
  assert moved.max() > 0.05  # Model units: the head is about 2 tall.
  assert np.abs(mesh_a.albedo - mesh_c.albedo).max() > 0.05


@pytest.mark.parametrize("index", range(len(
    procedural_head.SHAPE_PARAMETERS + procedural_head.ALBEDO_PARAMETERS)))
def test_every_parameter_changes_the_render(head, index):
  camera = renderer.Camera(image_size=48)
  identity = head.mean_identity()
  base = renderer.render(head.mesh(identity, 48), 30, 10, 20, camera)
  identity[index] = 2.0
  moved = renderer.render(head.mesh(identity, 48), 30, 10, 20, camera)
  assert np.abs(moved - base).max() > 0.02


def test_level_of_detail_grows_with_image_size(head):
  identity = head.mean_identity()
  sizes = [head.mesh(identity, s).num_triangles for s in (64, 128, 256)]
  assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("image_size", [32, 64, 150])
@pytest.mark.parametrize("azimuth,light", [(30, 45), (90, -60), (-75, 10),
                                           (0, 0)])
def test_mirror_symmetry(head, image_size, azimuth, light):
  """A symmetric identity at (phi, phi_L) is the flip of (-phi, -phi_L)."""
  camera = renderer.Camera(image_size=image_size)
  mesh = head.mesh(head.sample_identity(np.random.default_rng(3)), image_size)
  image = renderer.render(mesh, azimuth, 12, light, camera)
  mirrored = renderer.render(mesh, -azimuth, 12, -light, camera)[:, ::-1]
  np.testing.assert_allclose(image, mirrored, atol=1e-6)


@pytest.mark.parametrize("image_size", [32, 64, 150])
def test_no_holes_or_speckles_over_the_pose_range(head, image_size):
  camera = renderer.Camera(image_size=image_size)
  rng = np.random.default_rng(11)
  for seed in range(2):
    mesh = head.mesh(head.sample_identity(np.random.default_rng(seed)),
                     image_size)
    for azimuth in (-90, -45, 0, 45, 90):
      for elevation in (-30, 0, 30):
        _, coverage = renderer.render(mesh, azimuth, elevation,
                                      rng.uniform(-90, 90), camera,
                                      return_coverage=True)
        solid = coverage > 0
        assert np.array_equal(ndimage.binary_fill_holes(solid), solid), (
            azimuth, elevation)
        _, parts = ndimage.label(solid)
        assert parts == 1, (azimuth, elevation, parts)
        # Framed the same at every pose: only the neck leaves the frame.
        assert not solid[0].any() and not solid[:, 0].any()
        assert not solid[:, -1].any()


def test_rejects_wrong_identity_shape(head):
  with pytest.raises(ValueError, match=rf"shape \[{head.identity_size}\]"):
    head.mesh(np.zeros(3))
