"""Tests for model_files: BFM .mat and .h5, OBJ blendshape folders, .npz and specs."""

import os

import h5py
import numpy as np
import pytest
import scipy.io

from dcign_tf.graphics import face_model
from dcign_tf.graphics import mesh as mesh_lib
from dcign_tf.graphics import model_files
from dcign_tf.graphics import renderer

LUMA = np.array([0.299, 0.587, 0.114])
# A closed octahedron, stretched and moved off the origin so the loaders'
# re-centring and scaling are not no-ops.
OCTAHEDRON = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0],
                       [0, 0, 1], [0, 0, -1]], np.float64)
OCTAHEDRON_TRIANGLES = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4],
                                 [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
BFM_MEAN = OCTAHEDRON * [2.0, 3.0, 1.5] + [10.0, 20.0, -5.0]
NUM_BFM_VERTICES = 6
NUM_BFM_SHAPE = 3
NUM_BFM_TEX = 2


def normalise(mean):
  """The documented normalisation: bbox centre at 0, height NORMALISED_HEIGHT."""
  low, high = mean.min(axis=0), mean.max(axis=0)
  scale = face_model.NORMALISED_HEIGHT / (high[1] - low[1])
  return (mean - 0.5 * (low + high)) * scale, scale


def unit(model, index):
  identity = model.mean_identity()
  identity[index] = 1.0
  return identity


def assert_raises_naming(function, *parts):
  with pytest.raises(ValueError) as info:
    function()
  for part in parts:
    assert str(part) in str(info.value), (part, str(info.value))


# ---------------------------------------------------------------------------
# Basel Face Model .mat


def bfm_arrays():
  rng = np.random.default_rng(0)
  n = NUM_BFM_VERTICES
  return dict(
      shapeMU=BFM_MEAN.reshape(-1, 1),
      shapePC=rng.normal(size=(3 * n, NUM_BFM_SHAPE)),
      shapeEV=np.array([[2.0], [0.5], [1.5]]),
      texMU=rng.uniform(50.0, 200.0, size=(3 * n, 1)),
      texPC=rng.normal(size=(3 * n, NUM_BFM_TEX)),
      texEV=np.array([[3.0], [1.0]]),
      tl=(OCTAHEDRON_TRIANGLES + 1).astype(np.float64))


def write_bfm(tmp_path, name="01_MorphableModel.mat", **changes):
  """Writes a BFM file; a change of None drops that key."""
  arrays = bfm_arrays()
  arrays.update(changes)
  arrays = {key: value for key, value in arrays.items() if value is not None}
  path = str(tmp_path / name)
  scipy.io.savemat(path, arrays)
  return path


@pytest.fixture(name="bfm_path")
def fixture_bfm_path(tmp_path):
  return write_bfm(tmp_path)


@pytest.mark.parametrize("via_spec", [False, True])
def test_bfm_parameter_counts_and_triangles(bfm_path, via_spec):
  if via_spec:
    model = model_files.load_face_model("bfm:" + bfm_path)
  else:
    model = model_files.load_bfm(bfm_path)
  assert isinstance(model, face_model.LinearMorphableModel)
  assert model.num_shape_params == NUM_BFM_SHAPE
  assert model.num_albedo_params == NUM_BFM_TEX
  assert model.identity_size == NUM_BFM_SHAPE + NUM_BFM_TEX
  assert model.num_vertices == NUM_BFM_VERTICES
  mesh = model.mesh(model.mean_identity())
  np.testing.assert_array_equal(mesh.triangles, OCTAHEDRON_TRIANGLES)


def test_bfm_mean_is_normalised(bfm_path):
  model = model_files.load_bfm(bfm_path)
  mesh = model.mesh(model.mean_identity())
  expected, _ = normalise(BFM_MEAN)
  np.testing.assert_allclose(mesh.vertices, expected, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(np.ptp(mesh.vertices[:, 1]),
                             face_model.NORMALISED_HEIGHT, rtol=1e-6)
  np.testing.assert_allclose(
      mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0), 0.0, atol=1e-6)


@pytest.mark.parametrize("k", range(NUM_BFM_SHAPE))
def test_bfm_shape_mode_closed_form(bfm_path, k):
  arrays = bfm_arrays()
  model = model_files.load_bfm(bfm_path)
  _, scale = normalise(BFM_MEAN)
  base = model.mesh(model.mean_identity()).vertices
  moved = model.mesh(unit(model, k)).vertices
  expected = (scale * arrays["shapeEV"][k, 0] *
              arrays["shapePC"][:, k].reshape(-1, 3))
  np.testing.assert_allclose(moved - base, expected, rtol=1e-5, atol=1e-5)


def test_bfm_albedo_mean_is_luma(bfm_path):
  model = model_files.load_bfm(bfm_path)
  albedo = model.mesh(model.mean_identity()).albedo
  expected = bfm_arrays()["texMU"].reshape(-1, 3) @ LUMA / 255.0
  np.testing.assert_allclose(albedo, expected, rtol=1e-6)


@pytest.mark.parametrize("k", range(NUM_BFM_TEX))
def test_bfm_albedo_mode_closed_form(bfm_path, k):
  arrays = bfm_arrays()
  model = model_files.load_bfm(bfm_path)
  base = model.mesh(model.mean_identity()).albedo
  moved = model.mesh(unit(model, NUM_BFM_SHAPE + k)).albedo
  expected = (arrays["texEV"][k, 0] *
              arrays["texPC"][:, k].reshape(-1, 3) @ LUMA / 255.0)
  assert np.all((moved > 0) & (moved < 1))  # No clipping in play.
  np.testing.assert_allclose(moved - base, expected, rtol=1e-4, atol=1e-6)
  # Albedo weights leave the shape alone.
  np.testing.assert_array_equal(
      model.mesh(unit(model, NUM_BFM_SHAPE + k)).vertices,
      model.mesh(model.mean_identity()).vertices)


@pytest.mark.parametrize("key", model_files.BFM_KEYS)
def test_bfm_missing_key(tmp_path, key):
  path = write_bfm(tmp_path, **{key: None})
  assert_raises_naming(lambda: model_files.load_bfm(path), path,
                       f"missing {key}")
  assert_raises_naming(lambda: model_files.load_face_model("bfm:" + path),
                       f"missing {key}")


def test_bfm_not_a_mat_file(tmp_path):
  path = tmp_path / "model.txt"
  path.write_text("hello, this is not a MATLAB file\n" * 10)
  assert_raises_naming(lambda: model_files.load_bfm(str(path)), str(path),
                       "not a readable MATLAB .mat file")


def test_bfm_v73_file_is_rejected(tmp_path):
  path = tmp_path / "01_MorphableModel.mat"
  header = (b"MATLAB 7.3 MAT-file".ljust(116, b" ") + b"\0" * 8 +
            b"\x00\x02IM")
  path.write_bytes(header + b"\0" * 512)
  assert_raises_naming(lambda: model_files.load_bfm(str(path)), str(path),
                       "v7.3")


@pytest.mark.parametrize("changes, parts", [
    (dict(shapeMU=np.ones((17, 1))), ["shapeMU has 17 values"]),
    (dict(shapePC=np.ones((15, 3))), ["shapePC", "[18, K]", "(15, 3)"]),
    (dict(texPC=np.ones((19, 2))), ["texPC", "[18, K]", "(19, 2)"]),
    (dict(texMU=np.ones((15, 1))), ["texMU has 15 values", "expected 18"]),
    (dict(shapeEV=np.ones((2, 1))), ["shapeEV must hold 3 values", "got 2"]),
    (dict(texEV=np.ones((3, 1))), ["texEV must hold 2 values", "got 3"]),
    (dict(tl=np.ones((8, 4))), ["tl must have shape [F >= 1, 3]", "(8, 4)"]),
    (dict(tl=np.vstack([OCTAHEDRON_TRIANGLES[:-1] + 1, [[0, 1, 2]]])),
     ["[1, 6]", "got values in [0, 6]"]),
    (dict(tl=np.vstack([OCTAHEDRON_TRIANGLES[:-1] + 1, [[1, 2, 7]]])),
     ["[1, 6]", "got values in [1, 7]"]),
])
def test_bfm_bad_sizes_and_indices(tmp_path, changes, parts):
  path = write_bfm(tmp_path, **changes)
  assert_raises_naming(lambda: model_files.load_bfm(path), path, *parts)


# ---------------------------------------------------------------------------
# Basel Face Model 2017/2019 .h5 (statismo layout) and 2009 saved as v7.3


def bfm_h5_arrays():
  rng = np.random.default_rng(1)
  n = NUM_BFM_VERTICES
  shape_basis, _ = np.linalg.qr(rng.normal(size=(3 * n, NUM_BFM_SHAPE)))
  color_basis, _ = np.linalg.qr(rng.normal(size=(3 * n, NUM_BFM_TEX)))
  return {
      "shape/model/mean": BFM_MEAN.reshape(-1).astype(np.float32),
      "shape/model/pcaBasis": shape_basis.astype(np.float32),
      "shape/model/pcaVariance": np.array([4.0, 0.25, 2.25], np.float32),
      "shape/model/noiseVariance": np.array([1e-3], np.float32),
      "shape/representer/cells": OCTAHEDRON_TRIANGLES.T.astype(np.uint32),
      "shape/representer/points": BFM_MEAN.T.astype(np.float32),
      "color/model/mean": rng.uniform(0.2, 0.8, 3 * n).astype(np.float32),
      "color/model/pcaBasis": color_basis.astype(np.float32),
      "color/model/pcaVariance": np.array([0.01, 0.0025], np.float32),
      "expression/model/mean": np.zeros(3 * n, np.float32),
  }


def write_bfm_h5(tmp_path, name="model2017-1_bfm_nomouth.h5", **changes):
  """Writes a statismo-layout file; keys use "__" for "/"; None drops one."""
  arrays = bfm_h5_arrays()
  arrays.update({key.replace("__", "/"): value
                 for key, value in changes.items()})
  path = str(tmp_path / name)
  with h5py.File(path, "w") as file:
    for key, value in arrays.items():
      if value is not None:
        file[key] = value
  return path


def test_bfm_h5_counts_triangles_and_normalised_mean(tmp_path):
  path = write_bfm_h5(tmp_path)
  model = model_files.load_face_model("bfm:" + path)
  assert model.num_shape_params == NUM_BFM_SHAPE
  assert model.num_albedo_params == NUM_BFM_TEX
  assert model.num_vertices == NUM_BFM_VERTICES
  mesh = model.mesh(model.mean_identity())
  np.testing.assert_array_equal(mesh.triangles, OCTAHEDRON_TRIANGLES)
  expected, _ = normalise(BFM_MEAN)
  np.testing.assert_allclose(mesh.vertices, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", range(NUM_BFM_SHAPE))
def test_bfm_h5_shape_mode_is_basis_times_root_variance(tmp_path, k):
  arrays = bfm_h5_arrays()
  model = model_files.load_bfm(write_bfm_h5(tmp_path))
  _, scale = normalise(BFM_MEAN)
  moved = model.mesh(unit(model, k)).vertices
  base = model.mesh(model.mean_identity()).vertices
  expected = (scale * np.sqrt(arrays["shape/model/pcaVariance"][k]) *
              arrays["shape/model/pcaBasis"][:, k].reshape(-1, 3))
  np.testing.assert_allclose(moved - base, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("unit_max", [1.0, 255.0])
def test_bfm_h5_albedo_is_luma_in_either_colour_unit(tmp_path, unit_max):
  arrays = bfm_h5_arrays()
  path = write_bfm_h5(
      tmp_path,
      color__model__mean=arrays["color/model/mean"] * unit_max,
      color__model__pcaBasis=arrays["color/model/pcaBasis"] * unit_max)
  model = model_files.load_bfm(path)
  base = model.mesh(model.mean_identity()).albedo
  np.testing.assert_allclose(
      base, arrays["color/model/mean"].reshape(-1, 3) @ LUMA, rtol=1e-5)
  moved = model.mesh(unit(model, NUM_BFM_SHAPE + 1)).albedo
  expected = (0.05 * arrays["color/model/pcaBasis"][:, 1].reshape(-1, 3) @
              LUMA)
  np.testing.assert_allclose(moved - base, expected, rtol=1e-4, atol=1e-6)


def test_bfm_h5_without_colour_has_no_albedo_modes(tmp_path):
  path = write_bfm_h5(tmp_path, color__model__mean=None,
                      color__model__pcaBasis=None,
                      color__model__pcaVariance=None)
  model = model_files.load_bfm(path)
  assert model.num_albedo_params == 0
  assert model.identity_size == NUM_BFM_SHAPE


def test_bfm_h5_accepts_triangles_as_rows(tmp_path):
  path = write_bfm_h5(tmp_path,
                      shape__representer__cells=OCTAHEDRON_TRIANGLES)
  mesh = model_files.load_bfm(path).mesh(np.zeros(5))
  np.testing.assert_array_equal(mesh.triangles, OCTAHEDRON_TRIANGLES)


@pytest.mark.parametrize("key", model_files.BFM_HDF5_KEYS)
def test_bfm_h5_missing_key_names_it(tmp_path, key):
  path = write_bfm_h5(tmp_path, **{key.replace("/", "__"): None})
  assert_raises_naming(lambda: model_files.load_face_model("bfm:" + path),
                       path, "not a Basel Face Model", f"missing {key}")


@pytest.mark.parametrize("changes, parts", [
    (dict(shape__model__mean=np.ones(17, np.float32)),
     ["shape/model/mean has 17 values"]),
    (dict(shape__model__pcaBasis=np.ones((15, 3), np.float32)),
     ["shape/model/pcaBasis", "[18, K]", "(15, 3)"]),
    (dict(shape__model__pcaVariance=np.ones(2, np.float32)),
     ["shape/model/pcaVariance must hold 3 values", "got 2"]),
    (dict(shape__model__pcaVariance=np.array([1.0, -1.0, 1.0])),
     ["shape/model/pcaVariance holds variances", ">= 0", "-1.0"]),
    (dict(shape__representer__cells=np.ones((4, 8), np.uint32)),
     ["cells must have shape [3, F >= 1]", "(4, 8)"]),
    (dict(shape__representer__cells=np.hstack(
        [OCTAHEDRON_TRIANGLES.T[:, :-1], [[0], [1], [6]]])),
     ["[0, 5]", "got values in [0, 6]"]),
    (dict(color__model__mean=np.ones(15, np.float32)),
     ["color/model/mean has 15 values", "expected 18"]),
])
def test_bfm_h5_bad_sizes_and_indices(tmp_path, changes, parts):
  path = write_bfm_h5(tmp_path, **changes)
  assert_raises_naming(lambda: model_files.load_bfm(path), path, *parts)


def test_bfm_v73_mat_reads_as_the_v7_file(tmp_path):
  """A v7.3 .mat is HDF5 after a 512-byte text header, arrays transposed."""
  v7 = model_files.load_bfm(write_bfm(tmp_path))
  path = str(tmp_path / "01_MorphableModel_v73.mat")
  with h5py.File(path, "w", userblock_size=512) as file:
    for key, value in bfm_arrays().items():
      file[key] = value.T
  with open(path, "r+b") as file:
    file.write(b"MATLAB 7.3 MAT-file".ljust(116, b" "))
  identity = np.linspace(-1.0, 1.0, v7.identity_size)
  for weights in (v7.mean_identity(), identity):
    ours, theirs = model_files.load_bfm(path).mesh(weights), v7.mesh(weights)
    np.testing.assert_allclose(ours.vertices, theirs.vertices, rtol=1e-6)
    np.testing.assert_allclose(ours.albedo, theirs.albedo, rtol=1e-6)
    np.testing.assert_array_equal(ours.triangles, theirs.triangles)


def test_bfm_hdf5_of_another_kind_is_refused(tmp_path):
  path = str(tmp_path / "weights.h5")
  with h5py.File(path, "w") as file:
    file["dense/kernel"] = np.ones((2, 2))
  assert_raises_naming(lambda: model_files.load_bfm(path), path,
                       "not a Basel Face Model", "shape/model/mean",
                       "shapeMU")


# ---------------------------------------------------------------------------
# OBJ blendshape folder (ICT-FaceKit layout)

OBJ_NEUTRAL = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0.1],
                        [1, 1, 0.2], [2, 1, 0.1], [1, 2, 0.3]], np.float64)
# Quads fanned from their first corner; "f -3 -2 -1" comes after vertex 5 (1-
# based), so it names vertices 3, 4, 5, i.e. 0-based [2, 3, 4].
OBJ_FACES = """\
o face
f 1/1/1 2/2/2 5/5/5 4/4/4
f -3 -2 -1
"""
OBJ_MORE_FACES = "f 2//2 3//3 6//6 5//5\n"
OBJ_TRIANGLES = np.array([[0, 1, 4], [0, 4, 3], [2, 3, 4], [1, 2, 5],
                          [1, 5, 4]])


def obj_text(vertices, faces=True):
  lines = ["# test mesh", "mtllib face.mtl"]
  lines += [f"v {x} {y} {z}" for x, y, z in vertices[:5]]
  lines += ["vt 0.5 0.5", "vn 0 0 1"]
  if faces:
    lines.append(OBJ_FACES)
  lines += [f"v {x} {y} {z} 0.5 0.5 0.5" for x, y, z in vertices[5:]]
  if faces:
    lines.append(OBJ_MORE_FACES)
  return "\n".join(lines) + "\n"


def obj_identities():
  rng = np.random.default_rng(1)
  return [OBJ_NEUTRAL + rng.normal(scale=0.1, size=OBJ_NEUTRAL.shape)
          for _ in range(2)]


def write_obj_folder(folder, identities=None):
  folder.mkdir(parents=True, exist_ok=True)
  (folder / "generic_neutral_mesh.obj").write_text(obj_text(OBJ_NEUTRAL))
  if identities is None:
    identities = obj_identities()
  for i, vertices in enumerate(identities):
    (folder / f"identity{i:03d}.obj").write_text(
        obj_text(vertices, faces=i == 0))
  return str(folder)


@pytest.fixture(name="obj_folder")
def fixture_obj_folder(tmp_path):
  return write_obj_folder(tmp_path / "FaceXModel")


def test_read_obj_fans_polygons_and_negative_indices(obj_folder):
  vertices, triangles = model_files.read_obj(
      os.path.join(obj_folder, "generic_neutral_mesh.obj"))
  np.testing.assert_array_equal(vertices, OBJ_NEUTRAL)
  np.testing.assert_array_equal(triangles, OBJ_TRIANGLES)
  assert triangles.dtype == np.int64


def test_read_obj_rejects_bad_faces_and_vertices(tmp_path):
  two_corners = tmp_path / "two.obj"
  two_corners.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n")
  assert_raises_naming(lambda: model_files.read_obj(str(two_corners)),
                       f"{two_corners}:4", "got 2")
  empty = tmp_path / "empty.obj"
  empty.write_text("# nothing\n")
  assert_raises_naming(lambda: model_files.read_obj(str(empty)), str(empty),
                       "no vertices")
  short = tmp_path / "short.obj"
  short.write_text("v 0 0 0\nv 1 0\nv 0 1 0\n")
  assert_raises_naming(lambda: model_files.read_obj(str(short)), str(short),
                       "3 numbers")


@pytest.mark.parametrize("via_spec", [False, True])
def test_obj_folder_modes_closed_form(obj_folder, via_spec):
  if via_spec:
    model = model_files.load_face_model("obj:" + obj_folder)
  else:
    model = model_files.load_obj_folder(obj_folder)
  assert isinstance(model, face_model.LinearMorphableModel)
  assert model.num_shape_params == 2
  assert model.num_albedo_params == 0
  expected_mean, scale = normalise(OBJ_NEUTRAL)
  base = model.mesh(model.mean_identity())
  np.testing.assert_allclose(base.vertices, expected_mean, atol=1e-6)
  np.testing.assert_array_equal(base.triangles, OBJ_TRIANGLES)
  np.testing.assert_allclose(base.albedo, face_model.SKIN_ALBEDO, rtol=1e-6)
  for k, identity in enumerate(obj_identities()):
    moved = model.mesh(unit(model, k)).vertices
    np.testing.assert_allclose(moved - base.vertices,
                               scale * (identity - OBJ_NEUTRAL), atol=1e-5)


def test_obj_keep_first_vertices(obj_folder):
  model = model_files.load_face_model(f"obj:{obj_folder}?keep=5")
  mesh = model.mesh(model.mean_identity())
  # Triangles touching vertex 5 or 6 are dropped.
  np.testing.assert_array_equal(mesh.triangles,
                                [[0, 1, 4], [0, 4, 3], [2, 3, 4]])
  expected_mean, scale = normalise(OBJ_NEUTRAL[:5])
  np.testing.assert_allclose(mesh.vertices, expected_mean, atol=1e-6)
  identity = obj_identities()[1]
  moved = model.mesh(unit(model, 1)).vertices
  np.testing.assert_allclose(moved - mesh.vertices,
                             scale * (identity - OBJ_NEUTRAL)[:5], atol=1e-5)


def test_obj_keep_file_remaps_indices(obj_folder, tmp_path):
  keep_path = tmp_path / "face_only.txt"
  keep_path.write_text("6\n1\n2\n5\n4\n2\n")  # Unsorted, with a duplicate.
  model = model_files.load_face_model(f"obj:{obj_folder}?keep={keep_path}")
  kept = [1, 2, 4, 5, 6]
  mesh = model.mesh(model.mean_identity())
  # Old [1, 2, 5] and [1, 5, 4] survive; 1, 2, 4, 5, 6 -> 0, 1, 2, 3, 4.
  np.testing.assert_array_equal(mesh.triangles, [[0, 1, 3], [0, 3, 2]])
  expected_mean, scale = normalise(OBJ_NEUTRAL[kept])
  np.testing.assert_allclose(mesh.vertices, expected_mean, atol=1e-6)
  identity = obj_identities()[0]
  moved = model.mesh(unit(model, 0)).vertices
  np.testing.assert_allclose(moved - mesh.vertices,
                             scale * (identity - OBJ_NEUTRAL)[kept],
                             atol=1e-5)
  # The same subset passed as a sequence.
  direct = model_files.load_obj_folder(obj_folder, keep_vertices=kept)
  np.testing.assert_array_equal(direct.mesh(direct.mean_identity()).vertices,
                                mesh.vertices)


@pytest.mark.parametrize("keep, parts", [
    ("2", ["keep=2", "[3, 7]"]),
    ("8", ["keep=8", "[3, 7]"]),
])
def test_obj_keep_count_out_of_range(obj_folder, keep, parts):
  assert_raises_naming(
      lambda: model_files.load_face_model(f"obj:{obj_folder}?keep={keep}"),
      obj_folder, *parts)


@pytest.mark.parametrize("indices, parts", [
    ([0, 1, 7], ["[0, 6]", "got indices in [0, 7]"]),
    ([-1, 0, 1, 2], ["[0, 6]", "got indices in [-1, 2]"]),
    ([0, 1], ["at least 3 vertices", "got 2"]),
])
def test_obj_keep_indices_out_of_range(obj_folder, indices, parts):
  assert_raises_naming(
      lambda: model_files.load_obj_folder(obj_folder, keep_vertices=indices),
      obj_folder, *parts)


def test_obj_keep_without_surviving_triangle(obj_folder):
  assert_raises_naming(
      lambda: model_files.load_obj_folder(obj_folder,
                                          keep_vertices=[0, 2, 6]),
      obj_folder, "no triangle survives")


def test_obj_keep_missing_file(obj_folder, tmp_path):
  missing = str(tmp_path / "nowhere.txt")
  assert_raises_naming(
      lambda: model_files.load_face_model(f"obj:{obj_folder}?keep={missing}"),
      missing, "does not exist")


def test_obj_folder_needs_one_neutral(tmp_path):
  folder = write_obj_folder(tmp_path / "two")
  (tmp_path / "two" / "other_neutral.obj").write_text(obj_text(OBJ_NEUTRAL))
  assert_raises_naming(lambda: model_files.load_obj_folder(folder), folder,
                       "found 2 neutral")
  os.remove(os.path.join(folder, "other_neutral.obj"))
  os.remove(os.path.join(folder, "generic_neutral_mesh.obj"))
  assert_raises_naming(lambda: model_files.load_obj_folder(folder), folder,
                       "found 0 neutral and 2 identity")


def test_obj_folder_needs_identities(tmp_path):
  folder = write_obj_folder(tmp_path / "none", identities=[])
  assert_raises_naming(lambda: model_files.load_obj_folder(folder), folder,
                       "found 1 neutral and 0 identity")


def test_obj_identity_vertex_count_mismatch(tmp_path):
  identities = obj_identities()
  identities[1] = np.vstack([identities[1], [[3.0, 3.0, 3.0]]])
  folder = write_obj_folder(tmp_path / "bad", identities)
  bad = os.path.join(folder, "identity001.obj")
  assert_raises_naming(lambda: model_files.load_obj_folder(folder), bad,
                       "has 8 vertices", "has 7")


def test_obj_face_index_out_of_range(tmp_path):
  folder = write_obj_folder(tmp_path / "faces")
  with open(os.path.join(folder, "generic_neutral_mesh.obj"), "a") as stream:
    stream.write("f 1 2 9\n")
  assert_raises_naming(lambda: model_files.load_obj_folder(folder), "[0, 6]",
                       "[0, 8]")


# ---------------------------------------------------------------------------
# .npz


def npz_arrays(albedo=True):
  rng = np.random.default_rng(2)
  vertices, triangles = mesh_lib.uv_sphere(rows=4, cols=5)
  mean = vertices.astype(np.float64) * [1.0, 1.2, 0.8] + [0.5, -3.0, 2.0]
  arrays = dict(mean=mean,
                shape_basis=rng.normal(size=(2,) + mean.shape),
                triangles=triangles,
                shape_stddev=np.array([0.3, 2.0]))
  if albedo:
    arrays.update(albedo_mean=rng.uniform(0.3, 0.7, size=mean.shape[0]),
                  albedo_basis=rng.normal(scale=0.05, size=(3, mean.shape[0])),
                  albedo_stddev=np.array([1.0, 0.5, 2.0]))
  return arrays


def write_npz(tmp_path, arrays, name="model.npz"):
  path = str(tmp_path / name)
  np.savez(path, **arrays)
  return path


def test_npz_closed_form(tmp_path):
  arrays = npz_arrays()
  model = model_files.load_face_model("npz:" + write_npz(tmp_path, arrays))
  assert isinstance(model, face_model.LinearMorphableModel)
  assert (model.num_shape_params, model.num_albedo_params) == (2, 3)
  expected_mean, scale = normalise(arrays["mean"])
  base = model.mesh(model.mean_identity())
  np.testing.assert_allclose(base.vertices, expected_mean, atol=1e-6)
  np.testing.assert_array_equal(base.triangles, arrays["triangles"])
  np.testing.assert_allclose(base.albedo, arrays["albedo_mean"], rtol=1e-6)
  for k in range(2):
    moved = model.mesh(unit(model, k)).vertices
    np.testing.assert_allclose(
        moved - base.vertices,
        scale * arrays["shape_stddev"][k] * arrays["shape_basis"][k],
        atol=1e-5)
  for k in range(3):
    moved = model.mesh(unit(model, 2 + k)).albedo
    np.testing.assert_allclose(
        moved - base.albedo,
        arrays["albedo_stddev"][k] * arrays["albedo_basis"][k], atol=1e-6)


def test_npz_required_keys_only(tmp_path):
  arrays = npz_arrays(albedo=False)
  del arrays["shape_stddev"]
  model = model_files.load_npz(write_npz(tmp_path, arrays))
  assert (model.num_shape_params, model.num_albedo_params) == (2, 0)
  _, scale = normalise(arrays["mean"])
  base = model.mesh(model.mean_identity())
  np.testing.assert_allclose(base.albedo, face_model.SKIN_ALBEDO, rtol=1e-6)
  moved = model.mesh(unit(model, 1)).vertices
  np.testing.assert_allclose(moved - base.vertices,
                             scale * arrays["shape_basis"][1], atol=1e-5)


@pytest.mark.parametrize("drop, add, parts", [
    ("triangles", {}, ["missing keys ['triangles']", "unknown keys []"]),
    ("mean", {}, ["missing keys ['mean']"]),
    (None, {"colors": np.zeros(3)}, ["missing keys []",
                                     "unknown keys ['colors']"]),
])
def test_npz_missing_and_unknown_keys(tmp_path, drop, add, parts):
  arrays = npz_arrays()
  if drop:
    del arrays[drop]
  arrays.update(add)
  path = write_npz(tmp_path, arrays)
  assert_raises_naming(lambda: model_files.load_npz(path), path, *parts)


def test_npz_mismatched_basis(tmp_path):
  arrays = npz_arrays()
  arrays["shape_basis"] = arrays["shape_basis"][:, :-1]
  path = write_npz(tmp_path, arrays)
  assert_raises_naming(lambda: model_files.load_npz(path), path,
                       "shape basis must have shape [K, 20, 3]", "(2, 19, 3)")


def test_npz_infinite_basis_names_the_file_and_key(tmp_path):
  arrays = npz_arrays()
  arrays["shape_basis"] = arrays["shape_basis"].copy()
  arrays["shape_basis"][1, 3, 2] = np.inf
  path = write_npz(tmp_path, arrays)
  assert_raises_naming(lambda: model_files.load_npz(path), path,
                       "shape_basis holds 1 NaN or infinite value")


def test_npz_mismatched_albedo(tmp_path):
  arrays = npz_arrays()
  arrays["albedo_stddev"] = arrays["albedo_stddev"][:2]
  path = write_npz(tmp_path, arrays)
  assert_raises_naming(lambda: model_files.load_npz(path), path,
                       "albedo standard deviations", "[3]", "(2,)")


def test_npz_triangle_index_out_of_range(tmp_path):
  arrays = npz_arrays()
  arrays["triangles"] = arrays["triangles"].copy()
  arrays["triangles"][3, 1] = 20
  path = write_npz(tmp_path, arrays)
  assert_raises_naming(lambda: model_files.load_npz(path), path, "[0, 19]",
                       "got values in [0, 20]")


def test_npz_not_an_npz_file(tmp_path):
  path = tmp_path / "model.npz"
  path.write_text("plain text, not a zip archive\n")
  assert_raises_naming(lambda: model_files.load_npz(str(path)), str(path),
                       "not a readable .npz file")


def test_npz_given_an_npy_file(tmp_path):
  path = str(tmp_path / "model.npy")
  np.save(path, np.zeros((4, 3)))
  assert_raises_naming(lambda: model_files.load_npz(path), path)


# ---------------------------------------------------------------------------
# Specs


@pytest.mark.parametrize("spec, parts", [
    ("foo:x", ["'foo:x'", "allowed"]),
    ("", ["''", "non-empty"]),
    ("   ", ["'   '", "non-empty"]),
    ("bfm", ["'bfm'", "allowed"]),
    ("bfm:", ["'bfm:'", "allowed"]),
    ("BFM:x.mat", ["'BFM:x.mat'"]),
    (None, ["None"]),
])
def test_unknown_spec(spec, parts):
  assert_raises_naming(lambda: model_files.load_face_model(spec), *parts)
  assert_raises_naming(lambda: model_files.check_spec(spec), *parts)


@pytest.mark.parametrize("kind", ["bfm", "npz", "obj"])
def test_spec_missing_file_or_folder(tmp_path, kind):
  path = str(tmp_path / "missing")
  assert_raises_naming(lambda: model_files.load_face_model(f"{kind}:{path}"),
                       repr(path), "does not exist")


@pytest.mark.parametrize("kind", ["bfm", "npz"])
def test_spec_file_kind_given_a_folder(tmp_path, kind):
  assert_raises_naming(
      lambda: model_files.load_face_model(f"{kind}:{tmp_path}"),
      repr(str(tmp_path)), "does not exist")


def test_obj_spec_given_a_file(bfm_path):
  assert_raises_naming(lambda: model_files.load_face_model("obj:" + bfm_path),
                       repr(bfm_path), "not a folder")


@pytest.mark.parametrize("query, option", [
    ("foo=1", "foo=1"), ("keep=", "keep="), ("keep=5&foo", "foo"),
])
def test_obj_spec_unknown_option(obj_folder, query, option):
  assert_raises_naming(
      lambda: model_files.load_face_model(f"obj:{obj_folder}?{query}"),
      f"Unknown option {option!r}")


def test_only_obj_specs_take_options(bfm_path):
  assert_raises_naming(
      lambda: model_files.load_face_model(f"bfm:{bfm_path}?keep=3"),
      "'keep=3'")


def test_check_spec_strips_and_accepts(bfm_path, obj_folder):
  assert model_files.check_spec("builtin") == "builtin"
  assert model_files.check_spec(f"  bfm:{bfm_path} ") == f"bfm:{bfm_path}"
  spec = f"obj:{obj_folder}?keep=5"
  assert model_files.check_spec(spec) == spec


# ---------------------------------------------------------------------------
# Rendering


@pytest.mark.parametrize("kind", ["bfm", "obj", "npz"])
def test_loaded_model_renders(tmp_path, kind):
  if kind == "bfm":
    spec = "bfm:" + write_bfm(tmp_path)
  elif kind == "obj":
    spec = "obj:" + write_obj_folder(tmp_path / "obj")
  else:
    spec = "npz:" + write_npz(tmp_path, npz_arrays())
  model = model_files.load_face_model(spec)
  identity = model.sample_identity(np.random.default_rng(3))
  image = renderer.render(model.mesh(identity), 30, 10, 20,
                          renderer.Camera(image_size=32))
  assert image.dtype == np.float32
  assert image.shape == (32, 32)
  assert np.all(np.isfinite(image))
  assert image.min() >= 0.0 and image.max() <= 1.0
  assert np.count_nonzero(image) > 10
