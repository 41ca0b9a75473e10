"""Tests for dcign_tf.graphics.renderer."""

import numpy as np
import pytest
from scipy import ndimage

from dcign_tf.graphics import mesh as mesh_lib
from dcign_tf.graphics import renderer


def _sphere(radius, double_sided=False):
  vertices, triangles = mesh_lib.uv_sphere(radius, rows=64, cols=128)
  ones = np.ones(len(vertices))
  return mesh_lib.Mesh(vertices, triangles, ones, 0.0 * ones,
                       double_sided=double_sided)


def _square(albedo=0.5, half=0.5, cells=4):
  """A flat square facing +z, made of many small triangles."""
  ticks = np.linspace(-half, half, cells + 1)
  y, x = np.meshgrid(ticks[::-1], ticks, indexing="ij")
  vertices = np.stack([x, y, np.zeros_like(x)], -1).reshape(-1, 3)
  triangles = mesh_lib.grid_triangles(cells + 1, cells + 1)
  values = np.full(len(vertices), albedo)
  return mesh_lib.Mesh(vertices, triangles, values, np.zeros(len(vertices)),
                       double_sided=False)


@pytest.mark.parametrize("image_size", [32, 64, 150])
@pytest.mark.parametrize("pose", [(0, 0), (90, 30), (-90, -30), (37, 12)])
def test_sphere_silhouette_area_and_no_holes(image_size, pose):
  radius = 0.8
  camera = renderer.Camera(image_size=image_size)
  image, coverage = renderer.render(_sphere(radius), *pose, light_azimuth=60,
                                    camera=camera, return_coverage=True)
  pixels = radius / camera.half_width * image_size / 2
  np.testing.assert_allclose(coverage.sum(), np.pi * pixels ** 2, rtol=0.02)
  # No background inside: every pixel whose square lies inside the disc is
  # fully covered.
  centre = image_size / 2
  y, x = np.mgrid[:image_size, :image_size] + 0.5
  inside = np.hypot(x - centre, y - centre) < pixels - 1.0
  assert np.all(coverage[inside] == 1.0)
  assert np.all(image[inside] > 0)
  # Anti-aliased: the rim has partially covered pixels.
  rim = (coverage > 0) & (coverage < 1)
  assert rim.sum() > 0.3 * 2 * np.pi * pixels


def test_values_in_unit_interval_and_black_background():
  camera = renderer.Camera(image_size=48)
  lighting = renderer.Lighting(ambient=0.9, diffuse=0.9, specular=1.0)
  image, coverage = renderer.render(_sphere(0.5), 10, 5, 0, camera, lighting,
                                    return_coverage=True)
  assert image.dtype == np.float32 and image.shape == (48, 48)
  assert image.min() >= 0.0 and image.max() <= 1.0
  assert np.all(image[coverage == 0] == 0.0)
  assert image.max() == 1.0  # 0.9 + 0.9 saturates, and is clipped.


@pytest.mark.parametrize("light_azimuth", [0.0, 30.0, -60.0, 85.0])
@pytest.mark.parametrize("ambient,diffuse", [(0.2, 0.8), (0.0, 1.0)])
def test_lambertian_shading_matches_closed_form(light_azimuth, ambient,
                                                 diffuse):
  """A plane facing the camera: albedo * (ambient + diffuse * n.l)."""
  albedo = 0.6
  lighting = renderer.Lighting(ambient=ambient, diffuse=diffuse, elevation=0.0,
                               specular=0.0)
  image = renderer.render(_square(albedo), 0, 0, light_azimuth,
                          renderer.Camera(image_size=32), lighting)
  expected = albedo * (ambient + diffuse * np.cos(np.deg2rad(light_azimuth)))
  np.testing.assert_allclose(image[16, 16], expected, rtol=1e-5)


def test_specular_highlight_matches_closed_form():
  """Blinn: specular * weight * (n.h)^shininess, h between light and view."""
  lighting = renderer.Lighting(ambient=0.0, diffuse=0.0, elevation=0.0,
                               specular=0.5, shininess=8.0)
  square = _square(0.5)
  square = mesh_lib.Mesh(square.vertices, square.triangles, square.albedo,
                         np.full(square.num_vertices, 0.8), double_sided=False)
  image = renderer.render(square, 0, 0, 40.0, renderer.Camera(image_size=32),
                          lighting)
  expected = 0.5 * 0.8 * np.cos(np.deg2rad(20.0)) ** 8
  np.testing.assert_allclose(image[16, 16], expected, rtol=1e-5)


def test_back_faces_culled_only_when_single_sided():
  square = _square()
  camera = renderer.Camera(image_size=32)
  assert renderer.render(square, 180, 0, 0, camera).max() == 0.0
  double = mesh_lib.Mesh(square.vertices, square.triangles, square.albedo,
                         square.specular, double_sided=True)
  assert renderer.render(double, 180, 0, 0, camera).max() > 0.0


def test_depth_test_keeps_the_nearest_surface():
  near = _square(albedo=1.0, half=0.3)
  far = _square(albedo=0.2, half=0.6)
  vertices = np.concatenate([near.vertices + [0, 0, 0.5], far.vertices])
  triangles = np.concatenate([near.triangles,
                              far.triangles + near.num_vertices])
  albedo = np.concatenate([near.albedo, far.albedo])
  both = mesh_lib.Mesh(vertices, triangles, albedo, 0 * albedo,
                       double_sided=False)
  lighting = renderer.Lighting(ambient=1.0, diffuse=0.0, specular=0.0)
  image = renderer.render(both, 0, 0, 0, renderer.Camera(image_size=32),
                          lighting)
  assert image[16, 16] == pytest.approx(1.0)
  assert image[16, 10] == pytest.approx(0.2)


def test_fine_mesh_is_watertight():
  """Shared edges leave no uncovered pixel inside a finely split square."""
  square = _square(half=0.9, cells=60)
  for azimuth in (0.0, 20.0, 41.0):
    _, coverage = renderer.render(square, azimuth, 7.0, 0,
                                  renderer.Camera(image_size=64),
                                  return_coverage=True)
    solid = coverage > 0
    assert np.array_equal(ndimage.binary_fill_holes(solid), solid)
    interior = ndimage.binary_erosion(solid, iterations=2)
    assert np.all(coverage[interior] == 1.0)


def test_pose_conventions():
  """Positive azimuth turns the nose to the image's left; positive elevation
  looks down on it; positive light azimuth lights the image's right side."""
  nose = np.array([[0.0, 0.0, 1.0]])
  assert (nose @ renderer.head_rotation(30, 0).T)[0, 0] < 0
  assert (nose @ renderer.head_rotation(0, 20).T)[0, 1] < 0
  assert renderer.light_direction(45, 0)[0] > 0
  np.testing.assert_allclose(renderer.head_rotation(0, 0), np.eye(3))
  rotation = renderer.head_rotation(33, -12)
  np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("size", [31, 257, 0, 64.5, True])
def test_rejects_unsupported_image_sizes(size):
  with pytest.raises(ValueError, match=r"image_size must be an integer in "
                     r"\[32, 256\]"):
    renderer.Camera(image_size=size)


def test_rejects_bad_lighting():
  with pytest.raises(ValueError, match="ambient"):
    renderer.Lighting(ambient=-0.1)
  with pytest.raises(ValueError, match="elevation"):
    renderer.Lighting(elevation=120)
