"""Reading the rendered 3D chairs of Aubry et al. (CVPR 2014) where the
user put them: the `rendered_chairs/` folder or `rendered_chairs.tar`
(streamed member by member, never extracted), their file names parsed into
labels, and each render turned into the paper's grayscale crop."""

import dataclasses
import io
import math
import os
import re
import tarfile
from typing import Dict, Iterator, Optional, Tuple, Union

from absl import logging
import numpy as np
from PIL import Image

RAW_FOLDER = "rendered_chairs"
RAW_TAR = "rendered_chairs.tar"
RENDERS_FOLDER = "renders"
HOMEPAGE = "https://www.di.ens.fr/willow/research/seeing3Dchairs/"
# The renders' azimuths: 31 steps around the circle.
NUM_AZIMUTHS = 31
# e.g. image_000_p020_t000_r096.png: render number, pitch (elevation),
# theta (azimuth) and render distance.
_RENDER_NAME = re.compile(
    r"image_(?P<number>\d+)_p(?P<elevation>-?\d+)_t(?P<azimuth>-?\d+)"
    r"_r(?P<distance>\d+)\.png", re.IGNORECASE)
# The chairs fill roughly the central 400 px of the 600 px renders; the
# central 450 px keep every chair whole with a small white margin.
DEFAULT_CROP_FRACTION = 0.75
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
class RenderIndex:
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


def index_renders(source: RawSource) -> RenderIndex:
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
  return RenderIndex(renders=dict(sorted(renders.items())),
                chair_labels={name: label for label, name in
                              enumerate(chairs)},
                elevation_labels={degrees: label for label, degrees in
                                  enumerate(elevations)},
                tar_offsets=offsets)


def read_renders(source: RawSource, index: RenderIndex, chair_names: set
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
