"""Tests for dcign_tf.data.tfds_sources.

Every dataset is prepared by TFDS's own builder, offline, from tiny files
in the original formats (smallNORB's gzipped binary matrices, Shapes3D's
and dSprites' HDF5) placed in the manual dir under their real names. The
only thing replaced is the registry of checksums, since a tiny fixture
cannot have the real files' SHA-256: the fixture's own sizes and checksums
are registered instead, so TFDS's manual-dir lookup, its checksum check,
its gzip extraction and its example generation all run for real.
"""

import gzip
import os
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums

from dcign_tf import train_config as train_config_lib
from dcign_tf import trainer
from dcign_tf.data import npz_files
from dcign_tf.data import tfds_sources

# smallNORB's magic numbers for uint8 and int32 matrices.
_NORB_MAGIC = {np.dtype(np.uint8): 507333717, np.dtype(np.int32): 507333716}
_NORB_PER_SPLIT = 4
# Pixel of every (uniform) left image, per split: base + step * index.
_NORB_PIXEL_BASE = {"train": 10, "test": 100}
_NORB_PIXEL_STEP = 20
# The right image of the stereo pair, which must never be returned.
_NORB_RIGHT_PIXEL = 250
_SHAPES3D_COUNT = 8
_DSPRITES_COUNT = 6


def _norb_labels(split: str) -> np.ndarray:
  """Expected int64 [N, 5] labels: category, instance, azimuth, elevation,
  lighting, by example index."""
  index = np.arange(_NORB_PER_SPLIT)
  instances = [4, 6, 7, 8] if split == "train" else [0, 1, 2, 3]
  category = index if split == "train" else 4 - index
  return np.stack([category, instances, 17 - index, 8 - index,
                   (index + 1) % 6], axis=1).astype(np.int64)


def _write_norb_matrix(path: str, array: np.ndarray) -> None:
  """Writes `array` gzipped in smallNORB's binary matrix format: int32
  magic, int32 ndim, max(3, ndim) int32 dims (padded with 1), then the
  little-endian data."""
  dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
  header = np.array([_NORB_MAGIC[array.dtype], array.ndim] + dims, "<i4")
  with gzip.open(path, "wb") as file:
    file.write(header.tobytes() + array.astype(
        array.dtype.newbyteorder("<")).tobytes())


def _write_norb_files(manual_dir: str) -> None:
  os.makedirs(manual_dir, exist_ok=True)
  for split, part in (("train", "5x46789x9x18x6x2x96x96-training"),
                      ("test", "5x01235x9x18x6x2x96x96-testing")):
    labels = _norb_labels(split)
    pixels = (_NORB_PIXEL_BASE[split] +
              _NORB_PIXEL_STEP * np.arange(_NORB_PER_SPLIT))
    images = np.empty((_NORB_PER_SPLIT, 2, 96, 96), np.uint8)
    images[:, 0] = pixels[:, None, None]
    images[:, 1] = _NORB_RIGHT_PIXEL
    # The info file holds instance, elevation, raw azimuth (0, 2, ..., 34;
    # TFDS halves it) and lighting.
    info = np.stack([labels[:, 1], labels[:, 3], 2 * labels[:, 2],
                     labels[:, 4]], axis=1).astype(np.int32)
    for kind, array in (("dat", images), ("cat",
                                          labels[:, 0].astype(np.int32)),
                        ("info", info)):
      _write_norb_matrix(
          os.path.join(manual_dir, f"smallnorb-{part}-{kind}.mat.gz"), array)


def _shapes3d_colours() -> np.ndarray:
  index = np.arange(_SHAPES3D_COUNT)
  return np.stack([20 * index + 10, 100 + 10 * index, 200 - 15 * index],
                  axis=1).astype(np.uint8)


def _shapes3d_labels() -> np.ndarray:
  # Every class 0..3 appears in each column, so TFDS's discretisation (the
  # rank among a column's distinct values) gives back exactly these.
  index = np.arange(_SHAPES3D_COUNT)
  return np.stack([(index + column) % 4 for column in range(6)],
                  axis=1).astype(np.int64)


def _write_shapes3d_file(manual_dir: str) -> None:
  h5py = pytest.importorskip("h5py")
  os.makedirs(manual_dir, exist_ok=True)
  images = np.broadcast_to(_shapes3d_colours()[:, None, None, :],
                           (_SHAPES3D_COUNT, 64, 64, 3))
  with h5py.File(os.path.join(manual_dir, "3dshapes.h5"), "w") as file:
    file.create_dataset("images", data=np.ascontiguousarray(images))
    # The file's "labels" are float factor values, as in the real one.
    file.create_dataset("labels", data=_shapes3d_labels() * 0.25 + 0.125)


def _dsprites_labels() -> np.ndarray:
  """Expected labels: shape, scale, orientation, position_x, position_y."""
  index = np.arange(_DSPRITES_COUNT)
  return np.stack([index % 3, index, 39 - index, 5 * index, 31 - 2 * index],
                  axis=1).astype(np.int64)


def _write_dsprites_file(manual_dir: str) -> None:
  h5py = pytest.importorskip("h5py")
  os.makedirs(manual_dir, exist_ok=True)
  images = np.zeros((_DSPRITES_COUNT, 64, 64), np.uint8)
  for index in range(_DSPRITES_COUNT):
    images[index, 0, :index + 1] = 1  # index + 1 lit pixels identify it.
  classes = np.concatenate([np.zeros((_DSPRITES_COUNT, 1), np.int64),
                            _dsprites_labels()], axis=1)
  path = os.path.join(manual_dir,
                      "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5")
  with h5py.File(path, "w") as file:
    file.create_dataset("imgs", data=images)
    file.create_dataset("latents/classes", data=classes)
    file.create_dataset("latents/values", data=classes.astype(np.float64))


def _register_fixture_checksums(monkeypatch, name: str, manual_dir: str,
                                corrupt: bool = False) -> None:
  """Registers the fixture files' sizes and SHA-256 for `name`'s URLs.

  With `corrupt`, the sizes stay right but the checksums are wrong.
  """
  builder_cls = tfds.builder_cls(name)
  infos = {}
  for url, info in builder_cls.url_infos.items():
    computed = checksums.compute_url_info(
        os.path.join(manual_dir, info.filename))
    if corrupt:
      computed = checksums.UrlInfo(size=computed.size, checksum="0" * 64,
                                   filename=computed.filename)
    infos[url] = computed
  monkeypatch.setattr(builder_cls, "url_infos", infos)


def _prepare(tmp_path_factory, name: str, write_files) -> dict:
  root = tmp_path_factory.mktemp(name)
  paths = {"data_dir": str(root / "data"), "manual_dir": str(root / "manual")}
  write_files(paths["manual_dir"])
  with pytest.MonkeyPatch.context() as monkeypatch:
    _register_fixture_checksums(monkeypatch, name, paths["manual_dir"])
    tfds_sources.prepare_tfds(name, **paths)
  return paths


@pytest.fixture(scope="module")
def smallnorb(tmp_path_factory):
  return _prepare(tmp_path_factory, "smallnorb", _write_norb_files)


@pytest.fixture(scope="module")
def shapes3d(tmp_path_factory):
  return _prepare(tmp_path_factory, "shapes3d", _write_shapes3d_file)


@pytest.fixture(scope="module")
def dsprites(tmp_path_factory):
  return _prepare(tmp_path_factory, "dsprites", _write_dsprites_file)


def _tree(path) -> list:
  """Every file and folder under `path`, relative, sorted ([] if absent)."""
  found = []
  for root, folders, files in os.walk(path):
    found += [os.path.relpath(os.path.join(root, entry), path)
              for entry in folders + files]
  return sorted(found)


@pytest.mark.parametrize("split", ["train", "test"])
def test_smallnorb_pairs_each_left_image_with_its_labels(smallnorb, split):
  images, labels, names = tfds_sources.load_tfds(
      "smallnorb", smallnorb["data_dir"], split=split)
  assert names == ("category", "instance", "azimuth", "elevation",
                   "lighting")
  assert images.dtype == np.uint8 and images.shape == (4, 96, 96, 1)
  assert labels.dtype == np.int64 and labels.shape == (4, 5)
  # Each image is uniform; its value names the example it was written as.
  assert np.all(images == images[:, :1, :1, :])
  index = (images[:, 0, 0, 0].astype(int) -
           _NORB_PIXEL_BASE[split]) // _NORB_PIXEL_STEP
  assert sorted(index) == [0, 1, 2, 3]
  np.testing.assert_array_equal(labels, _norb_labels(split)[index])


def test_smallnorb_slices_replicates_channels_and_resizes(smallnorb):
  full, full_labels, _ = tfds_sources.load_tfds("smallnorb",
                                                smallnorb["data_dir"])
  images, labels, _ = tfds_sources.load_tfds(
      "smallnorb", smallnorb["data_dir"], channels=3, image_size=40)
  assert images.shape == (4, 40, 40, 3)
  np.testing.assert_array_equal(labels, full_labels)
  np.testing.assert_array_equal(images[..., :1],
                                npz_files.resize_square(full, 40))
  np.testing.assert_array_equal(images[..., 2], images[..., 0])
  half, half_labels, _ = tfds_sources.load_tfds(
      "smallnorb", smallnorb["data_dir"], split="train[:50%]")
  assert half.shape == (2, 96, 96, 1)
  np.testing.assert_array_equal(half_labels, full_labels[:2])


def test_smallnorb_preparation_keeps_no_extracted_matrices(smallnorb):
  data_dir = smallnorb["data_dir"]
  assert os.path.isfile(os.path.join(data_dir, "smallnorb", "2.0.0",
                                     "dataset_info.json"))
  # The unpacked matrices were only needed while preparing.
  assert _tree(os.path.join(data_dir, "downloads")) == []


def test_folder_without_dataset_info_is_reported_not_read(smallnorb,
                                                          tmp_path):
  data_dir = tmp_path / "data"
  shutil.copytree(os.path.join(smallnorb["data_dir"], "smallnorb"),
                  data_dir / "smallnorb")
  (data_dir / "smallnorb" / "2.0.0" / "dataset_info.json").unlink()
  before = _tree(data_dir)
  with pytest.raises(ValueError, match="partly prepared") as error:
    tfds_sources.load_tfds("smallnorb", data_dir,
                           manual_dir=smallnorb["manual_dir"])
  assert str(data_dir / "smallnorb" / "2.0.0") in str(error.value)
  assert _tree(data_dir) == before


def test_incomplete_folder_is_never_read(smallnorb, tmp_path):
  # A complete copy, but under the name TFDS gives a build in progress.
  data_dir = tmp_path / "data"
  shutil.copytree(
      os.path.join(smallnorb["data_dir"], "smallnorb", "2.0.0"),
      data_dir / "smallnorb" / "incomplete.ABCDEF_2.0.0")
  before = _tree(data_dir)
  with pytest.raises(ValueError, match="is not prepared"):
    tfds_sources.load_tfds("smallnorb", data_dir,
                           manual_dir=tmp_path / "empty")
  assert _tree(data_dir) == before


def test_smallnorb_files_of_the_wrong_size_are_refused(tmp_path):
  manual_dir = str(tmp_path / "manual")
  _write_norb_files(manual_dir)
  data_dir = tmp_path / "data"
  # The registered sizes are those of the real files.
  with pytest.raises(ValueError, match=r"smallnorb-.*\.mat\.gz has \d+ "
                     r"bytes; allowed: the original file of \d+ bytes"):
    tfds_sources.load_tfds("smallnorb", data_dir, manual_dir=manual_dir)
  assert not data_dir.exists()


def test_smallnorb_files_of_the_wrong_checksum_are_refused(tmp_path,
                                                           monkeypatch):
  manual_dir = str(tmp_path / "manual")
  _write_norb_files(manual_dir)
  _register_fixture_checksums(monkeypatch, "smallnorb", manual_dir,
                              corrupt=True)
  data_dir = tmp_path / "data"
  with pytest.raises(ValueError, match="SHA-256"):
    tfds_sources.load_tfds("smallnorb", data_dir, manual_dir=manual_dir)
  assert not data_dir.exists()


def test_missing_smallnorb_files_are_named(tmp_path):
  manual_dir = tmp_path / "manual"
  _write_norb_files(str(manual_dir))
  missing = "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat.gz"
  (manual_dir / missing).unlink()
  with pytest.raises(ValueError, match=f"lacks {missing}"):
    tfds_sources.load_tfds("smallnorb", tmp_path / "data",
                           manual_dir=manual_dir)
  assert not (tmp_path / "data").exists()


def test_shapes3d_colour_labels_and_bt601_gray(shapes3d):
  colour, labels, names = tfds_sources.load_tfds(
      "shapes3d", shapes3d["data_dir"], channels=3)
  assert names == ("floor_hue", "wall_hue", "object_hue", "scale", "shape",
                   "orientation")
  assert colour.shape == (_SHAPES3D_COUNT, 64, 64, 3)
  # The red channel names the example: 20 * index + 10.
  index = (colour[:, 0, 0, 0].astype(int) - 10) // 20
  assert sorted(index) == list(range(_SHAPES3D_COUNT))
  np.testing.assert_array_equal(colour[:, 0, 0], _shapes3d_colours()[index])
  np.testing.assert_array_equal(labels, _shapes3d_labels()[index])

  gray, gray_labels, _ = tfds_sources.load_tfds("shapes3d",
                                                shapes3d["data_dir"])
  assert gray.shape == (_SHAPES3D_COUNT, 64, 64, 1)
  np.testing.assert_array_equal(gray_labels, labels)
  red, green, blue = colour[:, 0, 0].astype(np.float64).T
  expected = np.floor(0.299 * red + 0.587 * green + 0.114 * blue + 0.5)
  np.testing.assert_array_equal(gray[:, 0, 0, 0], expected)
  # By hand: (10, 100, 200) -> 2.99 + 58.7 + 22.8 = 84.49 -> 84.
  assert gray[list(index).index(0), 0, 0, 0] == 84

  small, _, _ = tfds_sources.load_tfds("shapes3d", shapes3d["data_dir"],
                                       image_size=32)
  np.testing.assert_array_equal(small, npz_files.resize_square(gray, 32))


def test_dsprites_binary_images_become_0_and_255(dsprites):
  images, labels, names = tfds_sources.load_tfds("dsprites",
                                                 dsprites["data_dir"])
  assert names == ("shape", "scale", "orientation", "position_x",
                   "position_y")
  assert images.shape == (_DSPRITES_COUNT, 64, 64, 1)
  assert set(np.unique(images)) == {0, 255}
  index = (images[:, 0, :, 0] == 255).sum(axis=1) - 1
  assert sorted(index) == list(range(_DSPRITES_COUNT))
  np.testing.assert_array_equal(labels, _dsprites_labels()[index])


def test_unprepared_dataset_says_where_it_looked_and_how_to_prepare(
    tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  with pytest.raises(ValueError) as error:
    tfds_sources.load_tfds("shapes3d", data_dir)
  message = str(error.value)
  assert f"data_dir {str(data_dir)!r}" in message
  assert ("python -c \"import tensorflow_datasets as tfds; "
          f"tfds.builder('shapes3d', data_dir='{data_dir}')"
          ".download_and_prepare()\"") in message
  assert "3dshapes.h5" in message
  assert str(data_dir / "downloads" / "manual") in message
  assert _tree(data_dir) == []


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(name="mnist"), "allowed: smallnorb, shapes3d, dsprites"),
    (dict(name="dsprites", channels=2), "channels must be 1 or 3, got 2"),
    (dict(name="dsprites", channels=True), "channels must be 1 or 3"),
    (dict(name="dsprites", split="test"), "no split 'test'; allowed: train"),
    (dict(name="smallnorb", split="train[:abc]"), "malformed"),
    (dict(name="shapes3d", image_size=0), "image_size must be None or"),
    (dict(name="shapes3d", image_size=32.0), "got 32.0"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs,
                                                   pattern):
  data_dir = tmp_path / "data"
  with pytest.raises(ValueError, match=pattern):
    tfds_sources.load_tfds(data_dir=data_dir, **kwargs)
  assert not data_dir.exists()


def _write_factorial_norb(manual_dir: str) -> None:
  """smallNORB files whose labels cross 2 instances x 3 azimuths x 2
  lightings per split, so the paper's groups can be formed."""
  os.makedirs(manual_dir, exist_ok=True)
  grid = np.array([(i, a, l) for i in range(2) for a in range(3)
                   for l in range(2)])
  for split, part, first_instance in (
      ("train", "5x46789x9x18x6x2x96x96-training", 4),
      ("test", "5x01235x9x18x6x2x96x96-testing", 0)):
    images = np.zeros((len(grid), 2, 96, 96), np.uint8)
    for image, (instance, azimuth, lighting) in zip(images, grid):
      image[0, 20:70, 10 + 20 * azimuth:40 + 20 * azimuth] = (
          100 + 60 * lighting + 20 * instance)
    info = np.stack([grid[:, 0] + first_instance, np.full(len(grid), 4),
                     4 * grid[:, 1], grid[:, 2]], axis=1).astype(np.int32)
    for kind, array in (("dat", images),
                        ("cat", np.zeros(len(grid), np.int32)),
                        ("info", info)):
      _write_norb_matrix(
          os.path.join(manual_dir, f"smallnorb-{part}-{kind}.mat.gz"), array)


@pytest.mark.slow
def test_the_trainer_trains_two_steps_on_smallnorb(tmp_path, monkeypatch):
  manual_dir = str(tmp_path / "manual")
  _write_factorial_norb(manual_dir)
  _register_fixture_checksums(monkeypatch, "smallnorb", manual_dir)
  config = train_config_lib.TrainConfig(
      model_dir=str(tmp_path / "run"), dataset="smallnorb",
      dataset_path=manual_dir, data_dir=str(tmp_path / "tfds"),
      designated=("azimuth", "lighting"), ratio="1:1:0:1", image_size=32,
      group_size=2, latent_size=6, train_steps=2, checkpoint_every=1,
      eval_groups_per_type=4, sweep_faces=1, sweep_steps=2)
  metrics = trainer.run(config, verbose=0)
  assert metrics["steps"] == 2 and metrics["dataset"] == "smallnorb"
  assert {name: score["latent"] for name, score in
          metrics["factors"].items()} == {"azimuth": 0, "lighting": 1}


def _write_factorial_shapes3d(manual_dir: str) -> None:
  """3dshapes.h5 crossing shape 2 x orientation 3 x object_hue 4 (four
  hues, so that a held-out test split keeps two); a square whose place,
  size and colour follow the labels."""
  h5py = pytest.importorskip("h5py")
  os.makedirs(manual_dir, exist_ok=True)
  grid = [(h, s, o) for h in range(4) for s in range(2) for o in range(3)]
  images = np.zeros((len(grid), 64, 64, 3), np.uint8)
  labels = np.zeros((len(grid), 6))
  for image, row, (hue, shape, orientation) in zip(images, labels, grid):
    image[16:40 + 8 * shape, 8 + 12 * orientation:30 + 12 * orientation,
          hue % 3] = 240 - 100 * (hue // 3)
    # floor_hue, wall_hue, object_hue, scale, shape, orientation.
    row[:] = (0.0, 0.0, 0.1 * hue, 1.0, float(shape), 10.0 * orientation)
  with h5py.File(os.path.join(manual_dir, "3dshapes.h5"), "w") as file:
    file.create_dataset("images", data=images)
    file.create_dataset("labels", data=labels)


def _write_factorial_dsprites(manual_dir: str) -> None:
  """The dSprites HDF5 crossing shape 2 x scale 2 x position_x 4 (four
  shape-scale objects, so that a held-out test split keeps two)."""
  h5py = pytest.importorskip("h5py")
  os.makedirs(manual_dir, exist_ok=True)
  grid = [(s, c, x) for s in range(2) for c in range(2) for x in range(4)]
  images = np.zeros((len(grid), 64, 64), np.uint8)
  classes = np.zeros((len(grid), 6), np.int64)
  for image, row, (shape, scale, x) in zip(images, classes, grid):
    image[20 - 6 * scale:30 + 10 * shape, 4 + 14 * x:16 + 14 * x] = 1
    row[1], row[2], row[4] = shape, scale, x
  path = os.path.join(manual_dir,
                      "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5")
  with h5py.File(path, "w") as file:
    file.create_dataset("imgs", data=images)
    file.create_dataset("latents/classes", data=classes)
    file.create_dataset("latents/values", data=classes.astype(np.float64))


@pytest.mark.slow
@pytest.mark.parametrize("name,write,designated,channels", [
    ("shapes3d", _write_factorial_shapes3d, ("orientation", "shape"), 3),
    ("dsprites", _write_factorial_dsprites, ("position_x",), 1),
])
def test_the_trainer_trains_two_steps_on_hdf5_sources(
    tmp_path, monkeypatch, name, write, designated, channels):
  manual_dir = str(tmp_path / "manual")
  write(manual_dir)
  _register_fixture_checksums(monkeypatch, name, manual_dir)
  config = train_config_lib.TrainConfig(
      model_dir=str(tmp_path / "run"), dataset=name, channels=channels,
      dataset_path=manual_dir, data_dir=str(tmp_path / "tfds"),
      designated=designated, ratio="1:1:0:1", image_size=32, group_size=2,
      latent_size=6, train_steps=2, checkpoint_every=1,
      eval_groups_per_type=4, sweep_faces=1, sweep_steps=2)
  metrics = trainer.run(config, verbose=0)
  assert metrics["steps"] == 2 and metrics["dataset"] == name
  assert set(metrics["factors"]) == set(designated)
