"""Face models users own: Basel Face Model, OBJ blendshape folders, .npz.

All three load into `face_model.LinearMorphableModel`. A face model is named
by a spec string everywhere (flags, dataset configs):

  builtin                   the procedural head (no files)
  bfm:PATH                  the Basel Face Model: 2009's
                            01_MorphableModel.mat, or a 2017/2019 .h5
  obj:FOLDER[?keep=N|FILE]  a neutral OBJ mesh plus identity meshes sharing
                            its topology (e.g. ICT-FaceKit's FaceXModel);
                            keep= keeps the first N vertices, or the indices
                            listed in FILE (a path, or a name inside
                            FOLDER), to drop eyes, teeth and so on
  npz:PATH                  mean, shape_basis, triangles [, shape_stddev,
                            albedo_mean, albedo_basis, albedo_stddev]
"""

import glob
import os
from typing import Optional, Sequence, Union

import numpy as np

from dcign_tf import luma
from dcign_tf.graphics import face_model
from dcign_tf.graphics import procedural_head

SPEC_KINDS = ("builtin", "bfm", "obj", "npz")
BFM_KEYS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")
# statismo's layout, as the Basel Face Model 2017 and 2019 files use it.
BFM_HDF5_KEYS = ("shape/model/mean", "shape/model/pcaBasis",
                 "shape/model/pcaVariance", "shape/representer/cells")
BFM_HDF5_COLOR_KEYS = ("color/model/mean", "color/model/pcaBasis",
                       "color/model/pcaVariance")
NPZ_REQUIRED = ("mean", "shape_basis", "triangles")
NPZ_OPTIONAL = ("shape_stddev", "albedo_mean", "albedo_basis", "albedo_stddev")
# The renders are grayscale (BT.601 luma).
_LUMA = np.array(luma.BT601_WEIGHTS)


def _split_spec(spec: str):
  if not isinstance(spec, str) or not spec.strip():
    raise ValueError(f"Face model spec must be a non-empty string, got "
                     f"{spec!r}; allowed: {_SPEC_HELP}.")
  spec = spec.strip()
  if spec == "builtin":
    return "builtin", None, {}
  kind, sep, rest = spec.partition(":")
  if not sep or kind not in SPEC_KINDS or not rest:
    raise ValueError(f"Unknown face model spec {spec!r}; allowed: "
                     f"{_SPEC_HELP}.")
  path, _, query = rest.partition("?")
  options = {}
  for item in filter(None, query.split("&")):
    key, _, value = item.partition("=")
    if kind != "obj" or key != "keep" or not value:
      raise ValueError(f"Unknown option {item!r} in face model spec {spec!r}; "
                       "only obj: specs take an option, keep=N or keep=FILE.")
    options[key] = value
  return kind, path, options


_SPEC_HELP = "'builtin', 'bfm:PATH', 'obj:FOLDER[?keep=N|FILE]', 'npz:PATH'"


def check_spec(spec: str) -> str:
  """Validates a face model spec and that its file exists; returns it."""
  kind, path, _ = _split_spec(spec)
  if kind == "obj" and not os.path.isdir(path):
    raise ValueError(f"Face model folder {path!r} (from {spec!r}) does not "
                     "exist or is not a folder.")
  if kind in ("bfm", "npz") and not os.path.isfile(path):
    raise ValueError(f"Face model file {path!r} (from {spec!r}) does not "
                     "exist.")
  return spec.strip()


def load_face_model(spec: str = "builtin") -> face_model.FaceModel:
  """Loads the face model a spec names (see the module docstring)."""
  check_spec(spec)
  kind, path, options = _split_spec(spec)
  if kind == "builtin":
    return procedural_head.ProceduralHead()
  if kind == "bfm":
    return load_bfm(path)
  if kind == "npz":
    return load_npz(path)
  keep = options.get("keep")
  if keep is not None and not keep.isdigit():
    keep = _read_indices(keep, path)
  elif keep is not None:
    keep = int(keep)
  return load_obj_folder(path, keep_vertices=keep)


def load_bfm(path: str) -> face_model.LinearMorphableModel:
  """Loads a Basel Face Model: the 2009 `.mat` or the 2017/2019 `.h5`.

  Three files are read, told apart by their content, not their name:

  * BFM 2009's `01_MorphableModel.mat` (MATLAB v5/v7): shapes are
    shapeMU + shapePC @ (w * shapeEV), shapeEV holding standard deviations;
    texture 0-255; `tl` holds 1-based triangle indices.
  * the same file re-saved as MATLAB v7.3, which is HDF5 with the same
    variables, each stored transposed (MATLAB writes column-major).
  * BFM 2017 and 2019 (`model2017-1_bfm_nomouth.h5`, `model2019_fullHead.h5`
    and their kin), statismo's HDF5 layout: `shape/model/{mean, pcaBasis,
    pcaVariance}` with an orthonormal basis [3N, K] and variances, so the
    standard deviations are their square roots; `shape/representer/cells`
    holds 0-based triangles [3, F]; the optional `color/model/{mean,
    pcaBasis, pcaVariance}` holds RGB in [0, 1] (0-255 in converted files,
    told from the mean). The expression model is not used: the faces keep
    the neutral expression, as identity is the factor here.

  The RGB texture model becomes a grayscale albedo model (BT.601 luma).
  """
  import h5py  # pylint: disable=g-import-not-at-top
  import scipy.io  # pylint: disable=g-import-not-at-top

  # HDF5 finds its signature after a user block too, as in MATLAB v7.3.
  if h5py.is_hdf5(path):
    return _load_bfm_hdf5(path)

  try:
    data = scipy.io.loadmat(path, variable_names=list(BFM_KEYS))
  except NotImplementedError:
    raise ValueError(f"{path}: a MATLAB v7.3 file without a readable HDF5 "
                     "body; re-save it with MATLAB's -v7 option or convert "
                     "it to the npz: format.") from None
  except Exception as error:  # scipy raises several types for non-.mat files.
    raise ValueError(f"{path} is not a readable MATLAB .mat file or Basel "
                     f"Face Model .h5 file: {error}") from None
  return _bfm2009_model(data, path)


def _load_bfm_hdf5(path: str) -> face_model.LinearMorphableModel:
  import h5py  # pylint: disable=g-import-not-at-top

  try:
    file = h5py.File(path, "r")
  except Exception as error:  # h5py raises OSError and others.
    raise ValueError(f"{path} is not a readable HDF5 file: {error}") from None
  with file:
    if all(key in file for key in BFM_KEYS):
      # MATLAB v7.3: the .mat variables, transposed back to MATLAB's shapes.
      return _bfm2009_model({key: np.asarray(file[key]).T
                             for key in BFM_KEYS}, path)
    missing = [key for key in BFM_HDF5_KEYS if key not in file]
    if missing:
      raise ValueError(
          f"{path} is an HDF5 file but not a Basel Face Model: missing "
          f"{', '.join(missing)}; allowed: a BFM 2017/2019 file with "
          f"{', '.join(BFM_HDF5_KEYS)} (and {', '.join(BFM_HDF5_COLOR_KEYS)}"
          f" for the albedo), or a BFM 2009 .mat saved as v7.3 with "
          f"{', '.join(BFM_KEYS)}.")
    arrays = {key: np.asarray(file[key]) for key in BFM_HDF5_KEYS}
    has_color = all(key in file for key in BFM_HDF5_COLOR_KEYS)
    if has_color:
      arrays.update({key: np.asarray(file[key])
                     for key in BFM_HDF5_COLOR_KEYS})
  mean = np.asarray(arrays["shape/model/mean"], np.float64).reshape(-1)
  if mean.size % 3 or not mean.size:
    raise ValueError(f"{path}: shape/model/mean has {mean.size} values, not "
                     "a positive multiple of 3 (x, y, z per vertex).")
  num_vertices = mean.size // 3
  basis = _matrix(arrays["shape/model/pcaBasis"], 3 * num_vertices,
                  "shape/model/pcaBasis", path)
  stddev = _sqrt_variance(arrays["shape/model/pcaVariance"], basis.shape[1],
                          "shape/model/pcaVariance", path)
  cells = np.asarray(arrays["shape/representer/cells"])
  if cells.ndim == 2 and cells.shape[0] == 3 and cells.shape[1] != 3:
    cells = cells.T  # statismo stores [3, F].
  if cells.ndim != 2 or cells.shape[1] != 3 or not cells.size:
    raise ValueError(f"{path}: shape/representer/cells must have shape "
                     f"[3, F >= 1] (or [F, 3]), got {cells.shape}.")
  if cells.min() < 0 or cells.max() >= num_vertices:
    raise ValueError(f"{path}: shape/representer/cells holds 0-based vertex "
                     f"indices in [0, {num_vertices - 1}], got values in "
                     f"[{cells.min()}, {cells.max()}].")
  albedo = {}
  if has_color:
    color_mean = np.asarray(arrays["color/model/mean"],
                            np.float64).reshape(-1)
    if color_mean.size != 3 * num_vertices:
      raise ValueError(f"{path}: color/model/mean has {color_mean.size} "
                       f"values but the shape has {num_vertices} vertices "
                       f"(expected {3 * num_vertices}: RGB per vertex).")
    color_basis = _matrix(arrays["color/model/pcaBasis"], 3 * num_vertices,
                          "color/model/pcaBasis", path)
    # The Basel files hold colours in [0, 1]; a converted file in 0-255 says
    # so by its mean.
    unit = 255.0 if color_mean.max() > 1.5 else 1.0
    albedo_mean, albedo_basis = _luma_albedo(color_mean, color_basis, unit)
    albedo = dict(
        albedo_mean=albedo_mean, albedo_basis=albedo_basis,
        albedo_stddev=_sqrt_variance(arrays["color/model/pcaVariance"],
                                     color_basis.shape[1],
                                     "color/model/pcaVariance", path))
  return face_model.LinearMorphableModel(
      mean=mean.reshape(num_vertices, 3),
      shape_basis=basis.T.reshape(-1, num_vertices, 3),
      triangles=cells.astype(np.int64), shape_stddev=stddev, name=path,
      **albedo)


def _luma_albedo(rgb_mean, rgb_basis, unit: float) -> tuple:
  """Grayscale albedo mean [N] and modes [K, N] from RGB ones in [0, unit].

  rgb_mean: [3N], rgb_basis: [3N, K], both interleaved r, g, b per vertex.
  """
  num_vertices = rgb_mean.size // 3
  mean = rgb_mean.reshape(num_vertices, 3) @ _LUMA / unit
  basis = np.einsum("vck,c->kv", rgb_basis.reshape(num_vertices, 3, -1),
                    _LUMA) / unit
  return mean, basis


def _sqrt_variance(value, size, name, path) -> np.ndarray:
  variance = _vector(value, size, name, path)
  if np.any(variance < 0):
    raise ValueError(f"{path}: {name} holds variances, which must be >= 0; "
                     f"got a minimum of {variance.min()}.")
  return np.sqrt(variance)


def _bfm2009_model(data, path: str) -> face_model.LinearMorphableModel:
  """The 2009 model from its .mat variables (MATLAB's shapes)."""
  missing = [key for key in BFM_KEYS if key not in data]
  if missing:
    raise ValueError(f"{path} is not a Basel Face Model file: missing "
                     f"{', '.join(missing)}; a BFM file holds "
                     f"{', '.join(BFM_KEYS)}.")
  shape_mu = np.asarray(data["shapeMU"], np.float64).reshape(-1)
  if shape_mu.size % 3:
    raise ValueError(f"{path}: shapeMU has {shape_mu.size} values, not a "
                     "multiple of 3 (x, y, z per vertex).")
  num_vertices = shape_mu.size // 3
  shape_pc = _matrix(data["shapePC"], 3 * num_vertices, "shapePC", path)
  tex_mu = np.asarray(data["texMU"], np.float64).reshape(-1)
  if tex_mu.size != 3 * num_vertices:
    raise ValueError(f"{path}: texMU has {tex_mu.size} values but shapeMU "
                     f"has {num_vertices} vertices (expected "
                     f"{3 * num_vertices}: RGB per vertex).")
  tex_pc = _matrix(data["texPC"], 3 * num_vertices, "texPC", path)
  triangles = np.asarray(data["tl"])
  if triangles.ndim != 2 or triangles.shape[1] != 3 or not triangles.size:
    raise ValueError(f"{path}: tl must have shape [F >= 1, 3], got "
                     f"{triangles.shape}.")
  if triangles.min() < 1 or triangles.max() > num_vertices:
    raise ValueError(f"{path}: tl holds 1-based vertex indices in [1, "
                     f"{num_vertices}], got values in [{triangles.min()}, "
                     f"{triangles.max()}].")
  albedo_mean, albedo_basis = _luma_albedo(tex_mu, tex_pc, 255.0)
  return face_model.LinearMorphableModel(
      mean=shape_mu.reshape(num_vertices, 3),
      shape_basis=shape_pc.T.reshape(-1, num_vertices, 3),
      triangles=triangles.astype(np.int64) - 1,
      shape_stddev=_vector(data["shapeEV"], shape_pc.shape[1], "shapeEV", path),
      albedo_mean=albedo_mean,
      albedo_basis=albedo_basis,
      albedo_stddev=_vector(data["texEV"], tex_pc.shape[1], "texEV", path),
      name=path)


def _matrix(value, rows, name, path) -> np.ndarray:
  value = np.asarray(value, np.float64)
  if value.ndim != 2 or value.shape[0] != rows:
    raise ValueError(f"{path}: {name} must have shape [{rows}, K] to match "
                     f"shapeMU's {rows // 3} vertices, got {value.shape}.")
  return value


def _vector(value, size, name, path) -> np.ndarray:
  value = np.asarray(value, np.float64).reshape(-1)
  if value.size != size:
    raise ValueError(f"{path}: {name} must hold {size} values (one per "
                     f"principal component), got {value.size}.")
  return value


def load_npz(path: str) -> face_model.LinearMorphableModel:
  """Loads a linear model from .npz (keys in the module docstring)."""
  try:
    data = np.load(path, allow_pickle=False)
  except Exception as error:
    raise ValueError(f"{path} is not a readable .npz file: {error}") from None
  if not isinstance(data, np.lib.npyio.NpzFile):
    raise ValueError(f"{path} holds a single array (.npy), not an .npz "
                     f"archive with keys {', '.join(NPZ_REQUIRED)}.")
  with data:
    keys = set(data.files)
    missing = [key for key in NPZ_REQUIRED if key not in keys]
    unknown = sorted(keys - set(NPZ_REQUIRED) - set(NPZ_OPTIONAL))
    if missing or unknown:
      raise ValueError(
          f"{path}: missing keys {missing}, unknown keys {unknown}; allowed: "
          f"{', '.join(NPZ_REQUIRED)} (required) and "
          f"{', '.join(NPZ_OPTIONAL)} (optional).")
    arrays = {key: data[key] for key in keys}
  return face_model.LinearMorphableModel(name=path, **arrays)


def read_obj(path: str) -> tuple:
  """Reads vertices [V, 3] and triangles [F, 3] (polygons fanned) from OBJ."""
  vertices, faces = [], []
  with open(path, encoding="utf-8", errors="replace") as stream:
    for number, line in enumerate(stream, 1):
      if line.startswith("v "):
        vertices.append(line[2:].split()[:3])
      elif line.startswith("f "):
        corners = []
        for token in line[2:].split():
          index = int(token.split("/")[0])
          # Negative indices count back from the latest vertex (OBJ spec).
          corners.append(index - 1 if index > 0 else len(vertices) + index)
        if len(corners) < 3:
          raise ValueError(f"{path}:{number}: a face needs >= 3 vertices, "
                           f"got {len(corners)}.")
        faces.extend([corners[0], corners[i], corners[i + 1]]
                     for i in range(1, len(corners) - 1))
  if not vertices:
    raise ValueError(f"{path} holds no vertices ('v x y z' lines).")
  try:
    vertices = np.asarray(vertices, np.float64)
  except ValueError:
    raise ValueError(f"{path}: a 'v' line does not hold 3 numbers.") from None
  return vertices, np.asarray(faces, np.int64).reshape(-1, 3)


def _read_indices(name: str, folder: str) -> np.ndarray:
  """Reads keep=FILE: a path as given, else relative to the OBJ folder."""
  path = name if os.path.isfile(name) else os.path.join(folder, name)
  if not os.path.isfile(path):
    raise ValueError(f"Vertex subset file {name!r} does not exist (looked "
                     f"for it as given and in {folder!r}); keep= takes a "
                     "vertex count or a file of vertex indices.")
  return np.loadtxt(path, dtype=np.int64).reshape(-1)


def load_obj_folder(folder: str,
                    keep_vertices: Optional[Union[int, Sequence[int]]] = None
                    ) -> face_model.LinearMorphableModel:
  """Loads a neutral OBJ mesh plus identity meshes as a linear model.

  The folder holds exactly one `*neutral*.obj` and identity meshes
  `identity*.obj` with the same vertex count; mode k = identity_k - neutral,
  with weights ~ N(0, 1) (ICT-FaceKit's FaceXModel layout).

  Args:
    folder: the folder.
    keep_vertices: keep only the first N vertices, or these vertex indices
      (triangles touching a dropped vertex are dropped).
  """
  neutral_paths = sorted(glob.glob(os.path.join(folder, "*neutral*.obj")))
  identity_paths = sorted(glob.glob(os.path.join(folder, "identity*.obj")))
  if len(neutral_paths) != 1 or not identity_paths:
    raise ValueError(
        f"{folder} must hold exactly one '*neutral*.obj' mesh and at least "
        f"one 'identity*.obj' mesh; found {len(neutral_paths)} neutral and "
        f"{len(identity_paths)} identity meshes.")
  neutral, triangles = read_obj(neutral_paths[0])
  modes = []
  for path in identity_paths:
    vertices, _ = read_obj(path)
    if vertices.shape != neutral.shape:
      raise ValueError(f"{path} has {vertices.shape[0]} vertices but the "
                       f"neutral mesh {neutral_paths[0]} has "
                       f"{neutral.shape[0]}; identity meshes must share its "
                       "topology.")
    modes.append(vertices - neutral)
  modes = np.stack(modes)
  if keep_vertices is not None:
    neutral, modes, triangles = _keep(neutral, modes, triangles, keep_vertices,
                                      folder)
  return face_model.LinearMorphableModel(neutral, modes, triangles,
                                         name=folder)


def _keep(neutral, modes, triangles, keep, folder):
  num_vertices = neutral.shape[0]
  if np.isscalar(keep):
    if not 3 <= int(keep) <= num_vertices:
      raise ValueError(f"{folder}: keep={keep} must lie in [3, {num_vertices}]"
                       " (the neutral mesh's vertex count).")
    keep = np.arange(int(keep))
  keep = np.unique(np.asarray(keep, np.int64))
  if keep.size < 3:
    raise ValueError(f"{folder}: keep at least 3 vertices, got {keep.size}.")
  if keep.min() < 0 or keep.max() >= num_vertices:
    raise ValueError(f"{folder}: the kept vertex indices must lie in [0, "
                     f"{num_vertices - 1}]; got indices in [{keep.min()}, "
                     f"{keep.max()}].")
  new_index = np.full(num_vertices, -1, np.int64)
  new_index[keep] = np.arange(keep.size)
  remapped = new_index[triangles]
  remapped = remapped[np.all(remapped >= 0, axis=1)]
  if remapped.size == 0:
    raise ValueError(f"{folder}: no triangle survives the vertex subset.")
  return neutral[keep], modes[:, keep], remapped
