"""Tests for dcign_tf.graphics.mesh."""

import numpy as np
import pytest

from dcign_tf.graphics import mesh as mesh_lib


def _edge_counts(triangles):
  edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]],
                                  triangles[:, [2, 0]]]), axis=1)
  _, counts = np.unique(edges, axis=0, return_counts=True)
  return counts


def test_uv_sphere_is_closed_and_faces_outwards():
  vertices, triangles = mesh_lib.uv_sphere(2.0, rows=10, cols=16)
  np.testing.assert_allclose(np.linalg.norm(vertices, axis=1), 2.0, rtol=1e-6)
  normals = mesh_lib.face_normals(vertices, triangles)
  area = np.linalg.norm(normals, axis=1)
  centres = vertices[triangles].mean(axis=1)
  real = area > 1e-9  # The pole rings hold degenerate triangles.
  assert np.all(np.sum(normals[real] * centres[real], axis=1) > 0)
  # Every edge of a closed surface borders exactly two triangles, once the
  # coincident pole vertices are merged.
  _, merged = np.unique(np.round(vertices, 5), axis=0, return_inverse=True)
  merged = merged.reshape(-1)[triangles[real]]
  assert np.all(_edge_counts(merged) == 2)


def test_sphere_vertex_normals_are_radial():
  vertices, triangles = mesh_lib.uv_sphere(1.0, rows=24, cols=32)
  normals = mesh_lib.vertex_normals(vertices, triangles)
  away_from_poles = np.abs(vertices[:, 1]) < 0.9
  np.testing.assert_allclose(normals[away_from_poles],
                             vertices[away_from_poles], atol=0.02)


@pytest.mark.parametrize("symmetric", [False, True])
def test_grid_triangles_winding_and_count(symmetric):
  rows, cols = 4, 6
  triangles = mesh_lib.grid_triangles(rows, cols, wrap=False,
                                      symmetric=symmetric)
  assert triangles.shape == (2 * (rows - 1) * (cols - 1), 3)
  # A flat grid with rows running down (-y) and columns right (+x): every
  # triangle's normal must point along +z (out of the page).
  r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
  vertices = np.stack([c, -r, np.zeros_like(r)], -1).reshape(-1, 3).astype(
      np.float64)
  normals = mesh_lib.face_normals(vertices, triangles)
  np.testing.assert_allclose(normals[:, 2], 1.0)
  assert np.all(_edge_counts(triangles) <= 2)


def test_symmetric_grid_mirrors_its_triangulation():
  rows, cols = 3, 8
  triangles = mesh_lib.grid_triangles(rows, cols, wrap=True, symmetric=True)
  row, col = np.divmod(triangles, cols)
  mirrored = row * cols + (cols - col) % cols
  original = {tuple(sorted(t)) for t in triangles.tolist()}
  assert {tuple(sorted(t)) for t in mirrored.tolist()} == original


def test_mesh_validation_names_the_problem():
  vertices, triangles = mesh_lib.uv_sphere(1.0, 6, 8)
  albedo = np.ones(len(vertices))
  with pytest.raises(ValueError, match=r"indices must lie in \[0, "):
    mesh_lib.Mesh(vertices, triangles + len(vertices), albedo, albedo)
  with pytest.raises(ValueError, match=r"vertices must have shape"):
    mesh_lib.Mesh(vertices[:, :2], triangles, albedo, albedo)
  with pytest.raises(ValueError, match=r"albedo must have shape"):
    mesh_lib.Mesh(vertices, triangles, albedo[:-1], albedo)
  with pytest.raises(ValueError, match="NaN"):
    bad = vertices.copy()
    bad[0, 0] = np.nan
    mesh_lib.Mesh(bad, triangles, albedo, albedo)
