"""`dcign_objects`: renders of a folder of OBJ meshes, labelled for free.

The paper's second experiment (Kulkarni et al., 2015) trains on chairs
rendered from many azimuths and two elevations. `chairs_dataset` reads the
renders Aubry et al. made; this builder makes such renders itself from any
meshes a user owns (chairs, cars, statues, ShapeNet-style folders), so the
true azimuth, elevation and light of every image are known exactly.

Input: the manual dir holds `.obj` files, searched recursively. An object's
name is its file's path relative to the manual dir, without the extension,
with "/" between folders (ShapeNet's `<synset>/<id>/models/
model_normalized.obj` is named `<synset>/<id>/models/model_normalized`).
Hidden files and folders (names starting with ".") are skipped.

Rendering: `graphics.renderer`, the pure-NumPy renderer of the faces, with
its orthographic camera and light. Materials are ignored (`mtllib`,
`usemtl`, `.mtl` files and textures): every surface is the same uniform grey
and purely Lambertian, on a black background. Polygons are fan-triangulated
by `model_files.read_obj`. Faces are shaded flat (each triangle its own
normal), since CAD meshes have sharp edges and often inconsistent winding,
which averaged vertex normals would smear or cancel; both sides of every
triangle are drawn, since such meshes are rarely closed.

Normalisation: each mesh (its vertices used by some face) is centred on its
bounding-box centre and scaled so that its bounding sphere about that
centre has radius `FIT_RADIUS`, half the height a face is scaled to
(`face_model.NORMALISED_HEIGHT`). The sphere, not the largest extent, is
fitted so that the whole object stays inside the camera's window at every
azimuth and elevation, and its size in the image does not depend on the
pose. Meshes given with z up (`up_axis="z"`, common in CAD exports) are
first turned so that z becomes y, the renderer's up.

Each example is one render with its labels; splits hold different objects
(by the md5 of the name, as in `chairs_dataset`), so test measures how a
model does on objects it has never seen.

Why errors are checked where they are: a missing or empty manual dir is
reported by `download_and_prepare` before TFDS creates anything under
`data_dir`. Meshes are parsed once, while their renders are generated, since
a ShapeNet category is thousands of large files; a bad mesh raises there,
naming the file, inside TFDS's temporary folder, which TFDS deletes, so
nothing half-built can ever be read.
"""

import dataclasses
import hashlib
import json
import math
import os
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple
from typing import Union

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from dcign_tf.data import manual_builder
from dcign_tf.data import object_meshes

SPLITS = ("train", "test")
OBJ_EXTENSION = ".obj"
UP_AXES = object_meshes.UP_AXES
DEFAULT_IMAGE_SIZE = 64
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
DEFAULT_AZIMUTHS = 24
MAX_AZIMUTHS = 360
DEFAULT_ELEVATIONS = (0.0, 20.0)
DEFAULT_LIGHTS = (0.0,)
DEFAULT_TEST_FRACTION = 0.1
DEFAULT_UP_AXIS = object_meshes.DEFAULT_UP_AXIS

MANUAL_INSTRUCTIONS = """\
Put the meshes to render as `.obj` files in the manual dir, at any depth
(e.g. a ShapeNet category folder, `<id>/models/model_normalized.obj`). Each
file is one object, named by its path relative to the manual dir without
`.obj`. Materials and textures are ignored. The manual dir is the
`manual_dir` given to `objects_dataset.builder`, else
`download_config.manual_dir`, else `<data_dir>/downloads/manual`.
"""


@dataclasses.dataclass(eq=False)
class ObjectsConfig(tfds.core.BuilderConfig):
  """What to render. Build one with `make_config`, which validates it and
  names it uniquely.

  Attributes:
    image_size: side S of the stored S x S images.
    azimuths: how many azimuths, evenly spaced over [0, 360) from 0.
    elevations: camera elevations in degrees, ascending.
    lights: light azimuths in degrees, ascending.
    test_fraction: expected fraction of objects in the test split.
    up_axis: the meshes' up axis, "y" or "z".
  """

  image_size: int = DEFAULT_IMAGE_SIZE
  azimuths: int = DEFAULT_AZIMUTHS
  elevations: Tuple[float, ...] = DEFAULT_ELEVATIONS
  lights: Tuple[float, ...] = DEFAULT_LIGHTS
  test_fraction: float = DEFAULT_TEST_FRACTION
  up_axis: str = DEFAULT_UP_AXIS

  @property
  def azimuth_degrees(self) -> Tuple[float, ...]:
    """The azimuth grid: 360 * k / azimuths for k = 0 .. azimuths - 1."""
    return tuple(360.0 * k / self.azimuths for k in range(self.azimuths))


def _is_integer(value: Any) -> bool:
  return isinstance(value, (int, np.integer)) and not isinstance(
      value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
  return (_is_integer(value) or isinstance(value, (float, np.floating))) and (
      math.isfinite(float(value)))


def _check_degrees(name: str, values: Any, low: float,
                   high: float) -> Tuple[float, ...]:
  """`values` as a sorted tuple of distinct floats in [low, high]."""
  allowed = (f"a non-empty sequence of distinct numbers in [{low:g}, "
             f"{high:g}] degrees")
  if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
    raise ValueError(f"{name} must be {allowed}, got {values!r}.")
  if not values or not all(_is_number(v) for v in values):
    raise ValueError(f"{name} must be {allowed}, got {values!r}.")
  degrees = tuple(float(v) for v in values)
  if len(set(degrees)) != len(degrees) or not all(
      low <= v <= high for v in degrees):
    raise ValueError(f"{name} must be {allowed}, got {values!r}.")
  return tuple(sorted(degrees))


def make_config(image_size: int = DEFAULT_IMAGE_SIZE,
                azimuths: int = DEFAULT_AZIMUTHS,
                elevations: Sequence[float] = DEFAULT_ELEVATIONS,
                lights: Sequence[float] = DEFAULT_LIGHTS,
                test_fraction: float = DEFAULT_TEST_FRACTION,
                up_axis: str = DEFAULT_UP_AXIS) -> ObjectsConfig:
  """A validated config whose name encodes everything that decides the data.

  TFDS finds prepared data by config name, so two configs that would store
  different records never share one: the defaults at S px are named
  "{S}px", anything else "{S}px_" plus a hash of its settings. Elevations
  and lights are sorted, so their class 0 is the lowest.

  Args:
    image_size: side of the stored square images, 32 to 256.
    azimuths: number of azimuths evenly spaced over [0, 360), 1 to 360.
    elevations: camera elevations in degrees, each in [-90, 90].
    lights: light azimuths in degrees (0 lights from the camera, positive
      from the image's right), each in [-180, 180].
    test_fraction: expected fraction of objects in test, in (0, 1).
    up_axis: "y" (most OBJ files) or "z" (many CAD exports).

  Raises:
    ValueError: naming the first value out of range and what is allowed.
  """
  if not _is_integer(image_size) or not (
      MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE):
    raise ValueError(f"image_size must be an integer in [{MIN_IMAGE_SIZE}, "
                     f"{MAX_IMAGE_SIZE}], got {image_size!r}.")
  if not _is_integer(azimuths) or not 1 <= azimuths <= MAX_AZIMUTHS:
    raise ValueError(f"azimuths (how many, evenly spaced over [0, 360)) must "
                     f"be an integer in [1, {MAX_AZIMUTHS}], got "
                     f"{azimuths!r}.")
  elevations = _check_degrees("elevations", elevations, -90.0, 90.0)
  lights = _check_degrees("lights", lights, -180.0, 180.0)
  if not _is_number(test_fraction) or not 0.0 < test_fraction < 1.0:
    raise ValueError(f"test_fraction must be a number in (0, 1), got "
                     f"{test_fraction!r}.")
  if up_axis not in UP_AXES:
    raise ValueError(f"up_axis must be one of {UP_AXES}, got {up_axis!r}.")
  settings = dict(image_size=int(image_size), azimuths=int(azimuths),
                  elevations=elevations, lights=lights,
                  test_fraction=float(test_fraction), up_axis=up_axis)
  defaults = dict(azimuths=DEFAULT_AZIMUTHS, elevations=DEFAULT_ELEVATIONS,
                  lights=DEFAULT_LIGHTS, test_fraction=DEFAULT_TEST_FRACTION,
                  up_axis=DEFAULT_UP_AXIS)
  name = f"{settings['image_size']}px"
  if any(settings[key] != value for key, value in defaults.items()):
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    name += "_" + digest.hexdigest()[:10]
  return ObjectsConfig(name=name,
                       description=json.dumps(settings, sort_keys=True),
                       **settings)


@dataclasses.dataclass(frozen=True)
class ObjectFile:
  """One mesh of the manual dir.

  Attributes:
    name: its path relative to the manual dir without ".obj", "/"-separated.
    path: its full path.
  """

  name: str
  path: str


def check_manual_dir(manual_dir: Union[str, os.PathLike]
                    ) -> Tuple[ObjectFile, ...]:
  """Every `.obj` file under `manual_dir`, sorted by object name.

  Only names are looked at, so this is cheap enough to run before any work.

  Raises:
    ValueError: naming `manual_dir` when it is missing or holds no `.obj`
      file (hidden ones aside), or naming two files that would give the
      same object name (e.g. `a.obj` and `a.OBJ`).
  """
  manual_dir = os.path.expanduser(os.fspath(manual_dir))
  if not os.path.isdir(manual_dir):
    raise ValueError(f"The manual dir {manual_dir!r} does not exist or is "
                     f"not a folder; expected a folder of .obj meshes.\n"
                     f"{MANUAL_INSTRUCTIONS}")
  by_name: Dict[str, ObjectFile] = {}
  for root, folders, files in os.walk(manual_dir):
    # Sorted in place so the walk, and any error below, is deterministic;
    # hidden folders (.git, macOS metadata) hold no objects.
    folders[:] = sorted(f for f in folders if not f.startswith("."))
    for file_name in sorted(files):
      stem, extension = os.path.splitext(file_name)
      if file_name.startswith(".") or extension.lower() != OBJ_EXTENSION:
        continue
      path = os.path.join(root, file_name)
      relative = os.path.relpath(os.path.join(root, stem), manual_dir)
      name = relative.replace(os.sep, "/")
      if name in by_name:
        raise ValueError(f"{by_name[name].path!r} and {path!r} would both be "
                         f"the object {name!r}; allowed: one .obj file per "
                         "name.")
      by_name[name] = ObjectFile(name=name, path=path)
  if not by_name:
    raise ValueError(f"The manual dir {manual_dir!r} holds no .obj file; put "
                     f"the meshes to render there.\n{MANUAL_INSTRUCTIONS}")
  return tuple(by_name[name] for name in sorted(by_name))


def split_objects(object_names: Sequence[str],
                  test_fraction: float = DEFAULT_TEST_FRACTION
                 ) -> Dict[str, Tuple[str, ...]]:
  """Object names per split: {"train": sorted names, "test": sorted names}.

  An object is in test when int(md5(name as UTF-8), 16) % 1000 <
  test_fraction * 1000, so its split depends on its name alone, not on
  which other objects are there: the same on every machine and for every
  subset of the folder. With two or more objects neither split is empty:
  the object with the smallest (bucket, name) moves to an empty test split,
  the one with the largest to an empty train split. A single object is all
  train (and the dataset then has no test split).

  Raises:
    ValueError: for no objects or a bad test_fraction.
  """
  if not _is_number(test_fraction) or not 0.0 < test_fraction < 1.0:
    raise ValueError(f"test_fraction must be a number in (0, 1), got "
                     f"{test_fraction!r}.")
  names = sorted(set(object_names))
  if not names:
    raise ValueError("No objects to split; allowed: at least one name.")
  if len(names) == 1:
    return {"train": tuple(names), "test": ()}
  return manual_builder.split_by_name(names, test_fraction)


class DcignObjects(manual_builder.ManualDirBuilder):
  """Renders of a folder of OBJ meshes, one example per view."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Flat-shaded grey renders on black, split by "
                            "object."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_INSTRUCTIONS
  BUILDER_CONFIGS = [make_config(64), make_config(128)]
  DEFAULT_BUILDER_CONFIG_NAME = "64px"

  def check_raw(self, manual_dir: str) -> Tuple[ObjectFile, ...]:
    return check_manual_dir(manual_dir)

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size

    def degrees(doc: str) -> tfds.features.Scalar:
      return tfds.features.Scalar(np.float32, doc=doc)

    def index(doc: str) -> tfds.features.Scalar:
      return tfds.features.Scalar(np.int64, doc=doc)

    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(
                shape=(size, size, 1), dtype=np.uint8, encoding_format="png",
                doc="Grey Lambertian render on black."),
            "object": index("Index of the object among all objects, sorted "
                            "by name (same in train and test)."),
            "object_name": tfds.features.Text(
                doc="Path of the .obj relative to the manual dir, without "
                "the extension."),
            "azimuth": degrees("Azimuth in degrees, 360 * k / azimuths."),
            "elevation": degrees("Camera elevation in degrees."),
            "light": degrees("Light azimuth in degrees."),
            "azimuth_class": index("k, the azimuth's index in the grid."),
            "elevation_class": index("Index among the config's elevations, "
                                     "ascending."),
            "light_class": index("Index among the config's lights, "
                                 "ascending."),
        }),
        supervised_keys=None,
    )

  def _split_generators(self, dl_manager):
    # Listed again: TFDS may get here without our download_and_prepare, and
    # the folder may have changed meanwhile.
    files = check_manual_dir(self.raw_dir(dl_manager))
    labels = {file.name: label for label, file in enumerate(files)}
    splits = split_objects(list(labels), self.builder_config.test_fraction)
    generators = {}
    for split in SPLITS:
      logging.info("%s: %d objects.", split, len(splits[split]))
      chosen = [file for file in files if file.name in set(splits[split])]
      if chosen:  # TFDS cannot write an empty split.
        generators[split] = self._generate_examples(chosen, labels)
    return generators

  def _generate_examples(self, files: Sequence[ObjectFile],
                         labels: Mapping[str, int]
                        ) -> Iterator[Tuple[str, dict]]:
    """(key, example) for every view of every object in `files`."""
    config = self.builder_config
    for file in files:
      mesh = object_meshes.load_mesh(file.path, config.up_axis)
      for a, azimuth in enumerate(config.azimuth_degrees):
        for e, elevation in enumerate(config.elevations):
          for l, light in enumerate(config.lights):
            yield f"{file.name}/{a}_{e}_{l}", {
                "image": object_meshes.render_view(mesh, azimuth, elevation, light,
                                     config.image_size),
                "object": labels[file.name],
                "object_name": file.name,
                "azimuth": np.float32(azimuth),
                "elevation": np.float32(elevation),
                "light": np.float32(light),
                "azimuth_class": a,
                "elevation_class": e,
                "light_class": l,
            }


def builder(config: Union[ObjectsConfig, Mapping[str, Any], None] = None,
            data_dir: Optional[str] = None,
            manual_dir: Optional[Union[str, os.PathLike]] = None
           ) -> DcignObjects:
  """The builder of `config` (prepare it with `download_and_prepare`).

  Args:
    config: a `make_config` result, or its keyword arguments as a mapping;
      None for the defaults at 64 px.
    data_dir: where TFDS stores prepared data (TFDS's default if None).
    manual_dir: the folder of .obj meshes; if None,
      `<data_dir>/downloads/manual` (see MANUAL_INSTRUCTIONS).

  The meshes are not looked for here, since a builder also serves to read
  data prepared earlier; `download_and_prepare` checks them first.

  Raises:
    ValueError: for bad settings, or a config whose name does not encode
      its settings (it could then collide with other prepared data).
  """
  config = manual_builder.resolve_config(
      config, make_config, ObjectsConfig,
      lambda config: (config.image_size, config.azimuths, config.elevations,
                      config.lights, config.test_fraction, config.up_axis),
      DcignObjects)
  return DcignObjects(config=config, data_dir=data_dir, manual_dir=manual_dir)
