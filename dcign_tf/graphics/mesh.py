"""Triangle meshes: the geometry every face model hands to the renderer."""

import dataclasses
from typing import Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class Mesh:
  """A triangle mesh with per-vertex albedo, ready to render.

  Coordinates follow the renderer's model frame: x to the subject's left as
  seen by a camera in front (the image's right), y up, z out of the face
  towards the camera at zero pose. Triangles wind counter-clockwise seen from
  outside, so `cross(b - a, c - a)` points outwards.

  Attributes:
    vertices: float32 [V, 3].
    triangles: int32 [F, 3], indices into `vertices`.
    albedo: float32 [V], diffuse reflectance in [0, 1].
    specular: float32 [V], specular weight in [0, 1] (eyes are shiny, skin
      less so).
    double_sided: whether back faces are drawn. Closed meshes (the built-in
      head) turn it off, which halves the rasteriser's work; open scans (BFM,
      OBJ masks) need it so their inside shows correctly at profile views.
  """

  vertices: np.ndarray
  triangles: np.ndarray
  albedo: np.ndarray
  specular: np.ndarray
  double_sided: bool = True
  normals: Optional[np.ndarray] = None

  def __post_init__(self):
    vertices = np.asarray(self.vertices, np.float32)
    triangles = np.asarray(self.triangles)
    albedo = np.asarray(self.albedo, np.float32)
    specular = np.asarray(self.specular, np.float32)
    validate_mesh_arrays(vertices, triangles, albedo, specular)
    object.__setattr__(self, "vertices", vertices)
    object.__setattr__(self, "triangles", triangles.astype(np.int32))
    object.__setattr__(self, "albedo", albedo)
    object.__setattr__(self, "specular", specular)
    if self.normals is None:
      object.__setattr__(self, "normals",
                         vertex_normals(vertices, self.triangles))

  @property
  def num_vertices(self) -> int:
    return self.vertices.shape[0]

  @property
  def num_triangles(self) -> int:
    return self.triangles.shape[0]


def validate_mesh_arrays(vertices, triangles, albedo=None, specular=None,
                         name="mesh"):
  """Raises ValueError naming the first array that is not a valid mesh."""
  vertices = np.asarray(vertices)
  triangles = np.asarray(triangles)
  if vertices.ndim != 2 or vertices.shape[1] != 3 or vertices.shape[0] < 3:
    raise ValueError(f"{name}: vertices must have shape [V >= 3, 3], "
                     f"got {vertices.shape}.")
  if not np.all(np.isfinite(vertices)):
    raise ValueError(f"{name}: vertices contain NaN or infinite values.")
  if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.shape[0] < 1:
    raise ValueError(f"{name}: triangles must have shape [F >= 1, 3], "
                     f"got {triangles.shape}.")
  if not np.issubdtype(triangles.dtype, np.integer):
    if not np.all(np.mod(triangles, 1) == 0):
      raise ValueError(f"{name}: triangle indices must be integers, got "
                       f"dtype {triangles.dtype} with fractional values.")
  low, high = int(triangles.min()), int(triangles.max())
  if low < 0 or high >= vertices.shape[0]:
    raise ValueError(
        f"{name}: triangle indices must lie in [0, {vertices.shape[0] - 1}] "
        f"for {vertices.shape[0]} vertices, got values in [{low}, {high}].")
  for label, values in (("albedo", albedo), ("specular", specular)):
    if values is None:
      continue
    values = np.asarray(values)
    if values.shape != (vertices.shape[0],):
      raise ValueError(f"{name}: {label} must have shape "
                       f"[{vertices.shape[0]}] (one per vertex), "
                       f"got {values.shape}.")


def face_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
  """Area-weighted (unnormalised) triangle normals, [F, 3]."""
  a = vertices[triangles[:, 0]]
  b = vertices[triangles[:, 1]]
  c = vertices[triangles[:, 2]]
  return np.cross(b - a, c - a)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
  """Unit vertex normals: the area-weighted mean of adjacent face normals."""
  weighted = face_normals(vertices.astype(np.float64), triangles)
  num_vertices = vertices.shape[0]
  normals = np.zeros((num_vertices, 3))
  # bincount is an order of magnitude faster than np.add.at here.
  for corner in range(3):
    index = triangles[:, corner]
    for axis in range(3):
      normals[:, axis] += np.bincount(index, weights=weighted[:, axis],
                                      minlength=num_vertices)
  length = np.linalg.norm(normals, axis=1, keepdims=True)
  normals /= np.maximum(length, 1e-12)
  return normals.astype(np.float32)


def grid_triangles(rows: int, cols: int, wrap: bool = False,
                   symmetric: bool = False) -> np.ndarray:
  """Triangulates a rows x cols vertex grid stored row-major.

  Row index grows along the first surface parameter and column index along
  the second; with outward normal n = d/d(row) x d/d(col), the triangles wind
  counter-clockwise seen from outside.

  Args:
    rows: grid rows.
    cols: grid columns.
    wrap: joins the last column to the first (a closed ring).
    symmetric: split the quads of the second half of the columns along the
      other diagonal, so a grid whose columns mirror each other (c <->
      cols - c) is triangulated mirror-symmetrically too.

  Returns:
    int32 [2 * (rows - 1) * (cols or cols - 1), 3].
  """
  col_count = cols if wrap else cols - 1
  r, c = np.meshgrid(np.arange(rows - 1), np.arange(col_count), indexing="ij")
  c_next = (c + 1) % cols
  v00 = r * cols + c
  v01 = r * cols + c_next
  v10 = (r + 1) * cols + c
  v11 = (r + 1) * cols + c_next
  first = np.stack([v00, v10, v11], axis=-1)
  second = np.stack([v00, v11, v01], axis=-1)
  if symmetric:
    flip = (c >= col_count // 2)[..., None]
    first = np.where(flip, np.stack([v00, v10, v01], axis=-1), first)
    second = np.where(flip, np.stack([v01, v10, v11], axis=-1), second)
  triangles = np.concatenate([first.reshape(-1, 3), second.reshape(-1, 3)])
  return triangles.astype(np.int32)


def uv_sphere(radius: float = 1.0, rows: int = 48, cols: int = 96,
              center=(0.0, 0.0, 0.0)) -> tuple:
  """A closed UV sphere as (vertices [V, 3], triangles [F, 3]).

  The poles are rings of coincident vertices so the whole sphere is one grid
  (degenerate triangles at the poles cover no pixels).
  """
  polar = np.linspace(0.0, np.pi, rows)
  azimuth = np.linspace(-np.pi, np.pi, cols, endpoint=False)
  polar, azimuth = np.meshgrid(polar, azimuth, indexing="ij")
  directions = np.stack([
      np.sin(polar) * np.sin(azimuth),
      np.cos(polar),
      np.sin(polar) * np.cos(azimuth),
  ], axis=-1).reshape(-1, 3)
  vertices = radius * directions + np.asarray(center)
  # d/d(polar) x d/d(azimuth) points outwards, as grid_triangles expects.
  return vertices.astype(np.float32), grid_triangles(rows, cols, wrap=True)
