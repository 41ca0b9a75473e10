"""The built-in morphable head: a procedural human head, no data files.

The head is a star-shaped surface around the origin: a radius for every
direction, built from an ellipsoidal cranium with a tapering jaw and smooth
bumps and dents for the brow, eye sockets, nose, cheekbones, cheeks, lips and
chin. Eyeballs, ears and a neck are separate closed parts. Each identity
parameter, drawn from N(0, 1), moves one named feature within a plausible
human range, so faces drawn from the prior differ the way people do (long or
round heads, thin or broad noses, full or thin lips, dark or fair hair).

Model frame: x to the image's right at zero pose, y up, z out of the face;
the origin (the rotation pivot) sits near the middle of the head.
"""

import types
from typing import Optional

import numpy as np

from dcign_tf.graphics import face_model
from dcign_tf.graphics import mesh as mesh_lib

# (name, nominal value, change per unit of the N(0, 1) parameter).
SHAPE_PARAMETERS = (
    ("head_width", 0.70, 0.045),
    ("head_height", 0.98, 0.035),
    ("head_depth", 0.86, 0.03),
    ("jaw_width", 0.28, 0.08),  # how much the jaw narrows (a taper)
    ("chin_drop", 0.08, 0.03),
    ("chin_protrusion", 0.08, 0.025),
    ("forehead_slope", 0.10, 0.04),
    ("brow_ridge", 0.035, 0.012),
    ("eye_spacing", 0.25, 0.015),
    ("eye_height", 0.08, 0.02),
    ("eye_size", 0.072, 0.005),
    ("socket_depth", 0.075, 0.015),
    ("nose_length", 0.31, 0.035),
    ("nose_protrusion", 0.16, 0.035),
    ("nose_width", 0.08, 0.014),
    ("nose_bridge", 0.035, 0.012),
    ("cheekbones", 0.045, 0.015),
    ("cheek_fullness", 0.03, 0.015),
    ("mouth_width", 0.16, 0.015),
    ("upper_lip", 0.035, 0.012),
    ("lower_lip", 0.045, 0.012),
    ("mouth_height", -0.46, 0.02),
    ("ear_size", 1.0, 0.08),
    ("ear_protrusion", 20.0, 8.0),  # degrees the ear stands out
    ("neck_width", 0.42, 0.03),
    ("hair_volume", 0.04, 0.02),
)

ALBEDO_PARAMETERS = (
    ("skin_tone", 0.68, 0.08),
    ("hair_tone", 0.25, 0.14),
    ("hairline", 0.50, 0.07),  # height of the hairline on the forehead
    ("brow_tone", 0.55, 0.12),  # how dark the eyebrows are (0 = skin)
    ("lip_tone", 0.78, 0.05),  # lip albedo relative to skin
    ("iris_tone", 0.30, 0.10),
    ("beard", -1.2, 1.0),  # stubble shade; most people draw none (< 0)
)

# Grid resolution per image size: (rows, columns) of the head surface.
_DETAIL_LEVELS = ((80, (64, 80)), (128, (88, 112)), (256, (120, 160)))


def _decode(identity: np.ndarray) -> tuple:
  """Identity vector -> (shape features, albedo features) in real units."""
  # Clip at 3 sigma so an extreme draw cannot turn the head inside out.
  weights = np.clip(identity, -3.0, 3.0)
  names = SHAPE_PARAMETERS + ALBEDO_PARAMETERS
  values = {name: nominal + step * float(w)
            for (name, nominal, step), w in zip(names, weights)}
  shape = types.SimpleNamespace(
      **{n: values[n] for n, _, _ in SHAPE_PARAMETERS})
  albedo = types.SimpleNamespace(
      **{n: values[n] for n, _, _ in ALBEDO_PARAMETERS})
  return shape, albedo


def _smoothstep(x, edge0, edge1):
  t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
  return t * t * (3.0 - 2.0 * t)


def _bump(x, y, cx, cy, sx, sy, power=2.0):
  """An (optionally flat-topped) Gaussian bump centred at (cx, cy)."""
  return np.exp(-0.5 * (np.abs((x - cx) / sx) ** power + ((y - cy) / sy) ** 2))


def _head_radius(x, y, z, shape, with_features=True):
  """Radius of the head surface along unit directions (x, y, z).

  Returns (radius, feature masks used for the albedo).
  """
  # Cranium: an ellipsoid, deeper at the back, with the jaw narrowing below.
  width = shape.head_width * (1.0 - shape.jaw_width * _smoothstep(-y, 0.05, 0.9)
                              * (0.6 + 0.4 * np.clip(z, 0, 1)))
  depth = np.where(z > 0, shape.head_depth, shape.head_depth * 0.98)
  height = np.where(y > 0, shape.head_height, shape.head_height + shape.chin_drop)
  radius = 1.0 / np.sqrt((x / width) ** 2 + (y / height) ** 2 + (z / depth) ** 2)
  masks = {}
  if not with_features:
    return radius, masks

  front = _smoothstep(z, 0.25, 0.65)
  mirror_x = np.abs(x)
  # The face is flatter than the skull: pull the forehead back as it rises.
  radius -= shape.forehead_slope * _smoothstep(y, 0.25, 0.8) * front
  radius += shape.brow_ridge * _bump(x, y, 0.0, 0.2, 0.33, 0.045, 4.0) * front
  socket = _bump(mirror_x, y, shape.eye_spacing, shape.eye_height, 0.1, 0.055)
  radius -= shape.socket_depth * socket * front
  # Nose: a ridge from the bridge growing to the tip, ending sharply below it.
  bridge_y = shape.eye_height + 0.02
  tip_y = bridge_y - shape.nose_length
  along = np.clip((bridge_y - y) / shape.nose_length, 0.0, 1.0)
  below_tip = np.where(y < tip_y, np.exp(-0.5 * ((y - tip_y) / 0.03) ** 2), 1.0)
  above_bridge = np.where(y > bridge_y,
                          np.exp(-0.5 * ((y - bridge_y) / 0.05) ** 2), 1.0)
  ridge_width = 0.035 + (shape.nose_width - 0.035) * along
  ridge_height = shape.nose_bridge + (shape.nose_protrusion -
                                      shape.nose_bridge) * along ** 1.3
  ridge = ridge_height * np.exp(-0.5 * (x / ridge_width) ** 2) * below_tip
  radius += ridge * above_bridge * front
  radius += 0.035 * _bump(x, y, 0.0, tip_y + 0.025, 0.05, 0.045) * front
  nostrils = _bump(mirror_x, y, 0.8 * shape.nose_width, tip_y + 0.015, 0.035,
                   0.03)
  radius += 0.05 * nostrils * front
  radius += shape.cheekbones * _bump(mirror_x, y, 0.42, -0.05, 0.13, 0.1) * front
  radius += shape.cheek_fullness * _bump(mirror_x, y, 0.3, -0.3, 0.13, 0.12) * (
      front)
  mouth_y = shape.mouth_height
  upper_lip = _bump(x, y, 0.0, mouth_y + 0.035, shape.mouth_width, 0.028, 4.0)
  lower_lip = _bump(x, y, 0.0, mouth_y - 0.04, 0.85 * shape.mouth_width, 0.032,
                    4.0)
  radius += (shape.upper_lip * upper_lip + shape.lower_lip * lower_lip) * front
  mouth_line = _bump(x, y, 0.0, mouth_y, shape.mouth_width * 1.05, 0.012, 4.0)
  radius -= 0.02 * mouth_line * front
  chin_y = mouth_y - 0.3 - shape.chin_drop
  radius += shape.chin_protrusion * _bump(x, y, 0.0, chin_y, 0.14, 0.1) * front
  radius -= 0.025 * _bump(mirror_x, y, 0.58, 0.28, 0.1, 0.12) * front  # temples
  masks.update(front=front, lips=np.maximum(upper_lip, lower_lip),
               mouth_line=mouth_line, socket=socket, tip_y=tip_y,
               chin_y=chin_y)
  return radius, masks


def _angles_grid(rows: int, cols: int):
  """Polar/azimuth angles, denser across the face than around the back."""
  s = np.linspace(-1.0, 1.0, rows)
  polar = 0.5 * np.pi + 0.5 * np.pi * (s + 0.6 * s ** 3) / 1.6
  t = np.linspace(-1.0, 1.0, cols, endpoint=False)
  azimuth = np.pi * (t + 1.2 * t ** 3) / 2.2
  return np.meshgrid(polar, azimuth, indexing="ij")


class ProceduralHead(face_model.FaceModel):
  """The built-in morphable head.

  Identity = 26 shape parameters followed by 7 albedo parameters (names in
  `SHAPE_PARAMETERS` and `ALBEDO_PARAMETERS`), each N(0, 1). The all-zero
  identity is an average adult; every identity is left-right symmetric.

  Example:
    head = ProceduralHead()
    identity = head.sample_identity(np.random.default_rng(0))
    mesh = head.mesh(identity, image_size=64)
  """

  num_shape_params = len(SHAPE_PARAMETERS)
  num_albedo_params = len(ALBEDO_PARAMETERS)

  def __init__(self):
    self._topology = {}

  @staticmethod
  def parameter_names():
    return [name for name, _, _ in SHAPE_PARAMETERS + ALBEDO_PARAMETERS]

  def mesh(self, identity, image_size: Optional[int] = None) -> mesh_lib.Mesh:
    return _merge([part for _, part in self._parts(identity, image_size)])

  def part_sizes(self, image_size: Optional[int] = None) -> list:
    """[(name, vertex count)] of the parts in the order `mesh` merges them:
    "head" (the surface), then "eye" and "ear" of each side, then "neck"."""
    return [(name, len(part[0])) for name, part in
            self._parts(self.mean_identity(), image_size)]

  def _parts(self, identity, image_size):
    identity = self.check_identity(identity)
    rows, cols = _DETAIL_LEVELS[-1][1]
    for max_size, level in _DETAIL_LEVELS:
      if image_size is not None and image_size <= max_size:
        rows, cols = level
        break
    shape, albedo = _decode(identity)
    parts = [("head", self._head(shape, albedo, rows, cols))]
    for side in (-1.0, 1.0):
      parts.append(("eye", self._eye(shape, albedo, side)))
      parts.append(("ear", self._ear(shape, albedo, side)))
    parts.append(("neck", self._neck(shape, albedo)))
    return parts

  def _head(self, shape, albedo, rows, cols):
    polar, azimuth = _angles_grid(rows, cols)
    x = np.sin(polar) * np.sin(azimuth)
    y = np.cos(polar)
    z = np.sin(polar) * np.cos(azimuth)
    radius, masks = _head_radius(x, y, z, shape)
    # Hair: thicker than skin above a hairline that runs from the forehead
    # over the ears down to the nape.
    hairline = albedo.hairline + (-0.35 - albedo.hairline) * 0.5 * (1.0 - z)
    hair = _smoothstep(y - hairline, 0.0, 0.05)
    # Hair thickens gradually above the hairline: a step would read as a ledge.
    radius = radius + shape.hair_volume * _smoothstep(y - hairline, 0.0, 0.3)
    vertices = np.stack([x, y, z], axis=-1) * radius[..., None]

    skin = np.full_like(x, albedo.skin_tone)
    front = masks["front"]
    beard = np.clip(albedo.beard, 0.0, 1.5) / 1.5
    jaw = _smoothstep(-y, 0.25, 0.55) * _smoothstep(z, 0.0, 0.4) * (
        1.0 - masks["lips"])
    skin *= 1.0 - 0.45 * beard * jaw
    skin *= 1.0 - (1.0 - albedo.lip_tone) * masks["lips"] * front
    skin *= 1.0 - 0.75 * masks["mouth_line"] * front
    brows = _bump(np.abs(x), y, shape.eye_spacing + 0.01, shape.eye_height +
                  0.115, 0.085, 0.022, 3.0) * front
    brow_shade = np.clip(albedo.brow_tone, 0.0, 0.9) * brows
    skin = skin * (1.0 - brow_shade) + albedo.hair_tone * 0.8 * brow_shade
    # Sockets sit in a little shade (the lids and lashes).
    skin *= 1.0 - 0.2 * masks["socket"] * front
    hair_tone = np.clip(albedo.hair_tone, 0.04, 0.9)
    colour = skin * (1.0 - hair) + hair_tone * hair
    specular = 0.15 * (1.0 - hair) + 0.05 * hair

    key = ("head", rows, cols)
    if key not in self._topology:
      grid = mesh_lib.grid_triangles(rows, cols, wrap=True, symmetric=True)
      self._topology[key] = grid
    return vertices.reshape(-1, 3), self._topology[key], colour.reshape(-1), (
        specular.reshape(-1))

  def _eye(self, shape, albedo, side):
    size = shape.eye_size
    direction = np.array([shape.eye_spacing, shape.eye_height, 0.0])
    direction[2] = np.sqrt(1.0 - direction[0] ** 2 - direction[1] ** 2)
    surface, _ = _head_radius(direction[0:1], direction[1:2], direction[2:3],
                              shape, with_features=False)
    centre = direction * surface[0] - np.array([0.0, 0.0, 0.75 * size +
                                                0.5 * shape.socket_depth])
    unit, triangles = self._sphere_topology("eye", 16, 24)
    # Iris and pupil around the eye's forward axis.
    colour = np.where(unit[:, 2] > 0.8, np.clip(albedo.iris_tone, 0.05, 0.8),
                      0.78)
    colour = np.where(unit[:, 2] > 0.95, 0.03, colour)
    vertices = unit * size + centre
    if side < 0:  # The left eye mirrors the right one exactly.
      vertices = vertices * np.array([-1.0, 1.0, 1.0])
      triangles = triangles[:, ::-1]
    return vertices, triangles, colour, np.full(len(vertices), 1.0)

  def _ear(self, shape, albedo, side):
    vertices, triangles = self._sphere_topology("ear", 12, 20)
    height, width, thickness = 0.2 * shape.ear_size, 0.11 * shape.ear_size, 0.05
    local = vertices * np.array([thickness, height, width])
    # The outer face has a hollow (the concha) in its lower front.
    outer = vertices[:, 0] > 0
    hollow = np.exp(-0.5 * ((vertices[:, 1] + 0.2) / 0.45) ** 2 -
                    0.5 * ((vertices[:, 2] - 0.1) / 0.45) ** 2)
    local[:, 0] -= np.where(outer, 1.6 * thickness * hollow, 0.0)
    angle = np.deg2rad(shape.ear_protrusion)
    # Stand the ear out from the skull by turning it about its front edge.
    turn = np.array([[np.cos(angle), 0.0, -np.sin(angle)],
                     [0.0, 1.0, 0.0],
                     [np.sin(angle), 0.0, np.cos(angle)]])
    front_edge = np.array([0.0, 0.0, width])
    local = (local - front_edge) @ turn.T + front_edge
    if side < 0:
      local[:, 0] *= -1.0
      triangles = triangles[:, ::-1]
    ear_y = shape.eye_height - 0.13
    ear_z = -0.1
    surface, _ = _head_radius(np.array([side]), np.array([0.0]),
                              np.array([0.0]), shape, with_features=False)
    centre = np.array([side * (0.97 * surface[0] + 0.5 * thickness), ear_y,
                       ear_z])
    colour = np.full(len(vertices), albedo.skin_tone * 0.92)
    colour *= 1.0 - 0.3 * np.where(outer, hollow, 0.0)
    return local + centre, triangles, colour, np.full(len(vertices), 0.1)

  def _neck(self, shape, albedo):
    rows, cols = 8, 32
    key = ("neck", rows, cols)
    if key not in self._topology:
      # Rows run downwards and columns round the ring, so the outward normal
      # is d/d(row) x d/d(col) as grid_triangles expects.
      self._topology[key] = mesh_lib.grid_triangles(rows, cols, wrap=True,
                                                    symmetric=True)
    y = np.linspace(-0.35, -2.8, rows)[:, None]
    angle = np.linspace(-np.pi, np.pi, cols, endpoint=False)[None, :]
    radius = shape.neck_width * (1.0 + 0.15 * _smoothstep(-y, 1.6, 2.6))
    x = np.broadcast_to(radius * np.sin(angle), (rows, cols))
    z = np.broadcast_to(radius * 0.95 * np.cos(angle) - 0.12, (rows, cols))
    vertices = np.stack([x, np.broadcast_to(y, (rows, cols)), z], -1).reshape(
        -1, 3)
    colour = np.full(len(vertices), albedo.skin_tone * 0.95)
    return vertices, self._topology[key], colour, np.full(len(vertices), 0.1)

  def _sphere_topology(self, key, rows, cols):
    if key not in self._topology:
      self._topology[key] = mesh_lib.uv_sphere(1.0, rows, cols)
    return self._topology[key]


def _merge(parts) -> mesh_lib.Mesh:
  vertices, triangles, albedo, specular = [], [], [], []
  offset = 0
  for part_vertices, part_triangles, part_albedo, part_specular in parts:
    vertices.append(part_vertices)
    triangles.append(part_triangles + offset)
    albedo.append(np.broadcast_to(part_albedo, (len(part_vertices),)))
    specular.append(np.broadcast_to(part_specular, (len(part_vertices),)))
    offset += len(part_vertices)
  return mesh_lib.Mesh(np.concatenate(vertices), np.concatenate(triangles),
                       np.clip(np.concatenate(albedo), 0.0, 1.0),
                       np.concatenate(specular), double_sided=False)
