"""smallNORB, Shapes3D and dSprites through TFDS's own builders, offline.

Why this module: DC-IGN's labelled experiments use datasets that TFDS
already knows how to prepare (`smallnorb`, `shapes3d`, `dsprites`). Using
TFDS's builders keeps their splits, label encodings and checksums, and this
module only turns a prepared split into what `labelled.LabelledGroups`
needs: uint8 images [N, S, S, C], int64 labels [N, F] and factor names.

Training machines often have no network, so nothing here downloads.
`load_tfds` (and `prepare_tfds`) reads a dataset that is either

* already prepared in `data_dir` (`<data_dir>/<name>/<version>/` with its
  `dataset_info.json`), e.g. by running, on a machine with network access,

    python -c "import tensorflow_datasets as tfds; \
tfds.builder('shapes3d').download_and_prepare()"

  and copying `~/tensorflow_datasets/shapes3d/` over; or
* prepared here, offline, from the dataset's original files, placed
  exactly as distributed (same names, not unpacked) directly in the manual
  dir, which is `manual_dir` if given, else `<data_dir>/downloads/manual`:

    smallnorb  the six gzipped binary matrices of
               https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ :
                 smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz
                 smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat.gz
                 smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz
                 smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat.gz
                 smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat.gz
                 smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat.gz
    shapes3d   3dshapes.h5 (https://storage.googleapis.com/3d-shapes/)
    dsprites   dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5 (the
               deepmind/dsprites-dataset repository on GitHub)

This works because TFDS's download manager, before downloading a URL,
looks for the file name registered in the builder's `checksums.tsv` in the
manual dir and uses that file instead; it still validates the file's size
and SHA-256 against the registered ones. We check the same size and
checksum ourselves first, so a wrong or truncated file is a ValueError
before TFDS creates anything, and we turn off TFDS's attempt to fetch a
prepared copy from Google Cloud Storage. smallNORB's matrices are
decompressed into a temporary folder under `<data_dir>/downloads/` (about
0.9 GB) that is deleted after preparation. Shapes3D and dSprites are HDF5,
which TFDS reads with h5py (not installed with TFDS); TFDS's Shapes3D
builder holds the whole file in memory (about 6 GB) while preparing.

A partly prepared dataset is never read: TFDS builds into an
`incomplete.*` folder and renames it only when done, and a variant folder
counts as prepared only with its `dataset_info.json`
(`builder.is_prepared()`). A variant folder without it is reported, not
repaired, since TFDS would otherwise "reuse" it as it is.

Factors and their TFDS features:

  smallnorb  category, instance, azimuth (0..17, TFDS halves the raw
             0..34), elevation, lighting; `image` is the left image of the
             stereo pair (96x96 gray)
  shapes3d   floor_hue, wall_hue, object_hue, scale, shape, orientation;
             64x64 colour, converted to ITU-R BT.601 luma unless channels=3
  dsprites   shape, scale, orientation, position_x, position_y (TFDS drops
             the constant colour factor); 64x64 binary {0, 1} images,
             scaled to {0, 255}
"""

import dataclasses
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from typing import Dict, Optional, Tuple, Union

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from dcign_tf import luma
from dcign_tf.data import npz_files

PathLike = Union[str, os.PathLike]

# Images converted per tf.data batch; also bounds the float copies made by
# the grayscale conversion and resizing.
BATCH_IMAGES = 1024
# Bytes hashed at a time when checking an original file's checksum.
_HASH_BLOCK = 1 << 20
# A split name, optionally sliced the TFDS way, e.g. "train[:10%]".
_SPLIT_PATTERN = re.compile(r"(?P<name>[a-z]+)(?P<slice>\[[^\]]*\])?")


@dataclasses.dataclass(frozen=True)
class _DatasetSpec:
  """What differs between the supported TFDS datasets.

  Attributes:
    factors: (factor name, TFDS feature) pairs, in label-column order.
    splits: the builder's split names.
    binary: whether the images hold {0, 1} and are scaled to {0, 255}.
    needs_h5py: whether TFDS's preparation reads HDF5 with h5py.
  """

  factors: Tuple[Tuple[str, str], ...]
  splits: Tuple[str, ...]
  binary: bool
  needs_h5py: bool

  @property
  def factor_names(self) -> Tuple[str, ...]:
    return tuple(name for name, _ in self.factors)

  @property
  def features(self) -> Tuple[str, ...]:
    return tuple(feature for _, feature in self.factors)


_SPECS: Dict[str, _DatasetSpec] = {
    "smallnorb": _DatasetSpec(
        factors=(("category", "label_category"), ("instance", "instance"),
                 ("azimuth", "label_azimuth"),
                 ("elevation", "label_elevation"),
                 ("lighting", "label_lighting")),
        splits=("train", "test"), binary=False, needs_h5py=False),
    "shapes3d": _DatasetSpec(
        factors=(("floor_hue", "label_floor_hue"),
                 ("wall_hue", "label_wall_hue"),
                 ("object_hue", "label_object_hue"),
                 ("scale", "label_scale"), ("shape", "label_shape"),
                 ("orientation", "label_orientation")),
        splits=("train",), binary=False, needs_h5py=True),
    "dsprites": _DatasetSpec(
        factors=(("shape", "label_shape"), ("scale", "label_scale"),
                 ("orientation", "label_orientation"),
                 ("position_x", "label_x_position"),
                 ("position_y", "label_y_position")),
        splits=("train",), binary=True, needs_h5py=True),
}
NAMES = tuple(_SPECS)
FACTOR_NAMES: Dict[str, Tuple[str, ...]] = {
    name: spec.factor_names for name, spec in _SPECS.items()}


def _check_name(name) -> _DatasetSpec:
  if not isinstance(name, str) or name not in _SPECS:
    raise ValueError(f"Unknown TFDS dataset {name!r}; allowed: "
                     f"{', '.join(NAMES)}.")
  return _SPECS[name]


def _check_split(name: str, split) -> str:
  """`split` if it names one of the dataset's splits, optionally sliced."""
  allowed = _SPECS[name].splits
  match = (_SPLIT_PATTERN.fullmatch(split) if isinstance(split, str)
           else None)
  if match is None or match.group("name") not in allowed:
    raise ValueError(f"{name} has no split {split!r}; allowed: "
                     f"{', '.join(allowed)}, optionally sliced as in TFDS "
                     "(e.g. 'train[:10%]').")
  try:
    tfds.core.ReadInstruction.from_spec(split)
  except (ValueError, AssertionError) as error:
    raise ValueError(f"Split {split!r} of {name} is malformed ({error}); "
                     "allowed: e.g. 'train', 'train[:1000]', "
                     "'train[10%:20%]'.") from None
  return split


def _check_image_size(image_size) -> Optional[int]:
  if image_size is None:
    return None
  if isinstance(image_size, (bool, np.bool_)) or not isinstance(
      image_size, (int, np.integer)) or image_size < 1:
    raise ValueError(f"image_size must be None or a whole number >= 1, got "
                     f"{image_size!r}.")
  return int(image_size)


def _check_path(argument: str, path) -> Optional[str]:
  if path is None:
    return None
  if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
    raise ValueError(f"{argument} must be None or a folder path, got "
                     f"{path!r}.")
  return os.path.expanduser(os.fspath(path))


def _original_files(builder: tfds.core.DatasetBuilder) -> Dict[str, tuple]:
  """File name -> (URL, registered UrlInfo) of every file TFDS downloads.

  Why from the builder: the file names and checksums TFDS's download
  manager matches in the manual dir are those of its `checksums.tsv`.
  """
  return {info.filename: (url, info)
          for url, info in sorted((builder.url_infos or {}).items())}


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as file:
    for block in iter(lambda: file.read(_HASH_BLOCK), b""):
      digest.update(block)
  return digest.hexdigest()


def _not_prepared_message(builder: tfds.core.DatasetBuilder,
                          manual_dir: str, problem: str) -> str:
  files = _original_files(builder)
  listing = "\n".join(f"  {filename}  ({url})"
                      for filename, (url, _) in files.items())
  root = os.fspath(builder.data_dir_root)
  return (
      f"TFDS dataset {builder.name!r} is not prepared in data_dir {root!r} "
      f"(no {os.path.join(builder.data_dir, 'dataset_info.json')}), and "
      f"{problem}.\nAllowed: a prepared dataset, or its original files. "
      "Either prepare it on a machine with network access and copy "
      f"{os.path.join(root, builder.name)} here:\n"
      "  python -c \"import tensorflow_datasets as tfds; "
      f"tfds.builder('{builder.name}', data_dir='{root}')"
      ".download_and_prepare()\"\n"
      f"or put these files, exactly as downloaded, in {manual_dir}:\n"
      f"{listing}")


def _check_original_files(builder: tfds.core.DatasetBuilder,
                          manual_dir: str) -> None:
  """Raises ValueError unless every original file is in `manual_dir`, with
  TFDS's registered size and SHA-256."""
  files = _original_files(builder)
  if not files:
    raise ValueError(f"TFDS registers no original files for "
                     f"{builder.name!r}, so it cannot be prepared offline; "
                     "allowed: a dataset prepared in data_dir "
                     f"{os.fspath(builder.data_dir_root)!r}.")
  missing = [name for name in files
             if not os.path.isfile(os.path.join(manual_dir, name))]
  if len(missing) == len(files):
    what = "files are" if len(files) > 1 else "file is"
    raise ValueError(_not_prepared_message(
        builder, manual_dir, f"its original {what} not in the manual dir "
        f"{manual_dir!r}"))
  if missing:
    raise ValueError(_not_prepared_message(
        builder, manual_dir, f"the manual dir {manual_dir!r} lacks "
        f"{', '.join(missing)}"))
  # Sizes first: cheap, and catches truncated or unpacked files before the
  # slower checksums.
  for name, (_, info) in files.items():
    path = os.path.join(manual_dir, name)
    size = os.path.getsize(path)
    if size != int(info.size):
      raise ValueError(f"{path} has {size} bytes; allowed: the original "
                       f"file of {int(info.size)} bytes, as registered by "
                       f"TFDS for {builder.name!r} (keep it as downloaded, "
                       "not unpacked).")
  for name, (_, info) in files.items():
    path = os.path.join(manual_dir, name)
    checksum = _sha256(path)
    if checksum != info.checksum:
      raise ValueError(f"{path} has SHA-256 {checksum}; allowed: the "
                       f"original file, SHA-256 {info.checksum}, as "
                       f"registered by TFDS for {builder.name!r}.")


def prepare_tfds(name: str, data_dir: Optional[PathLike] = None,
                 manual_dir: Optional[PathLike] = None
                ) -> tfds.core.DatasetBuilder:
  """The builder of `name`, prepared offline if it was not yet.

  Args:
    name: one of `NAMES`.
    data_dir: TFDS's data dir; by default TFDS's own (`TFDS_DATA_DIR`, else
      `~/tensorflow_datasets`).
    manual_dir: the folder holding the original files (see the module
      docstring); by default `<data_dir>/downloads/manual`.

  Returns:
    A prepared `tfds.core.DatasetBuilder`.

  Raises:
    ValueError: for an unknown name; when the dataset is partly prepared;
      or when it is not prepared and the original files are missing, of
      the wrong size or checksum, or need h5py, which is not installed.
      All of these are raised before anything is written.
  """
  _check_name(name)
  data_dir = _check_path("data_dir", data_dir)
  manual_dir = _check_path("manual_dir", manual_dir)
  # Constructing a builder only reads; it writes nothing to data_dir.
  builder = tfds.builder(name, data_dir=data_dir)
  if builder.is_prepared():
    return builder
  if builder.data_path.exists():
    # TFDS's download_and_prepare would "reuse" this folder as it is.
    raise ValueError(
        f"{os.fspath(builder.data_path)} is a partly prepared {name!r} "
        "dataset (no dataset_info.json), which is never read; allowed: a "
        "completely prepared one. Delete that folder and prepare again.")
  download_dir = os.path.join(os.fspath(builder.data_dir_root), "downloads")
  manual_dir = manual_dir or os.path.join(download_dir, "manual")
  _check_original_files(builder, manual_dir)
  if _SPECS[name].needs_h5py and importlib.util.find_spec("h5py") is None:
    raise ValueError(f"Preparing {name!r} reads HDF5 with h5py, which is not "
                     "installed; allowed: an environment with h5py "
                     "(pip install h5py).")
  os.makedirs(download_dir, exist_ok=True)
  # smallNORB's matrices are gzipped; what TFDS unpacks is only needed while
  # preparing, so it goes to a folder removed afterwards.
  extract_dir = tempfile.mkdtemp(prefix="extracted.", dir=download_dir)
  try:
    builder.download_and_prepare(
        download_dir=download_dir,
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir, extract_dir=extract_dir,
            # Offline: never look for a prepared copy on GCS.
            try_download_gcs=False))
  finally:
    shutil.rmtree(extract_dir, ignore_errors=True)
  return builder


def _convert(images: np.ndarray, spec: _DatasetSpec, channels: int,
             image_size: Optional[int], name: str) -> np.ndarray:
  """One batch of TFDS images -> uint8 [B, S, S, channels]."""
  if spec.binary:
    if images.size and images.max() > 1:
      raise ValueError(f"{name} images hold values up to {images.max()}; "
                       "allowed: binary {0, 1}.")
    images = images * np.uint8(255)
  if images.shape[-1] == 3 and channels == 1:
    images = luma.uint8_luma(images)
  elif images.shape[-1] == 1 and channels == 3:
    images = np.repeat(images, 3, axis=-1)
  if image_size is not None and image_size != images.shape[1]:
    images = npz_files.resize_square(images, image_size)
  return images


def load_tfds(name: str, data_dir: Optional[PathLike] = None,
              manual_dir: Optional[PathLike] = None, split: str = "train",
              channels: int = 1, image_size: Optional[int] = None
             ) -> Tuple[np.ndarray, np.ndarray, Tuple[str, ...]]:
  """Reads a split of a TFDS dataset as images, labels and factor names.

  Args:
    name: "smallnorb", "shapes3d" or "dsprites".
    data_dir: TFDS's data dir; by default TFDS's own.
    manual_dir: where the original files are, for preparing offline (see
      the module docstring); by default `<data_dir>/downloads/manual`.
    split: "train" (or "test" for smallnorb), optionally sliced as in TFDS,
      e.g. "train[:10%]".
    channels: 1 (colour becomes BT.601 luma) or 3 (gray is replicated).
    image_size: side S of the returned images; None keeps the dataset's
      (96 for smallnorb, 64 otherwise).

  Returns:
    (uint8 images [N, S, S, channels], int64 labels [N, F], the F factor
    names), in TFDS's stored order; label column f holds TFDS's class
    index of factor f.

  Raises:
    ValueError: for a bad argument, or as `prepare_tfds`; all before any
      data is read or written.
  """
  spec = _check_name(name)
  split = _check_split(name, split)
  if isinstance(channels, (bool, np.bool_)) or channels not in (1, 3):
    raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
  image_size = _check_image_size(image_size)
  builder = prepare_tfds(name, data_dir=data_dir, manual_dir=manual_dir)

  count = builder.info.splits[split].num_examples
  side = image_size or builder.info.features["image"].shape[0]
  images = np.empty((count, side, side, channels), np.uint8)
  labels = np.empty((count, len(spec.factors)), np.int64)
  # Only `image` is used; smallNORB's second stereo image stays undecoded.
  decoders = {feature: tfds.decode.SkipDecoding()
              for feature, kind in builder.info.features.items()
              if isinstance(kind, tfds.features.Image) and feature != "image"}

  def image_and_labels(example):
    return example["image"], tf.stack(
        [tf.cast(example[feature], tf.int64) for feature in spec.features])

  dataset = builder.as_dataset(split=split, shuffle_files=False,
                               decoders=decoders or None)
  dataset = dataset.map(image_and_labels,
                        num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.batch(BATCH_IMAGES).prefetch(1)
  start = 0
  for batch_images, batch_labels in dataset.as_numpy_iterator():
    stop = start + len(batch_images)
    if stop > count:
      start = stop
      break
    images[start:stop] = _convert(batch_images, spec, channels, image_size,
                                  name)
    labels[start:stop] = batch_labels
    start = stop
  if start != count:
    raise ValueError(f"{os.fspath(builder.data_path)} holds a different "
                     f"number of {split!r} examples than its "
                     f"dataset_info.json ({count}); allowed: an intact "
                     "prepared dataset.")
  return images, labels, spec.factor_names
