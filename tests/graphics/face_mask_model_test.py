"""Tests of the face-mask model built from the built-in heads."""

import numpy as np
import pytest

from dcign_tf.graphics import face_mask_model
from dcign_tf.graphics import model_files
from dcign_tf.graphics import procedural_head
from dcign_tf.graphics import renderer

SMALL = dict(num_heads=12, shape_modes=5, albedo_modes=3, image_size=64)


@pytest.fixture(name="arrays", scope="module")
def fixture_arrays():
  return face_mask_model.build(**SMALL)


def test_the_mask_keeps_the_face_and_the_eyes_only():
  head = procedural_head.ProceduralHead()
  keep = face_mask_model.face_vertices(head, 64)
  sizes = dict()
  start = 0
  for name, count in head.part_sizes(64):
    sizes.setdefault(name, []).append(keep[start:start + count])
    start += count
  assert start == len(keep)
  assert all(part.all() for part in sizes["eye"])
  assert not any(part.any() for part in sizes["ear"] + sizes["neck"])
  surface = sizes["head"][0]
  # The face is a minority of the closed head surface, but not a sliver.
  assert 0.1 < surface.mean() < 0.6
  mean = head.mesh(head.mean_identity(), image_size=64)
  kept = mean.vertices[:len(surface)][surface]
  assert kept[:, 2].min() > 0  # Nothing from the back of the head.


def test_modes_are_the_samples_principal_components(arrays):
  basis = arrays["shape_basis"].reshape(SMALL["shape_modes"], -1)
  np.testing.assert_allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-5)
  albedo = arrays["albedo_basis"]
  np.testing.assert_allclose(albedo @ albedo.T, np.eye(len(albedo)),
                             atol=1e-5)
  # Standard deviations fall, as principal components' do.
  assert np.all(np.diff(arrays["shape_stddev"]) <= 0)
  assert np.all(arrays["shape_stddev"] > 0)


def test_principal_modes_match_a_closed_form():
  # Samples on a line: one mode along it, with the samples' own spread.
  direction = np.array([3.0, 4.0]) / 5.0
  steps = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
  samples = np.array([1.0, 1.0]) + steps[:, None] * direction
  mean, modes, stddev = face_mask_model._principal_modes(samples, 1)
  np.testing.assert_allclose(mean, [1.0, 1.0])
  np.testing.assert_allclose(np.abs(modes[0]), direction, atol=1e-12)
  np.testing.assert_allclose(stddev[0], np.std(steps, ddof=1))


def test_the_file_loads_as_an_npz_face_model_and_renders_a_face(
    arrays, tmp_path):
  path = str(tmp_path / "mask.npz")
  face_mask_model.write_npz(path, arrays)
  model = model_files.load_face_model(f"npz:{path}")
  assert model.num_shape_params == 5 and model.num_albedo_params == 3
  rng = np.random.default_rng(0)
  camera = renderer.Camera(image_size=32)
  first, second = (renderer.render(model.mesh(model.sample_identity(rng)),
                                   0.0, 0.0, 0.0, camera) for _ in range(2))
  covered = first > 0
  assert 0.15 < covered.mean() < 0.9  # A face on black.
  assert np.abs(first - second).max() > 0.05  # Two people differ.


@pytest.mark.parametrize("sizes,message", [
    (dict(num_heads=1), "num_heads must be >= 2, got 1"),
    (dict(num_heads=5, shape_modes=5), r"shape_modes must be in \[1, 4\]"),
    (dict(num_heads=5, shape_modes=2, albedo_modes=0),
     r"albedo_modes must be in \[1, 4\]"),
])
def test_impossible_sizes_are_refused(sizes, message):
  values = dict(num_heads=10, shape_modes=3, albedo_modes=3)
  values.update(sizes)
  with pytest.raises(ValueError, match=message):
    face_mask_model.build(**values)


def test_write_refuses_an_existing_file_and_a_wrong_suffix(arrays, tmp_path):
  path = tmp_path / "mask.npz"
  path.write_bytes(b"mine")
  with pytest.raises(ValueError, match="exists"):
    face_mask_model.write_npz(str(path), arrays)
  assert path.read_bytes() == b"mine"
  with pytest.raises(ValueError, match="must end in .npz"):
    face_mask_model.write_npz(str(tmp_path / "mask.mat"), arrays)
  face_mask_model.write_npz(str(path), arrays, overwrite=True)
  assert len(np.load(str(path))["mean"]) == len(arrays["mean"])
  assert [p.name for p in tmp_path.iterdir()] == ["mask.npz"]
