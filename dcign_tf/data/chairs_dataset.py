"""`chairs`: the rendered 3D chairs of Aubry et al. (CVPR 2014) for DC-IGN.

The second dataset of the DC-IGN paper (Kulkarni et al., 2015) is not
rendered by us but read from `rendered_chairs.tar`, which its authors
distribute only from their page, so TFDS cannot download it: the user
places the tar, or its extracted `rendered_chairs/` folder, in the manual
dir (see `MANUAL_INSTRUCTIONS`). Whichever is there is read in place; the
tar is streamed member by member and never extracted to disk.

Each example is one render with its labels, not a group: groups of the
paper's kind (azimuth varies, or everything but azimuth varies) are
selected afterwards from the labels, e.g. by `labelled.LabelledGroups`
with the factors `azimuth_class`, `elevation_class` and `chair`.

Images follow the paper, which converted the renders to grayscale,
centre-cropped them and resized them to 150x150: transparent pixels are
composited onto white, the image is converted to ITU-R BT.601 luma, its
central square of side `crop_fraction` x min(height, width) is kept, and
that square is resized to `image_size` (see `render_to_array`).

Train and test hold different chairs, so the test split measures how the
model does on chairs it has never seen (see `split_chairs`).

Why errors are checked early: a full build decodes about 86,000 PNGs, so a
missing source is reported by `download_and_prepare` before TFDS creates
anything under `data_dir`, and a bad render fails the build inside TFDS's
temporary folder, which TFDS deletes, so nothing half-built can be read.
"""

import dataclasses
import hashlib
import io
import json
import math
import os
import re
import tarfile
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple
from typing import Union

from absl import logging
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from dcign_tf.data import manual_builder

RAW_FOLDER = "rendered_chairs"
RAW_TAR = "rendered_chairs.tar"
RENDERS_FOLDER = "renders"
HOMEPAGE = "https://www.di.ens.fr/willow/research/seeing3Dchairs/"
SPLITS = ("train", "test")
# Aubry et al. render every chair from 31 azimuths, evenly spaced.
NUM_AZIMUTHS = 31
DEFAULT_IMAGE_SIZE = 150
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
# The chairs fill roughly the central 400 px of the 600 px renders; the
# central 450 px keep every chair whole with a small white margin.
DEFAULT_CROP_FRACTION = 0.75
# About 150 of the 1,393 chairs for testing, as in the paper.
DEFAULT_TEST_FRACTION = 150 / 1393

# e.g. image_000_p020_t000_r096.png: render number, pitch (elevation),
# theta (azimuth) and render distance.
_RENDER_NAME = re.compile(
    r"image_(?P<number>\d+)_p(?P<elevation>-?\d+)_t(?P<azimuth>-?\d+)"
    r"_r(?P<distance>\d+)\.png", re.IGNORECASE)
# Pillow modes of 8-bit PNGs that convert to 8-bit luma without rescaling.
_EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA")

MANUAL_INSTRUCTIONS = f"""\
Download `{RAW_TAR}` from {HOMEPAGE} (Aubry et al., "Seeing 3D chairs",
CVPR 2014) and place it in the manual dir, either as it is
(`<manual_dir>/{RAW_TAR}`, which is read without extracting it) or
extracted (`<manual_dir>/{RAW_FOLDER}/<chair>/{RENDERS_FOLDER}/*.png`); the
folder is used when both are there. The manual dir is the `manual_dir`
given to `chairs_dataset.builder`, else `download_config.manual_dir`, else
`<data_dir>/downloads/manual` (by default
`~/tensorflow_datasets/downloads/manual`).
"""


@dataclasses.dataclass(eq=False)
class ChairsConfig(tfds.core.BuilderConfig):
  """How to process the renders. Build one with `make_config`, which
  validates it and names it uniquely."""

  image_size: int = DEFAULT_IMAGE_SIZE
  crop_fraction: float = DEFAULT_CROP_FRACTION
  test_fraction: float = DEFAULT_TEST_FRACTION


def _check_fraction(name: str, value: Any, allow_one: bool) -> float:
  """`value` as a float in (0, 1] or (0, 1), or a ValueError naming it."""
  allowed = "(0, 1]" if allow_one else "(0, 1)"
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, float, np.integer, np.floating)):
    raise ValueError(f"{name} must be a number in {allowed}, got {value!r}.")
  number = float(value)
  inside = 0.0 < number < 1.0 or (allow_one and number == 1.0)
  if not inside:  # Also rejects NaN, which fails every comparison.
    raise ValueError(f"{name} must be a number in {allowed}, got {value!r}.")
  return number


def _check_image_size(value: Any) -> int:
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, np.integer)) or not (
          MIN_IMAGE_SIZE <= value <= MAX_IMAGE_SIZE):
    raise ValueError(f"image_size must be an integer in [{MIN_IMAGE_SIZE}, "
                     f"{MAX_IMAGE_SIZE}], got {value!r}.")
  return int(value)


def make_config(image_size: int = DEFAULT_IMAGE_SIZE,
                crop_fraction: float = DEFAULT_CROP_FRACTION,
                test_fraction: float = DEFAULT_TEST_FRACTION
               ) -> ChairsConfig:
  """A validated config whose name encodes everything that decides the data.

  TFDS finds prepared data by config name, so two configs that would store
  different records must never share one: the default crop and split at S
  px is named "{S}px", anything else "{S}px_" plus a hash of its settings.

  Args:
    image_size: side of the stored square images, 32 to 256.
    crop_fraction: side of the central square kept, as a fraction of the
      render's shorter side, in (0, 1].
    test_fraction: expected fraction of chairs in the test split, in (0, 1).

  Raises:
    ValueError: naming the first value out of range.
  """
  image_size = _check_image_size(image_size)
  crop_fraction = _check_fraction("crop_fraction", crop_fraction, True)
  test_fraction = _check_fraction("test_fraction", test_fraction, False)
  settings = dict(image_size=image_size, crop_fraction=crop_fraction,
                  test_fraction=test_fraction)
  name = f"{image_size}px"
  if (crop_fraction, test_fraction) != (DEFAULT_CROP_FRACTION,
                                        DEFAULT_TEST_FRACTION):
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    name += "_" + digest.hexdigest()[:10]
  return ChairsConfig(name=name, description=json.dumps(settings,
                                                        sort_keys=True),
                      **settings)


@dataclasses.dataclass(frozen=True)
class RawSource:
  """Where the renders are read from.

  Attributes:
    path: the `rendered_chairs/` folder or the `rendered_chairs.tar` file.
    is_tar: whether `path` is the tar.
  """

  path: str
  is_tar: bool


def check_manual_dir(manual_dir: Union[str, os.PathLike]) -> RawSource:
  """Finds the raw data in `manual_dir`, preferring the extracted folder.

  Only names are looked at (and the tar's first header), so this is cheap
  enough to run before any work.

  Raises:
    ValueError: naming `manual_dir` and the names it should hold, when it
      holds neither `rendered_chairs/` nor a readable `rendered_chairs.tar`.
  """
  manual_dir = os.path.expanduser(os.fspath(manual_dir))
  folder = os.path.join(manual_dir, RAW_FOLDER)
  tar = os.path.join(manual_dir, RAW_TAR)
  expected = (f"expected {RAW_TAR!r} (from {HOMEPAGE}) or its extracted "
              f"{RAW_FOLDER + '/'!r} folder in it")
  if not os.path.isdir(manual_dir):
    raise ValueError(f"The manual dir {manual_dir!r} does not exist; "
                     f"{expected}.\n{MANUAL_INSTRUCTIONS}")
  if os.path.isdir(folder):
    return RawSource(path=folder, is_tar=False)
  if os.path.isfile(tar):
    if not tarfile.is_tarfile(tar):
      raise ValueError(f"{tar!r} is not a tar archive; allowed: the "
                       f"{RAW_TAR!r} of {HOMEPAGE}, as downloaded.")
    return RawSource(path=tar, is_tar=True)
  # Naming what is there helps spot a misnamed or half-extracted download.
  present = sorted(os.listdir(manual_dir))
  holds = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
  raise ValueError(f"The manual dir {manual_dir!r} holds neither {RAW_TAR!r} "
                   f"nor {RAW_FOLDER + '/'!r} (it holds: {holds or 'nothing'})"
                   f"; {expected}.\n{MANUAL_INSTRUCTIONS}")


@dataclasses.dataclass(frozen=True)
class Render:
  """One render's file and the labels its name gives.

  Attributes:
    filename: its path relative to the manual dir, which is also its member
      name in the tar, e.g. "rendered_chairs/<chair>/renders/image_...png".
    chair_name: the name of its chair folder (a model hash).
    number: the render's number within its chair.
    elevation: camera pitch in degrees.
    azimuth: camera azimuth (theta) in degrees.
    distance: render distance (unused, but parsed to check the name).
  """

  filename: str
  chair_name: str
  number: int
  elevation: int
  azimuth: int
  distance: int


def parse_render(chair_name: str, file_name: str) -> Optional[Render]:
  """The render of `file_name` in the chair's `renders/` folder, or None.

  None is returned for files that are not renders: hidden files (such as
  `.DS_Store` and the `._*` companions macOS puts into archives) and files
  that are not PNGs.

  Raises:
    ValueError: for a PNG whose name does not follow the render pattern,
      since silently dropping it could hide a changed naming scheme.
  """
  if file_name.startswith(".") or not file_name.lower().endswith(".png"):
    return None
  filename = f"{RAW_FOLDER}/{chair_name}/{RENDERS_FOLDER}/{file_name}"
  match = _RENDER_NAME.fullmatch(file_name)
  if match is None:
    raise ValueError(f"{filename!r} is a PNG whose name does not follow the "
                     "render pattern; allowed: image_<number>_p<elevation>_t"
                     "<azimuth>_r<distance>.png, e.g. "
                     "image_000_p020_t000_r096.png.")
  return Render(filename=filename, chair_name=chair_name,
                number=int(match["number"]),
                elevation=int(match["elevation"]),
                azimuth=int(match["azimuth"]),
                distance=int(match["distance"]))


def azimuth_class(azimuth: float) -> int:
  """The index 0..30 of the nearest of the 31 evenly spaced azimuths.

  The renders' names give azimuths as whole degrees (0, 11, 23, ..., 348),
  the 31 steps of 360/31 degrees truncated, so rounding to the nearest step
  recovers the step exactly; 360 wraps to 0. Computed from the degrees
  alone, it is the same class in every chair and split.
  """
  step = 360.0 / NUM_AZIMUTHS
  return int(math.floor(azimuth / step + 0.5)) % NUM_AZIMUTHS


def split_chairs(chair_names: Sequence[str],
                 test_fraction: float = DEFAULT_TEST_FRACTION
                ) -> Dict[str, Tuple[str, ...]]:
  """Chair names per split: {"train": sorted names, "test": sorted names}.

  A chair is in test when int(md5(name as UTF-8), 16) % 1000 <
  test_fraction * 1000. Why a hash: the split of a chair depends on its
  name alone, not on which other chairs are present or in what order, so
  it is the same on every machine and for every subset of the data.

  Tiny datasets can leave a split empty, which TFDS cannot write; then, with
  two or more chairs, the chair with the smallest (bucket, name) moves to
  an empty test split, or the one with the largest to an empty train split.

  Raises:
    ValueError: for fewer than two chairs, which cannot give two splits,
      or a bad test_fraction.
  """
  test_fraction = _check_fraction("test_fraction", test_fraction, False)
  names = sorted(set(chair_names))
  if len(names) < 2:
    raise ValueError(f"Only {len(names)} chair(s) with renders were found "
                     f"({', '.join(names) or 'none'}); allowed: at least 2, "
                     "so that train and test hold different chairs.")
  return manual_builder.split_by_name(names, test_fraction)


def render_to_array(data: bytes, filename: str, image_size: int,
                    crop_fraction: float = DEFAULT_CROP_FRACTION
                   ) -> np.ndarray:
  """A render's PNG bytes -> uint8 [image_size, image_size, 1].

  Transparent pixels are composited onto white, the renders' background;
  the result is converted to BT.601 luma (Pillow's "L"); the central square
  of side round(crop_fraction * min(height, width)) is kept, so renders of
  any size are cropped alike; and the square is resized to image_size with
  an area (box) filter when it shrinks, which averages without ringing, or
  with Lanczos when it grows (a render smaller than image_size after the
  crop is upsampled rather than rejected).

  Raises:
    ValueError: naming `filename` when the bytes are not a decodable 8-bit
      PNG.
  """
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except (OSError, SyntaxError, ValueError,
          Image.DecompressionBombError) as error:
    raise ValueError(f"{filename!r} does not decode as a PNG ({error}); "
                     "allowed: an 8-bit PNG render.") from error
  if image.format != "PNG":
    raise ValueError(f"{filename!r} is a {image.format} image, not a PNG; "
                     "allowed: an 8-bit PNG render.")
  if image.mode not in _EIGHT_BIT_MODES:
    raise ValueError(f"{filename!r} has Pillow mode {image.mode!r}; allowed: "
                     f"8-bit PNGs ({', '.join(_EIGHT_BIT_MODES)}).")
  if image.mode in ("LA", "PA", "RGBA") or "transparency" in image.info:
    foreground = image.convert("RGBA")
    white = Image.new("RGBA", foreground.size, (255, 255, 255, 255))
    image = Image.alpha_composite(white, foreground)
  gray = image.convert("L")
  width, height = gray.size
  side = max(1, int(round(crop_fraction * min(width, height))))
  left, top = (width - side) // 2, (height - side) // 2
  box = (left, top, left + side, top + side)
  if side == image_size:
    square = gray.crop(box)
  else:
    resample = (Image.Resampling.BOX if side > image_size
                else Image.Resampling.LANCZOS)
    square = gray.resize((image_size, image_size), resample, box=box)
  return np.asarray(square, dtype=np.uint8)[:, :, np.newaxis]


@dataclasses.dataclass(frozen=True)
class _Index:
  """Every render of the source and the labels that span the dataset.

  Attributes:
    renders: by filename, in sorted order.
    chair_labels: name -> `chair` label of each chair with renders: its
      position in sorted name order.
    elevation_labels: elevation in degrees -> `elevation_class`: its
      position among the distinct elevations, ascending.
    tar_offsets: for a tar, each render's header offset, so that a name
      stored twice is read once (the later copy, as extraction would keep).
  """

  renders: Dict[str, Render]
  chair_labels: Dict[str, int]
  elevation_labels: Dict[int, int]
  tar_offsets: Dict[str, int]


def _tar_parts(member_name: str) -> Tuple[str, ...]:
  """A tar member's path components, without "./" and empty parts."""
  return tuple(part for part in member_name.split("/")
               if part not in ("", "."))


def _index_folder(root: str) -> Tuple[Dict[str, Render], set]:
  renders, chairs_seen = {}, set()
  for chair_name in sorted(os.listdir(root)):
    # Files beside the chair folders (e.g. all_chair_names.mat) are not
    # chairs.
    if chair_name.startswith(".") or not os.path.isdir(
        os.path.join(root, chair_name)):
      continue
    chairs_seen.add(chair_name)
    renders_dir = os.path.join(root, chair_name, RENDERS_FOLDER)
    if not os.path.isdir(renders_dir):
      continue
    for file_name in sorted(os.listdir(renders_dir)):
      if not os.path.isfile(os.path.join(renders_dir, file_name)):
        continue
      render = parse_render(chair_name, file_name)
      if render is not None:
        renders[render.filename] = render
  return renders, chairs_seen


def _index_tar(path: str) -> Tuple[Dict[str, Render], set, Dict[str, int]]:
  renders, chairs_seen, offsets = {}, set(), {}
  # Iterating an uncompressed tar reads only the headers and seeks past
  # the data, so indexing costs little next to decoding.
  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      parts = _tar_parts(member.name)
      if len(parts) < 2 or parts[0] != RAW_FOLDER or parts[1].startswith("."):
        continue
      if len(parts) == 2 and not member.isdir():
        continue  # A file beside the chair folders, not a chair.
      chairs_seen.add(parts[1])
      if len(parts) != 4 or parts[2] != RENDERS_FOLDER or not member.isfile():
        continue
      render = parse_render(parts[1], parts[3])
      if render is not None:
        renders[render.filename] = render
        offsets[render.filename] = member.offset
  return renders, chairs_seen, offsets


def _index(source: RawSource) -> _Index:
  """Lists the renders of `source` and derives the dataset-wide labels."""
  if source.is_tar:
    renders, chairs_seen, offsets = _index_tar(source.path)
  else:
    (renders, chairs_seen), offsets = _index_folder(source.path), {}
  chairs = tuple(sorted({render.chair_name for render in renders.values()}))
  empty = len(chairs_seen) - len(chairs)
  if empty:
    logging.warning("Skipped %d of %d chair folders in %s with no renders.",
                    empty, len(chairs_seen), source.path)
  if not renders:
    raise ValueError(f"No renders were found in {source.path!r}; allowed: "
                     f"{RAW_FOLDER}/<chair>/{RENDERS_FOLDER}/image_<number>_p"
                     "<elevation>_t<azimuth>_r<distance>.png files.")
  elevations = tuple(sorted({render.elevation for render in renders.values()}))
  logging.info("Found %d renders of %d chairs at elevations %s in %s.",
               len(renders), len(chairs), elevations, source.path)
  return _Index(renders=dict(sorted(renders.items())),
                chair_labels={name: label for label, name in
                              enumerate(chairs)},
                elevation_labels={degrees: label for label, degrees in
                                  enumerate(elevations)},
                tar_offsets=offsets)


class Chairs(manual_builder.ManualDirBuilder):
  """Rendered 3D chairs (Aubry et al., 2014) for DC-IGN (Kulkarni et al.,
  2015), one example per render."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Grayscale, centre-cropped renders, split by "
                            "chair."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_INSTRUCTIONS
  BUILDER_CONFIGS = [make_config(150), make_config(64)]
  DEFAULT_BUILDER_CONFIG_NAME = "150px"

  def check_raw(self, manual_dir: str) -> RawSource:
    return check_manual_dir(manual_dir)

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(
                shape=(size, size, 1), dtype=np.uint8, encoding_format="png",
                doc="Grayscale render, centre-cropped, on white."),
            "chair": tfds.features.Scalar(
                np.int64, doc="Index of the chair among all chairs with "
                "renders, sorted by name (same in train and test)."),
            "chair_name": tfds.features.Text(doc="The chair's folder name."),
            "azimuth": tfds.features.Scalar(
                np.float32, doc="Azimuth (theta) in degrees, from the name."),
            "elevation": tfds.features.Scalar(
                np.float32, doc="Elevation (pitch) in degrees."),
            "azimuth_class": tfds.features.Scalar(
                np.int64, doc="round(azimuth / (360 / 31)) % 31."),
            "elevation_class": tfds.features.Scalar(
                np.int64, doc="Index of the elevation among the dataset's "
                "distinct elevations, ascending (0 = lower)."),
            "filename": tfds.features.Text(
                doc="rendered_chairs/<chair>/renders/<file>.png"),
        }),
        supervised_keys=None,
        homepage=HOMEPAGE,
        citation="""\
@inproceedings{aubry2014seeing,
  title={Seeing 3D chairs: exemplar part-based 2D-3D alignment using a
         large dataset of CAD models},
  author={Aubry, Mathieu and Maturana, Daniel and Efros, Alexei A. and
          Russell, Bryan C. and Sivic, Josef},
  booktitle={CVPR},
  year={2014}
}""",
    )

  def _split_generators(self, dl_manager):
    # Checked again: TFDS may reach here without our download_and_prepare
    # (e.g. from a subclass), and the folder may have changed meanwhile.
    source = check_manual_dir(self.raw_dir(dl_manager))
    index = _index(source)
    chairs = split_chairs(list(index.chair_labels),
                          self.builder_config.test_fraction)
    for split in SPLITS:
      logging.info("%s: %d chairs.", split, len(chairs[split]))
    return {split: self._generate_examples(source, index, set(chairs[split]))
            for split in SPLITS}

  def _generate_examples(self, source: RawSource, index: _Index,
                         chair_names: set) -> Iterator[Tuple[str, dict]]:
    """(filename, example) for every render of `chair_names`."""
    for render, data in _read_renders(source, index, chair_names):
      yield render.filename, self._example(render, data, index)

  def _example(self, render: Render, data: bytes, index: _Index) -> dict:
    config = self.builder_config
    return {
        "image": render_to_array(data, render.filename, config.image_size,
                                 config.crop_fraction),
        "chair": index.chair_labels[render.chair_name],
        "chair_name": render.chair_name,
        "azimuth": np.float32(render.azimuth),
        "elevation": np.float32(render.elevation),
        "azimuth_class": azimuth_class(render.azimuth),
        "elevation_class": index.elevation_labels[render.elevation],
        "filename": render.filename,
    }


def _read_renders(source: RawSource, index: _Index, chair_names: set
                 ) -> Iterator[Tuple[Render, bytes]]:
  """(render, PNG bytes) of every render of `chair_names`."""
  if not source.is_tar:
    root = os.path.dirname(source.path)
    for filename, render in index.renders.items():
      if render.chair_name in chair_names:
        with open(os.path.join(root, *filename.split("/")), "rb") as file:
          yield render, file.read()
    return
  # In archive order: reading the tar front to back, skipping the other
  # split's members, streams it without seeking back and forth.
  with tarfile.open(source.path, "r:*") as archive:
    for member in archive:
      filename = "/".join(_tar_parts(member.name))
      render = index.renders.get(filename)
      if (render is None or render.chair_name not in chair_names or
          index.tar_offsets[filename] != member.offset):
        continue
      file = archive.extractfile(member)
      yield render, file.read()


def builder(config: Union[ChairsConfig, Mapping[str, Any], None] = None,
            data_dir: Optional[str] = None,
            manual_dir: Optional[Union[str, os.PathLike]] = None) -> Chairs:
  """The builder of `config` (prepare it with `download_and_prepare`).

  Args:
    config: a `make_config` result, or its keyword arguments as a mapping;
      None for the paper's settings at 150 px.
    data_dir: where TFDS stores prepared data (TFDS's default if None).
    manual_dir: where `rendered_chairs.tar` or `rendered_chairs/` is; if
      None, `<data_dir>/downloads/manual` (see MANUAL_INSTRUCTIONS).

  The raw data are not looked for here, since a builder also serves to read
  data prepared earlier; call `check_manual_dir` on the builder to check
  them before preparing (`download_and_prepare` checks them first too).

  Raises:
    ValueError: for bad settings, or a config whose name does not encode
      its settings (it could then collide with other prepared data).
  """
  config = manual_builder.resolve_config(
      config, make_config, ChairsConfig,
      lambda config: (config.image_size, config.crop_fraction,
                      config.test_fraction),
      Chairs)
  return Chairs(config=config, data_dir=data_dir, manual_dir=manual_dir)
