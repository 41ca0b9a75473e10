"""A NumPy software renderer: mesh + pose + light -> grayscale image.

Pure NumPy, so `pip install` is all a user needs (no OpenGL/EGL). The
rasteriser is vectorised over triangles: every triangle's bounding box of
pixel centres becomes a list of candidate samples, samples outside the
triangle are dropped, a depth test keeps the nearest per pixel, and only the
visible samples are shaded (deferred shading). Supersampling gives
anti-aliased edges.

Scene conventions (what the factors mean):
  * The camera is orthographic, fixed, looking down -z at the origin; the
    visible window is `Camera.half_width` model units either side of the
    origin, so a head is framed the same way at every pose.
  * azimuth (degrees) turns the head about the vertical axis; positive turns
    the face towards the image's left (we see more of its left cheek).
  * elevation (degrees) is the camera's height: positive looks down on the
    head (the face tilts down in the image).
  * light_azimuth (degrees) places a directional light in the camera's
    frame: 0 lights the face from the front, positive from the image's right.
    The light does not turn with the head.
"""

import dataclasses

import numpy as np

from dcign_tf.graphics import mesh as mesh_lib

MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256


@dataclasses.dataclass(frozen=True)
class Lighting:
  """A directional light plus ambient; Lambertian diffuse, Blinn specular."""

  ambient: float = 0.22
  diffuse: float = 0.85
  elevation: float = 20.0
  specular: float = 0.25
  shininess: float = 30.0

  def __post_init__(self):
    for name in ("ambient", "diffuse", "specular"):
      value = getattr(self, name)
      if not 0.0 <= value <= 2.0:
        raise ValueError(f"Lighting.{name} must lie in [0, 2], got {value}.")
    if not -90.0 <= self.elevation <= 90.0:
      raise ValueError("Lighting.elevation must lie in [-90, 90] degrees, "
                       f"got {self.elevation}.")
    if self.shininess <= 0:
      raise ValueError(f"Lighting.shininess must be > 0, got {self.shininess}.")


@dataclasses.dataclass(frozen=True)
class Camera:
  """Image size, framing and anti-aliasing of the orthographic camera."""

  image_size: int = 64
  half_width: float = 1.15
  supersample: int = 2

  def __post_init__(self):
    check_image_size(self.image_size)
    if self.half_width <= 0:
      raise ValueError(f"Camera.half_width must be > 0, got {self.half_width}.")
    if not 1 <= self.supersample <= 4:
      raise ValueError("Camera.supersample must be an integer in [1, 4], "
                       f"got {self.supersample}.")


def check_image_size(image_size) -> int:
  """Returns `image_size` as an int or raises a ValueError naming it."""
  if (isinstance(image_size, bool) or int(image_size) != image_size or
      not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE):
    raise ValueError(
        f"image_size must be an integer in [{MIN_IMAGE_SIZE}, "
        f"{MAX_IMAGE_SIZE}] pixels, got {image_size!r}.")
  return int(image_size)


def head_rotation(azimuth: float, elevation: float) -> np.ndarray:
  """The rotation taking model coordinates to camera coordinates, [3, 3].

  Equivalent to the camera orbiting the head by (azimuth, elevation).
  """
  phi, alpha = np.deg2rad(azimuth), np.deg2rad(elevation)
  turn = np.array([[np.cos(phi), 0.0, -np.sin(phi)],
                   [0.0, 1.0, 0.0],
                   [np.sin(phi), 0.0, np.cos(phi)]])
  tilt = np.array([[1.0, 0.0, 0.0],
                   [0.0, np.cos(alpha), -np.sin(alpha)],
                   [0.0, np.sin(alpha), np.cos(alpha)]])
  return tilt @ turn


def light_direction(light_azimuth: float, light_elevation: float) -> np.ndarray:
  """Unit vector towards the light in camera coordinates."""
  theta, beta = np.deg2rad(light_azimuth), np.deg2rad(light_elevation)
  return np.array([np.sin(theta) * np.cos(beta), np.sin(beta),
                   np.cos(theta) * np.cos(beta)])


def rasterize(screen: np.ndarray, triangles: np.ndarray, width: int,
              height: int, cull_back_faces: bool):
  """Finds the nearest triangle under every pixel centre.

  Args:
    screen: float64 [V, 3]: pixel x (right), pixel y (down), depth (larger is
      nearer the camera). Pixel (i, j) has its centre at (i + 0.5, j + 0.5).
    triangles: int [F, 3].
    width: image width in pixels.
    height: image height in pixels.
    cull_back_faces: drop triangles facing away from the camera.

  Returns:
    (pixels, triangle_ids, barycentrics): flat pixel index [N], triangle index
    [N] and barycentric weights [N, 3] of every covered pixel.
  """
  sx, sy, sz = (np.ascontiguousarray(screen[:, k]) for k in range(3))
  ia, ib, ic = (np.ascontiguousarray(triangles[:, k]) for k in range(3))
  ax, ay, bx, by, cx, cy = sx[ia], sy[ia], sx[ib], sy[ib], sx[ic], sy[ic]
  # Twice the signed area with y pointing down: negative for triangles that
  # wind counter-clockwise as seen by the camera, i.e. front faces.
  area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
  x0 = np.ceil(np.minimum(np.minimum(ax, bx), cx) - 0.5)
  x1 = np.floor(np.maximum(np.maximum(ax, bx), cx) - 0.5)
  y0 = np.ceil(np.minimum(np.minimum(ay, by), cy) - 0.5)
  y1 = np.floor(np.maximum(np.maximum(ay, by), cy) - 0.5)
  np.maximum(x0, 0, out=x0)
  np.maximum(y0, 0, out=y0)
  np.minimum(x1, width - 1, out=x1)
  np.minimum(y1, height - 1, out=y1)
  box_w = x1 - x0 + 1
  box_h = y1 - y0 + 1
  keep = (box_w > 0) & (box_h > 0)
  keep &= (area < -1e-12) if cull_back_faces else (np.abs(area) > 1e-12)
  ids = np.flatnonzero(keep)
  empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)))
  if ids.size == 0:
    return empty
  ax, ay, bx, by, cx, cy = (v[ids] for v in (ax, ay, bx, by, cx, cy))
  za, zb, zc = sz[ia[ids]], sz[ib[ids]], sz[ic[ids]]
  x0, y0, box_w = x0[ids], y0[ids], box_w[ids]
  counts = (box_w * box_h[ids]).astype(np.int64)

  # Each barycentric weight and the depth are affine in the pixel position:
  # value = p * x + q * y + r. Build the plane coefficients per triangle once
  # and expand them to candidate samples with one np.repeat (rows stay
  # contiguous, which keeps the per-sample arithmetic vectorised).
  inv = 1.0 / area[ids]
  coefficients = np.empty((13, ids.size))
  wa_p, wa_q, wa_r, wb_p, wb_q, wb_r = coefficients[:6]
  np.multiply(by - cy, inv, out=wa_p)
  np.multiply(cx - bx, inv, out=wa_q)
  np.multiply(bx * cy - cx * by, inv, out=wa_r)
  np.multiply(cy - ay, inv, out=wb_p)
  np.multiply(ax - cx, inv, out=wb_q)
  np.multiply(cx * ay - ax * cy, inv, out=wb_r)
  dza, dzb = za - zc, zb - zc
  coefficients[6] = dza * wa_p + dzb * wb_p
  coefficients[7] = dza * wa_q + dzb * wb_q
  coefficients[8] = dza * wa_r + dzb * wb_r + zc
  coefficients[9] = x0 + 0.5
  coefficients[10] = y0 + 0.5
  coefficients[11] = box_w
  coefficients[12] = np.arange(ids.size)
  per_sample = np.repeat(coefficients, counts, axis=1)
  starts = np.cumsum(counts) - counts
  local = np.arange(per_sample.shape[1], dtype=np.float64)
  local -= np.repeat(starts.astype(np.float64), counts)
  # Small exact integers: float division is exact after floor and faster
  # than integer division.
  row = np.floor((local + 0.5) / per_sample[11])
  x = per_sample[9] + (local - row * per_sample[11])
  y = per_sample[10] + row
  wa = per_sample[0] * x
  wa += per_sample[1] * y
  wa += per_sample[2]
  wb = per_sample[3] * x
  wb += per_sample[4] * y
  wb += per_sample[5]
  # A tiny tolerance makes shared edges watertight: a sample on an edge
  # belongs to both neighbours and the depth test picks one.
  tolerance = -1e-9
  inside = (wa >= tolerance) & (wb >= tolerance) & (wa + wb <= 1.0 - tolerance)
  kept = np.flatnonzero(inside)
  if kept.size == 0:
    return empty
  x, y, wa, wb = x[kept], y[kept], wa[kept], wb[kept]
  owner_triangle = per_sample[12, kept]
  depth = per_sample[6, kept] * x + per_sample[7, kept] * y + per_sample[
      8, kept]
  pixel = (y - 0.5).astype(np.int64) * width + (x - 0.5).astype(np.int64)

  # Depth test: the nearest sample (largest depth) wins each pixel.
  nearest = np.full(width * height, -np.inf)
  np.maximum.at(nearest, pixel, depth)
  winners = np.flatnonzero(depth >= nearest[pixel])
  owner = np.full(width * height, -1, np.int64)
  owner[pixel[winners]] = winners  # Exact ties: any one of them will do.
  chosen = owner[owner >= 0]
  triangle_ids = ids[owner_triangle[chosen].astype(np.int64)]
  wa, wb = wa[chosen], wb[chosen]
  barycentrics = np.stack([wa, wb, 1.0 - wa - wb], axis=1)
  return pixel[chosen], triangle_ids, barycentrics


def render(mesh: mesh_lib.Mesh, azimuth: float = 0.0, elevation: float = 0.0,
           light_azimuth: float = 0.0, camera: Camera = Camera(),
           lighting: Lighting = Lighting(), return_coverage: bool = False):
  """Renders `mesh` as a grayscale image in [0, 1] on a black background.

  Args:
    mesh: the mesh to draw, in model coordinates.
    azimuth: head azimuth in degrees (see the module docstring).
    elevation: camera elevation in degrees.
    light_azimuth: light azimuth in degrees, in the camera's frame.
    camera: image size, framing and supersampling.
    lighting: light model.
    return_coverage: also return the fraction of each pixel the mesh covers.

  Returns:
    float32 [S, S] image, or (image, coverage) with `return_coverage`.
  """
  size = camera.image_size * camera.supersample
  rotation = head_rotation(azimuth, elevation)
  points = mesh.vertices.astype(np.float64) @ rotation.T
  pixels_per_unit = 0.5 * size / camera.half_width
  screen = np.empty_like(points)
  screen[:, 0] = (points[:, 0] + camera.half_width) * pixels_per_unit
  screen[:, 1] = (camera.half_width - points[:, 1]) * pixels_per_unit
  screen[:, 2] = points[:, 2]
  pixel, triangle_ids, bary = rasterize(screen, mesh.triangles, size, size,
                                        cull_back_faces=not mesh.double_sided)

  corners = mesh.triangles[triangle_ids]
  normals = mesh.normals.astype(np.float64) @ rotation.T
  normal = (bary[:, 0:1] * normals[corners[:, 0]] +
            bary[:, 1:2] * normals[corners[:, 1]] +
            bary[:, 2:3] * normals[corners[:, 2]])
  normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
  # The inside of an open mesh faces away from the camera; light it as seen.
  normal *= np.where(normal[:, 2:3] < 0, -1.0, 1.0)
  albedo = np.einsum("nk,nk->n", bary, mesh.albedo[corners])
  specular = np.einsum("nk,nk->n", bary, mesh.specular[corners])

  light = light_direction(light_azimuth, lighting.elevation)
  halfway = light + np.array([0.0, 0.0, 1.0])
  halfway /= np.linalg.norm(halfway)
  diffuse = np.maximum(normal @ light, 0.0)
  highlight = np.maximum(normal @ halfway, 0.0) ** lighting.shininess
  shade = albedo * (lighting.ambient + lighting.diffuse * diffuse) + (
      lighting.specular * specular * highlight * (diffuse > 0))

  image = np.zeros(size * size)
  image[pixel] = np.clip(shade, 0.0, 1.0)
  image = _downsample(image.reshape(size, size), camera.supersample)
  if not return_coverage:
    return image
  coverage = np.zeros(size * size)
  coverage[pixel] = 1.0
  return image, _downsample(coverage.reshape(size, size), camera.supersample)


def _downsample(image: np.ndarray, factor: int) -> np.ndarray:
  if factor == 1:
    return image.astype(np.float32)
  size = image.shape[0] // factor
  return image.reshape(size, factor, size, factor).mean(axis=(1, 3)).astype(
      np.float32)
