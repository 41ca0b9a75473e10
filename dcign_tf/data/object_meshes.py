"""OBJ meshes as dcign_tf renders them: centred, scaled into view,
flat-shaded in uniform grey (materials ignored), and drawn at a view."""

import numpy as np

from dcign_tf.graphics import face_model
from dcign_tf.graphics import mesh as mesh_lib
from dcign_tf.graphics import model_files
from dcign_tf.graphics import renderer

UP_AXES = ("y", "z")
DEFAULT_UP_AXIS = "y"
# Proper rotation (det +1, so windings are kept) taking z-up coordinates
# to y-up: (x, y, z) -> (x, z, -y), i.e. -90 degrees about x.
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0],
                          [0.0, 0.0, 1.0],
                          [0.0, -1.0, 0.0]])
# A face spans NORMALISED_HEIGHT in the camera's 2 * half_width window; an
# object's bounding sphere gets the same diameter.
FIT_RADIUS = face_model.NORMALISED_HEIGHT / 2
# Mid grey, as the faces' skin: bright enough to see the shading, dark
# enough that a frontal light does not saturate it.
ALBEDO = face_model.SKIN_ALBEDO
# Anti-aliasing as the faces' groups use it (groups.GroupSource).
SUPERSAMPLE = 2


def load_mesh(path: str, up_axis: str = DEFAULT_UP_AXIS) -> mesh_lib.Mesh:
  """Reads an OBJ file as a normalised, flat-shaded, uniform grey mesh.

  Normalised: centred on its bounding box and scaled so that its farthest
  point lies FIT_RADIUS from the centre; y up (a z-up mesh is turned).

  Raises:
    ValueError: naming `path` when it does not parse as OBJ, has no faces,
      a face index out of range, non-finite coordinates, no face with an
      area, or all its vertices at one point.
  """
  if up_axis not in UP_AXES:
    raise ValueError(f"up_axis must be one of {UP_AXES}, got {up_axis!r}.")
  try:
    vertices, triangles = model_files.read_obj(path)
  except (OSError, UnicodeError, ValueError, IndexError) as error:
    raise ValueError(f"{path!r} is not a readable OBJ mesh ({error}); "
                     "allowed: 'v x y z' and 'f i j k ...' lines.") from error
  if triangles.shape[0] == 0:
    raise ValueError(f"{path!r} has no faces ('f i j k ...' lines); allowed: "
                     "a mesh with at least one triangle.")
  low, high = int(triangles.min()), int(triangles.max())
  if low < 0 or high >= vertices.shape[0]:
    raise ValueError(f"{path!r} has a face index outside 1..{len(vertices)} "
                     "(or -1..-N relative to it); allowed: indices of its "
                     "own vertices.")
  # Flat shading: each triangle gets its own three vertices. Unused
  # vertices drop out here, so they do not count towards the bounds.
  corners = vertices[triangles].reshape(-1, 3)
  if not np.all(np.isfinite(corners)):
    raise ValueError(f"{path!r} has NaN or infinite vertex coordinates; "
                     "allowed: finite numbers.")
  if up_axis == "z":
    corners = corners @ _Z_UP_TO_Y_UP.T
  centre = 0.5 * (corners.min(axis=0) + corners.max(axis=0))
  corners = corners - centre
  radius = float(np.max(np.linalg.norm(corners, axis=1)))
  areas = np.linalg.norm(mesh_lib.face_normals(
      corners, np.arange(len(corners)).reshape(-1, 3)), axis=1)
  if radius == 0.0 or not np.any(areas > 1e-12 * radius * radius):
    raise ValueError(f"{path!r} has zero extent (all its faces have zero "
                     "area); allowed: a mesh with at least one triangle of "
                     "non-zero area.")
  corners *= FIT_RADIUS / radius
  count = len(corners)
  return mesh_lib.Mesh(vertices=corners,
                       triangles=np.arange(count).reshape(-1, 3),
                       albedo=np.full(count, ALBEDO),
                       specular=np.zeros(count), double_sided=True)


def render_view(mesh: mesh_lib.Mesh, azimuth: float, elevation: float,
                light: float, image_size: int) -> np.ndarray:
  """One render of a `load_mesh` mesh as uint8 [S, S, 1] (black is empty)."""
  camera = renderer.Camera(image_size=image_size, supersample=SUPERSAMPLE)
  image = renderer.render(mesh, azimuth, elevation, light, camera)
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)[
      :, :, np.newaxis]
