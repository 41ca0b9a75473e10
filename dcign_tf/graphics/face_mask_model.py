"""A linear face-mask model built from the built-in heads: a stand-in for
the morphable models users own.

The Basel Face Model and its kind are cut to the face: no hair at the back,
no ears, no neck, and identities that differ in shape and skin only. A run
that works on the built-in heads may lean on their outline (hair, ears,
neck) to tell people apart; this model takes those cues away, so the
flags can be checked on the kind of model users will bring, with no
download and no licence.

Construction: `num_heads` identities drawn from the built-in head's prior,
each meshed at one level of detail; the vertices of the face kept (the
front of the head surface between chin and upper forehead, where the mean
head's surface direction has z > `FRONT_Z`, `CHIN_Y` < y < `FOREHEAD_Y`
and |x| < `SIDE_X`, plus both eyeballs) with the triangles among them;
then principal components of the kept vertex positions and of their
albedos. Weights are N(0, 1) times each mode's standard deviation over the
sample, as in the Basel Face Model. The arrays are the `npz:` face-model
format (`model_files.load_npz`).
"""

import os
from typing import Optional

import numpy as np

from dcign_tf.graphics import procedural_head

# The face region, on unit directions from the head's centre (model frame:
# y up, z out of the face).
FRONT_Z = 0.3
CHIN_Y = -0.9
FOREHEAD_Y = 0.62
SIDE_X = 0.85
KEPT_PARTS = ("head", "eye")
# The head grid's finest level of detail: enough vertices for 150 px.
DEFAULT_DETAIL_SIZE = 200


def check_sizes(num_heads: int, shape_modes: int, albedo_modes: int):
  """Raises ValueError when the PCA cannot give the modes asked for."""
  if num_heads < 2:
    raise ValueError(f"num_heads must be >= 2, got {num_heads}.")
  for name, modes in (("shape_modes", shape_modes),
                      ("albedo_modes", albedo_modes)):
    if not 1 <= modes <= num_heads - 1:
      raise ValueError(f"{name} must be in [1, {num_heads - 1}] (at most "
                       f"num_heads - 1 = {num_heads - 1} modes vary), got "
                       f"{modes}.")


def face_vertices(head: procedural_head.ProceduralHead,
                  image_size: int = DEFAULT_DETAIL_SIZE) -> np.ndarray:
  """bool [V]: which vertices of the head's mesh the face mask keeps."""
  mean = head.mesh(head.mean_identity(), image_size=image_size)
  keep = []
  start = 0
  for name, count in head.part_sizes(image_size):
    if name == "head":
      vertices = mean.vertices[start:start + count]
      direction = vertices / np.linalg.norm(vertices, axis=1, keepdims=True)
      keep.append((direction[:, 2] > FRONT_Z) & (direction[:, 1] > CHIN_Y) &
                  (direction[:, 1] < FOREHEAD_Y) &
                  (np.abs(direction[:, 0]) < SIDE_X))
    else:
      keep.append(np.full(count, name in KEPT_PARTS))
    start += count
  return np.concatenate(keep)


def _principal_modes(samples: np.ndarray, modes: int) -> tuple:
  """(mean, [modes, D] unit modes, [modes] standard deviations) of rows."""
  mean = samples.mean(axis=0)
  _, singular, basis = np.linalg.svd(samples - mean, full_matrices=False)
  return mean, basis[:modes], singular[:modes] / np.sqrt(len(samples) - 1)


def build(num_heads: int = 300, shape_modes: int = 40, albedo_modes: int = 20,
          seed: int = 0, image_size: int = DEFAULT_DETAIL_SIZE,
          progress=None) -> dict:
  """The face-mask model's arrays, keyed as the `npz:` format.

  Args:
    num_heads: built-in identities sampled.
    shape_modes, albedo_modes: principal components kept.
    seed: draws the identities.
    image_size: picks the head's level of detail.
    progress: optional callable(1), after each head is meshed.
  """
  check_sizes(num_heads, shape_modes, albedo_modes)
  head = procedural_head.ProceduralHead()
  keep = face_vertices(head, image_size)
  index = np.full(len(keep), -1, np.int64)
  index[keep] = np.arange(int(keep.sum()))
  rng = np.random.default_rng(seed)
  shapes, albedos = [], []
  triangles = None
  for _ in range(num_heads):
    mesh = head.mesh(head.sample_identity(rng), image_size=image_size)
    if triangles is None:
      inside = keep[mesh.triangles].all(axis=1)
      triangles = index[mesh.triangles[inside]]
    shapes.append(mesh.vertices[keep].reshape(-1).astype(np.float64))
    albedos.append(mesh.albedo[keep].astype(np.float64))
    if progress:
      progress(1)
  shape_mean, shape_basis, shape_stddev = _principal_modes(
      np.stack(shapes), shape_modes)
  albedo_mean, albedo_basis, albedo_stddev = _principal_modes(
      np.stack(albedos), albedo_modes)
  return {"mean": shape_mean.reshape(-1, 3).astype(np.float32),
          "shape_basis": shape_basis.reshape(shape_modes, -1, 3).astype(
              np.float32),
          "shape_stddev": shape_stddev.astype(np.float32),
          "triangles": triangles.astype(np.int32),
          "albedo_mean": albedo_mean.astype(np.float32),
          "albedo_basis": albedo_basis.astype(np.float32),
          "albedo_stddev": albedo_stddev.astype(np.float32)}


def write_npz(path: str, arrays: dict, overwrite: bool = False):
  """Writes `arrays` as an uncompressed .npz beside `path`, then renames it
  into place (a crash leaves no partial file); refuses an existing file
  unless `overwrite`."""
  if not path.endswith(".npz"):
    raise ValueError(f"{path!r}: a face model file must end in .npz.")
  if os.path.exists(path) and not overwrite:
    raise ValueError(f"{path} exists; choose another path or overwrite it "
                     "on purpose.")
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  temporary = path[:-len(".npz")] + ".partial.npz"
  np.savez(temporary, **arrays)
  os.replace(temporary, path)


def describe(arrays: dict, path: Optional[str] = None) -> str:
  """One line: vertex, triangle and mode counts."""
  where = f"{path}: " if path else ""
  return (f"{where}{len(arrays['mean'])} vertices, {len(arrays['triangles'])}"
          f" triangles, {len(arrays['shape_stddev'])} shape and "
          f"{len(arrays['albedo_stddev'])} albedo modes.")
