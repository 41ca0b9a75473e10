"""Procedural stand-ins for datasets that cannot be downloaded here, written
in the real files' formats so that they go through the same readers.

* `write_sprites`: a dSprites-equivalent grid as a `.npz` in the dSprites
  layout (`imgs` uint8 {0, 1} [N, S, S], `latents_classes` [N, 6] for
  color, shape, scale, orientation, position_x, position_y): a square, an
  ellipse and a heart, at every combination of scale (0.5 to 1),
  orientation (a full turn) and position (x and y across the image). The
  original's factor sizes are 1 x 3 x 6 x 40 x 32 x 32 at 64 px; smaller
  sizes give a CPU-sized grid with the same structure.
* `write_objects`: a folder of OBJ solids (boxes of several proportions,
  prisms and pyramids of several sides, an octahedron) for `--dataset=
  objects`, which renders them at a grid of views.
"""

import os

import numpy as np

SHAPES = ("square", "ellipse", "heart")
# The original dSprites grid.
SPRITE_SIZES = {"scales": 6, "orientations": 40, "positions": 32}


def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
  """Whether sprite coordinates (u, v), about [-1, 1], lie in the shape."""
  if shape == "square":
    return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
  if shape == "ellipse":
    return (u / 1.0) ** 2 + (v / 0.55) ** 2 <= 1.0
  # The heart curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled into the box.
  x, y = u * 1.25, -v * 1.25 + 0.15
  return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0


def sprite_images(image_size: int = 64, scales: int = 6,
                  orientations: int = 40, positions: int = 32):
  """(images uint8 {0, 1} [N, S, S], latents_classes int [N, 6]) of every
  combination, in dSprites' order (the last factor fastest)."""
  for name, value in (("image_size", image_size), ("scales", scales),
                      ("orientations", orientations),
                      ("positions", positions)):
    if int(value) != value or value < (8 if name == "image_size" else 1):
      raise ValueError(f"{name} must be a whole number >= "
                       f"{8 if name == 'image_size' else 1}, got {value!r}.")
  grid = (np.arange(image_size) + 0.5) / image_size  # Pixel centres, [0, 1].
  ys, xs = np.meshgrid(grid, grid, indexing="ij")
  scale_values = np.linspace(0.5, 1.0, scales)
  angles = 2 * np.pi * np.arange(orientations) / orientations
  # Centres keep the largest sprite inside the image, as dSprites' do.
  centres = np.linspace(0.2, 0.8, positions)
  count = len(SHAPES) * scales * orientations * positions * positions
  images = np.zeros((count, image_size, image_size), np.uint8)
  labels = np.zeros((count, 6), np.int64)
  row = 0
  half = 0.12  # A unit sprite spans 2 * half of the image at scale 1.
  for shape_index, shape in enumerate(SHAPES):
    for scale_index, scale in enumerate(scale_values):
      for angle_index, angle in enumerate(angles):
        cos, sin = np.cos(angle), np.sin(angle)
        for x_index, cx in enumerate(centres):
          for y_index, cy in enumerate(centres):
            dx, dy = (xs - cx) / (half * scale), (ys - cy) / (half * scale)
            u, v = cos * dx + sin * dy, -sin * dx + cos * dy
            images[row] = _inside(shape, u, v)
            labels[row] = (0, shape_index, scale_index, angle_index,
                           x_index, y_index)
            row += 1
  return images, labels


def write_sprites(path: str, **sizes) -> str:
  """Writes `sprite_images(**sizes)` as a dSprites-layout .npz; returns
  `path`."""
  images, labels = sprite_images(**sizes)
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  partial = path + ".partial.npz"
  np.savez_compressed(partial, imgs=images, latents_classes=labels)
  os.replace(partial, path)
  return path


def _prism(sides: int, radius: float, height: float, apex: bool):
  """Vertices and 1-based faces of an n-gon prism (or pyramid if apex)."""
  angles = 2 * np.pi * np.arange(sides) / sides
  ring = np.stack([radius * np.cos(angles), np.zeros(sides),
                   radius * np.sin(angles)], axis=1)
  bottom = ring - [0, height / 2, 0]
  if apex:
    vertices = np.concatenate([bottom, [[0, height / 2, 0]]])
    top = sides + 1
    faces = [[i + 1, (i + 1) % sides + 1, top] for i in range(sides)]
  else:
    vertices = np.concatenate([bottom, ring + [0, height / 2, 0]])
    faces = [[i + 1, (i + 1) % sides + 1, (i + 1) % sides + 1 + sides,
              i + 1 + sides] for i in range(sides)]
    faces.append([sides + i + 1 for i in range(sides)])
  faces.append([i + 1 for i in reversed(range(sides))])
  return vertices, faces


def _box(width: float, height: float, depth: float):
  corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1)
                      for z in (-1, 1)], np.float64) / 2 * [width, height,
                                                            depth]
  faces = [[1, 2, 4, 3], [5, 7, 8, 6], [1, 5, 6, 2], [3, 4, 8, 7],
           [1, 3, 7, 5], [2, 6, 8, 4]]
  return corners, faces


def _octahedron():
  vertices = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0],
                       [0, 0, 1], [0, 0, -1]], np.float64)
  faces = [[1, 3, 5], [5, 3, 2], [2, 3, 6], [6, 3, 1], [5, 4, 1], [2, 4, 5],
           [6, 4, 2], [1, 4, 6]]
  return vertices, faces


def solids() -> dict:
  """Name -> (vertices [V, 3], 1-based faces) of the 24 procedural objects:
  boxes of six proportions, prisms and pyramids of 3 to 8 sides, and
  octahedra; asymmetric enough that their azimuth shows."""
  shapes = {}
  for width, height, depth in ((0.6, 1.6, 1.0), (1.8, 0.7, 0.9),
                               (1.4, 0.4, 0.8), (1.0, 1.0, 0.3),
                               (0.5, 0.9, 1.7), (1.2, 1.2, 0.8)):
    shapes[f"box_{width}x{height}x{depth}"] = _box(width, height, depth)
  for sides in range(3, 9):
    shapes[f"prism_{sides}"] = _prism(sides, 0.9, 0.6 + 0.2 * sides,
                                      apex=False)
    shapes[f"pyramid_{sides}"] = _prism(sides, 1.0, 1.6 - 0.1 * sides,
                                        apex=True)
  vertices, faces = _octahedron()
  for index, stretch in enumerate(((1, 1, 1), (1, 1.8, 1), (2, 1, 1),
                                   (1, 0.6, 1.6), (1.5, 1.5, 0.5),
                                   (0.7, 1.4, 1.2))):
    shapes[f"octahedron_{index}"] = (vertices * stretch, faces)
  return shapes


def write_objects(folder: str) -> list:
  """Writes each of `solids()` as FOLDER/<name>.obj; returns the paths."""
  os.makedirs(folder, exist_ok=True)
  paths = []
  for name, (vertices, faces) in solids().items():
    path = os.path.join(folder, f"{name}.obj")
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += ["f " + " ".join(str(i) for i in face) for face in faces]
    with open(path + ".partial", "w") as stream:
      stream.write("\n".join(lines) + "\n")
    os.replace(path + ".partial", path)
    paths.append(path)
  return paths
