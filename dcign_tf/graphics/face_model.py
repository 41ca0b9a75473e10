"""The face-model interface and the linear morphable model behind BFM/OBJ/npz.

A face model maps an *identity* vector (shape parameters followed by albedo
parameters, each drawn from N(0, 1)) to a renderable `Mesh`. The built-in
procedural head (`procedural_head.ProceduralHead`) and the linear models users
own (Basel Face Model, OBJ blendshape folders, plain .npz) share it, so the
datasets and the renderer never care which one they draw from.
"""

import abc
from typing import Optional

import numpy as np

from dcign_tf.graphics import mesh as mesh_lib

# External models are scaled so their mean face spans this height, centred on
# the origin, which frames them like the built-in head.
NORMALISED_HEIGHT = 1.9
SKIN_ALBEDO = 0.7


class FaceModel(abc.ABC):
  """Identity vector -> mesh. Subclasses set the two parameter counts."""

  num_shape_params: int
  num_albedo_params: int

  @property
  def identity_size(self) -> int:
    return self.num_shape_params + self.num_albedo_params

  def sample_identity(self, rng: np.random.Generator) -> np.ndarray:
    """Draws an identity from the model's prior, N(0, I), as float32."""
    return rng.standard_normal(self.identity_size).astype(np.float32)

  def mean_identity(self) -> np.ndarray:
    return np.zeros(self.identity_size, np.float32)

  def check_identity(self, identity) -> np.ndarray:
    identity = np.asarray(identity, np.float32)
    if identity.shape != (self.identity_size,):
      raise ValueError(
          f"{type(self).__name__} takes identity vectors of shape "
          f"[{self.identity_size}] ({self.num_shape_params} shape + "
          f"{self.num_albedo_params} albedo parameters), got {identity.shape}.")
    if not np.all(np.isfinite(identity)):
      raise ValueError("identity contains NaN or infinite values.")
    return identity

  @abc.abstractmethod
  def mesh(self, identity, image_size: Optional[int] = None) -> mesh_lib.Mesh:
    """The mesh of `identity`.

    Args:
      identity: float [identity_size].
      image_size: the size it will be rendered at; models may pick a level of
        detail from it (finer meshes cost more and show nothing at 64 px).
    """


class LinearMorphableModel(FaceModel):
  """mesh = mean + sum_k w_k * stddev_k * basis_k, w ~ N(0, I).

  The Basel Face Model, OBJ blendshape folders and .npz files all load into
  this. Geometry is re-centred and scaled once, from the mean shape, so every
  identity keeps its own size relative to the mean.

  Args:
    mean: [N, 3] mean vertex positions (any units; y up, z out of the face).
    shape_basis: [K, N, 3] shape modes.
    triangles: [F, 3] vertex indices.
    shape_stddev: [K] standard deviation of each mode's weight (default 1).
    albedo_mean: [N] mean albedo in [0, 1] (default uniform skin).
    albedo_basis: [K2, N] albedo modes.
    albedo_stddev: [K2] standard deviation of each albedo mode's weight.
    name: used in error messages.
  """

  def __init__(self, mean, shape_basis, triangles, shape_stddev=None,
               albedo_mean=None, albedo_basis=None, albedo_stddev=None,
               name="morphable model"):
    mean = np.asarray(mean, np.float64)
    shape_basis = np.asarray(shape_basis, np.float64)
    mesh_lib.validate_mesh_arrays(mean, triangles, name=name)
    num_vertices = mean.shape[0]
    if shape_basis.ndim != 3 or shape_basis.shape[1:] != (num_vertices, 3):
      raise ValueError(f"{name}: shape basis must have shape [K, {num_vertices},"
                       f" 3] to match the mean's {num_vertices} vertices, got "
                       f"{shape_basis.shape}.")
    _check_finite(shape_basis, "shape_basis", name)
    shape_stddev = _stddev(shape_stddev, shape_basis.shape[0], "shape", name)
    if albedo_mean is None:
      albedo_mean = np.full(num_vertices, SKIN_ALBEDO)
    albedo_mean = np.asarray(albedo_mean, np.float64)
    if albedo_mean.shape != (num_vertices,):
      raise ValueError(f"{name}: albedo mean must have shape [{num_vertices}], "
                       f"got {albedo_mean.shape}.")
    if albedo_basis is None:
      albedo_basis = np.zeros((0, num_vertices))
    albedo_basis = np.asarray(albedo_basis, np.float64)
    if albedo_basis.ndim != 2 or albedo_basis.shape[1] != num_vertices:
      raise ValueError(f"{name}: albedo basis must have shape [K, "
                       f"{num_vertices}], got {albedo_basis.shape}.")
    albedo_stddev = _stddev(albedo_stddev, albedo_basis.shape[0], "albedo",
                            name)
    _check_finite(albedo_mean, "albedo_mean", name)
    _check_finite(albedo_basis, "albedo_basis", name)

    low, high = mean.min(axis=0), mean.max(axis=0)
    centre = 0.5 * (low + high)
    scale = NORMALISED_HEIGHT / max(high[1] - low[1], 1e-12)
    self._mean = ((mean - centre) * scale).astype(np.float32)
    self._shape_basis = (shape_basis * shape_stddev[:, None, None] *
                         scale).reshape(shape_basis.shape[0], -1).astype(
                             np.float32)
    self._albedo_mean = albedo_mean.astype(np.float32)
    self._albedo_basis = (albedo_basis * albedo_stddev[:, None]).astype(
        np.float32)
    self._triangles = np.asarray(triangles).astype(np.int32)
    self.num_shape_params = shape_basis.shape[0]
    self.num_albedo_params = albedo_basis.shape[0]
    self.name = name

  @property
  def num_vertices(self) -> int:
    return self._mean.shape[0]

  def mesh(self, identity, image_size=None) -> mesh_lib.Mesh:
    del image_size  # A scanned model has one level of detail.
    identity = self.check_identity(identity)
    shape_weights = identity[:self.num_shape_params]
    albedo_weights = identity[self.num_shape_params:]
    vertices = self._mean + (shape_weights @ self._shape_basis).reshape(-1, 3)
    albedo = np.clip(self._albedo_mean + albedo_weights @ self._albedo_basis,
                     0.0, 1.0)
    return mesh_lib.Mesh(vertices, self._triangles, albedo,
                         np.full(self.num_vertices, 0.1, np.float32),
                         double_sided=True)


def _check_finite(values: np.ndarray, key: str, name: str):
  bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
  if bad:
    raise ValueError(f"{name}: {key} holds {bad} NaN or infinite value"
                     f"{'s' if bad > 1 else ''}; a face model's arrays must "
                     "be finite.")


def _stddev(values, count, label, name) -> np.ndarray:
  if values is None:
    return np.ones(count)
  values = np.asarray(values, np.float64).reshape(-1)
  if values.shape != (count,):
    raise ValueError(f"{name}: {label} standard deviations must have shape "
                     f"[{count}] (one per mode), got {values.shape}.")
  if np.any(values < 0) or not np.all(np.isfinite(values)):
    raise ValueError(f"{name}: {label} standard deviations must be finite and "
                     ">= 0.")
  return values
