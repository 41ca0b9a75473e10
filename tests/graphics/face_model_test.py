"""Tests for the FaceModel interface and LinearMorphableModel."""

import numpy as np
import pytest

from dcign_tf.graphics import face_model
from dcign_tf.graphics import mesh as mesh_lib

TETRAHEDRON = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 1]],
                       np.float64)
TETRAHEDRON_TRIANGLES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


class TinyModel(face_model.FaceModel):
  """The base class with 3 shape and 2 albedo parameters."""

  num_shape_params = 3
  num_albedo_params = 2

  def mesh(self, identity, image_size=None):
    self.check_identity(identity)
    return mesh_lib.Mesh(TETRAHEDRON, TETRAHEDRON_TRIANGLES, np.ones(4),
                         np.zeros(4))


def linear_model(num_shape=3, num_albedo=2, **changes):
  rng = np.random.default_rng(0)
  arrays = dict(mean=TETRAHEDRON,
                shape_basis=rng.normal(size=(num_shape, 4, 3)),
                triangles=TETRAHEDRON_TRIANGLES,
                shape_stddev=rng.uniform(0.5, 2.0, size=num_shape),
                albedo_mean=np.full(4, 0.5),
                albedo_basis=rng.normal(scale=0.1, size=(num_albedo, 4)),
                albedo_stddev=np.ones(num_albedo))
  arrays.update(changes)
  return face_model.LinearMorphableModel(name="tiny", **arrays)


MODELS = {"base": TinyModel, "linear": linear_model}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_identity_size(make):
  model = make()
  assert model.identity_size == 5
  np.testing.assert_array_equal(model.mean_identity(), np.zeros(5))
  assert model.mean_identity().dtype == np.float32


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_sample_identity_is_deterministic(make):
  model = make()
  first = model.sample_identity(np.random.default_rng(7))
  again = model.sample_identity(np.random.default_rng(7))
  other = model.sample_identity(np.random.default_rng(8))
  assert first.shape == (5,)
  assert first.dtype == np.float32
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
  rng = np.random.default_rng(7)
  assert not np.array_equal(model.sample_identity(rng),
                            model.sample_identity(rng))


def test_sample_identity_is_standard_normal():
  model = TinyModel()
  rng = np.random.default_rng(0)
  samples = np.stack([model.sample_identity(rng) for _ in range(4000)])
  assert samples.shape == (4000, 5)
  np.testing.assert_allclose(samples.mean(axis=0), 0.0, atol=0.06)
  np.testing.assert_allclose(samples.std(axis=0), 1.0, atol=0.05)
  np.testing.assert_allclose(np.corrcoef(samples.T), np.eye(5), atol=0.06)
  # Normal, not e.g. uniform with unit variance: ~4.6% lie beyond 2 sigma.
  np.testing.assert_allclose(np.mean(np.abs(samples) > 2), 0.0455, atol=0.01)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("shape", [(4,), (6,), (1, 5), (), (0,)])
def test_check_identity_rejects_wrong_shapes(make, shape):
  model = make()
  with pytest.raises(ValueError, match=r"shape \[5\] \(3 shape \+ 2 albedo"):
    model.check_identity(np.zeros(shape))
  with pytest.raises(ValueError, match=r"\[5\]"):
    model.mesh(np.zeros(shape))


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_identity_rejects_non_finite(make, bad):
  model = make()
  identity = np.zeros(5)
  identity[3] = bad
  with pytest.raises(ValueError, match="NaN or infinite"):
    model.check_identity(identity)
  with pytest.raises(ValueError, match="NaN or infinite"):
    model.mesh(identity)


def test_check_identity_returns_float32():
  checked = TinyModel().check_identity([1, 2, 3, 4, 5])
  assert checked.dtype == np.float32
  np.testing.assert_array_equal(checked, [1, 2, 3, 4, 5])


def test_linear_model_closed_form():
  rng = np.random.default_rng(0)
  basis = rng.normal(size=(3, 4, 3))
  stddev = np.array([0.5, 1.0, 2.0])
  albedo_basis = rng.normal(scale=0.1, size=(2, 4))
  model = linear_model(shape_basis=basis, shape_stddev=stddev,
                       albedo_basis=albedo_basis,
                       albedo_stddev=np.array([0.5, 1.5]))
  scale = face_model.NORMALISED_HEIGHT / 2.0  # The tetrahedron is 2 high.
  centre = np.array([0.5, 1.0, 0.5])
  identity = np.array([0.3, -1.0, 0.7, 0.4, -0.2], np.float32)
  mesh = model.mesh(identity)
  expected = ((TETRAHEDRON - centre) * scale +
              scale * np.einsum("k,kvc->vc", identity[:3] * stddev, basis))
  np.testing.assert_allclose(mesh.vertices, expected, atol=1e-5)
  np.testing.assert_allclose(
      mesh.albedo, 0.5 + (identity[3:] * [0.5, 1.5]) @ albedo_basis,
      atol=1e-6)
  np.testing.assert_array_equal(mesh.triangles, TETRAHEDRON_TRIANGLES)
  assert mesh.double_sided


def test_linear_model_scale_comes_from_the_mean_only():
  model = linear_model(shape_basis=np.zeros((1, 4, 3)) + [0, 1, 0],
                       shape_stddev=[1.0], num_albedo=0)
  mean_mesh = model.mesh([0.0])
  np.testing.assert_allclose(np.ptp(mean_mesh.vertices[:, 1]),
                             face_model.NORMALISED_HEIGHT, rtol=1e-6)
  # A uniform shift of 1 model unit moves every vertex by the mean's scale.
  moved = model.mesh([1.0]).vertices - mean_mesh.vertices
  np.testing.assert_allclose(moved, np.tile([0, 0.95, 0], (4, 1)), atol=1e-6)


def test_linear_model_defaults_and_clipping():
  model = face_model.LinearMorphableModel(
      TETRAHEDRON, np.zeros((2, 4, 3)), TETRAHEDRON_TRIANGLES)
  assert (model.num_shape_params, model.num_albedo_params) == (2, 0)
  mesh = model.mesh([0.0, 0.0])
  np.testing.assert_allclose(mesh.albedo, face_model.SKIN_ALBEDO, rtol=1e-6)
  bright = linear_model(albedo_basis=np.ones((2, 4)), albedo_stddev=[1.0, 1.0])
  np.testing.assert_array_equal(bright.mesh([0, 0, 0, 3, 0]).albedo, 1.0)
  np.testing.assert_array_equal(bright.mesh([0, 0, 0, -3, 0]).albedo, 0.0)


@pytest.mark.parametrize("changes, message", [
    (dict(shape_stddev=[1.0, 1.0]),
     r"shape standard deviations must have shape \[3\].*got \(2,\)"),
    (dict(albedo_stddev=[1.0, 1.0, 1.0]),
     r"albedo standard deviations must have shape \[2\].*got \(3,\)"),
    (dict(shape_stddev=[1.0, -0.1, 1.0]), "shape standard deviations.*>= 0"),
    (dict(albedo_stddev=[-1.0, 1.0]), "albedo standard deviations.*>= 0"),
    (dict(shape_stddev=[1.0, np.nan, 1.0]), "finite"),
    (dict(shape_basis=np.where(np.arange(36).reshape(3, 4, 3) == 7, np.inf,
                               1.0)),
     "shape_basis holds 1 NaN or infinite value;"),
    (dict(albedo_basis=np.full((2, 4), np.nan)),
     "albedo_basis holds 8 NaN or infinite values"),
    (dict(albedo_mean=[0.5, np.inf, 0.5, 0.5]),
     "albedo_mean holds 1 NaN or infinite value"),
    (dict(albedo_mean=np.ones(5)), r"albedo mean must have shape \[4\]"),
    (dict(albedo_mean=np.ones((4, 1))), r"albedo mean.*got \(4, 1\)"),
    (dict(albedo_basis=np.ones((2, 5))),
     r"albedo basis must have shape \[K, 4\], got \(2, 5\)"),
    (dict(albedo_basis=np.ones(4)), r"albedo basis.*got \(4,\)"),
    (dict(shape_basis=np.ones((3, 5, 3))),
     r"shape basis must have shape \[K, 4, 3\].*got \(3, 5, 3\)"),
    (dict(shape_basis=np.ones((4, 3))), r"shape basis.*got \(4, 3\)"),
    (dict(triangles=[[0, 1, 4]]), r"\[0, 3\].*got values in \[0, 4\]"),
    (dict(mean=np.ones((4, 2))), r"vertices must have shape"),
])
def test_linear_model_rejects_bad_arrays(changes, message):
  with pytest.raises(ValueError, match=message) as info:
    linear_model(**changes)
  assert str(info.value).startswith("tiny: ")
