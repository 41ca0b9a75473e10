"""Tests for the chairs TFDS builder, on tiny renders in the real layout.

Every fixture render is a transparent (or white) background with a grey
square in the middle whose level encodes the render's azimuth, elevation
and chair, so the stored labels can be checked against the stored pixels.
"""

import io
import os
import pickle
import re
import tarfile

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from dcign_tf.data import chairs_dataset
from dcign_tf.data import chairs_files

IMAGE_SIZE = 32
AZIMUTHS = (0, 11, 23, 34)
ELEVATIONS = (20, 30)
# Sorted, so that a chair's position here is its `chair` label. Each has
# its own render size and PNG mode: both crop paths (upsampling 30 px and
# downsampling 48 px) and both backgrounds (transparent, white) are used.
CHAIRS = (("1a6f615e8b1b5ae4dbbc9440457e303e", 40, "RGBA"),
          ("2b90701386f1813052db1dda4db2ccce", 64, "RGBA"),
          ("3c0467f96e26b8c6a93445a1757adf6", 40, "RGB"))
EMPTY_CHAIR = "4d3bdfe96a1d334d3c329e0c2a3a7c1e"
NUM_RECORDS = len(CHAIRS) * len(AZIMUTHS) * len(ELEVATIONS)


def level(chair: int, azimuth: int, elevation: int) -> int:
  """The grey of a render's square; distinct for every label triple."""
  return 10 + 30 * azimuth + 15 * elevation + 5 * chair


def render_png(size: int, mode: str, grey: int) -> bytes:
  # Transparent black around the square: only compositing onto white makes
  # it white, as in the real RGBA renders.
  background = (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255)
  image = Image.new(mode, (size, size), background)
  low, high = round(size * 0.3), round(size * 0.7)
  square = (grey, grey, grey, 255) if mode == "RGBA" else (grey,) * 3
  image.paste(square, (low, low, high, high))
  buffer = io.BytesIO()
  image.save(buffer, format="PNG")
  return buffer.getvalue()


def render_name(number: int, azimuth: int, elevation: int) -> str:
  return f"image_{number:03d}_p{elevation:03d}_t{azimuth:03d}_r096.png"


def write_chairs(manual_dir: str, chairs=CHAIRS) -> str:
  """Writes `manual_dir/rendered_chairs/` with junk beside the renders."""
  root = os.path.join(manual_dir, chairs_files.RAW_FOLDER)
  for chair, (name, size, mode) in enumerate(chairs):
    renders = os.path.join(root, name, "renders")
    os.makedirs(renders)
    number = 0
    for e, elevation in enumerate(ELEVATIONS):
      for a, azimuth in enumerate(AZIMUTHS):
        with open(os.path.join(renders, render_name(number, azimuth,
                                                    elevation)), "wb") as f:
          f.write(render_png(size, mode, level(chair, a, e)))
        number += 1
    for junk in (".DS_Store", "._image_000_p020_t000_r096.png", "notes.txt"):
      with open(os.path.join(renders, junk), "wb") as f:
        f.write(b"junk")
  os.makedirs(os.path.join(root, EMPTY_CHAIR))
  with open(os.path.join(root, "all_chair_names.mat"), "wb") as f:
    f.write(b"MATLAB")
  return root


def write_tar(folder: str, manual_dir: str) -> str:
  os.makedirs(manual_dir, exist_ok=True)
  path = os.path.join(manual_dir, chairs_files.RAW_TAR)
  with tarfile.open(path, "w") as archive:
    archive.add(folder, arcname=chairs_files.RAW_FOLDER)
  return path


def config(**overrides) -> chairs_dataset.ChairsConfig:
  return chairs_dataset.make_config(**{"image_size": IMAGE_SIZE, **overrides})


def prepare(data_dir, manual_dir):
  builder = chairs_dataset.builder(config(), str(data_dir), str(manual_dir))
  builder.download_and_prepare()
  return builder


def records(builder, split):
  return {example["filename"].decode(): example
          for example in builder.as_dataset(split=split, shuffle_files=False)
          .as_numpy_iterator()}


def all_records(builder):
  return {**records(builder, "train"), **records(builder, "test")}


def files_under(path) -> list:
  return [os.path.join(root, name) for root, _, names in os.walk(path)
          for name in names]


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory):
  manual_dir = tmp_path_factory.mktemp("manual")
  write_chairs(str(manual_dir))
  return manual_dir


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, raw_folder):
  return prepare(tmp_path_factory.mktemp("tfds"), raw_folder)


def test_folder_build_labels_and_images(prepared):
  examples = all_records(prepared)
  assert len(examples) == NUM_RECORDS
  chair_names = [name for name, _, _ in CHAIRS]
  for filename, example in examples.items():
    chair = int(example["chair"])
    name = example["chair_name"].decode()
    assert name == chair_names[chair]
    a = AZIMUTHS.index(int(example["azimuth"]))
    e = ELEVATIONS.index(int(example["elevation"]))
    number = e * len(AZIMUTHS) + a
    assert filename == (f"rendered_chairs/{name}/renders/"
                        f"{render_name(number, AZIMUTHS[a], ELEVATIONS[e])}")
    assert example["azimuth"].dtype == np.float32
    assert example["azimuth_class"] == a  # 0, 11, 23, 34 are steps 0..3.
    assert example["elevation_class"] == e
    image = example["image"]
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 1)
    assert image.dtype == np.uint8
    # The label <-> pixel correspondence, and a white background after
    # compositing the transparent RGBA renders.
    assert image[16, 16, 0] == level(chair, a, e), filename
    border = np.concatenate([image[:2].ravel(), image[-2:].ravel(),
                             image[:, :2].ravel(), image[:, -2:].ravel()])
    assert np.all(border == 255), filename
  assert EMPTY_CHAIR not in {e["chair_name"].decode()
                             for e in examples.values()}


def test_features_and_splits_are_by_chair(prepared):
  features = prepared.info.features
  assert features["image"].shape == (IMAGE_SIZE, IMAGE_SIZE, 1)
  assert features["chair"].dtype == np.int64
  assert features["elevation_class"].dtype == np.int64
  chairs = {split: {e["chair_name"].decode()
                    for e in records(prepared, split).values()}
            for split in chairs_dataset.SPLITS}
  assert chairs["train"] and chairs["test"]
  assert not chairs["train"] & chairs["test"]
  assert chairs["train"] | chairs["test"] == {name for name, _, _ in CHAIRS}
  expected = chairs_dataset.split_chairs([name for name, _, _ in CHAIRS])
  assert chairs == {split: set(names) for split, names in expected.items()}
  assert (prepared.info.splits["train"].num_examples +
          prepared.info.splits["test"].num_examples) == NUM_RECORDS


def test_rebuild_is_identical(tmp_path, raw_folder, prepared):
  again = prepare(tmp_path, raw_folder)
  for split in chairs_dataset.SPLITS:
    first, second = records(prepared, split), records(again, split)
    assert first.keys() == second.keys()
    for filename, example in first.items():
      np.testing.assert_array_equal(second[filename]["image"],
                                    example["image"])


def test_tar_build_matches_folder_build(tmp_path, raw_folder, prepared,
                                        caplog):
  manual_dir = tmp_path / "manual"
  write_tar(str(raw_folder / chairs_files.RAW_FOLDER), str(manual_dir))
  assert prepared.check_manual_dir().is_tar is False
  built = chairs_dataset.builder(config(), str(tmp_path / "tfds"),
                                 str(manual_dir))
  assert built.check_manual_dir().is_tar is True
  with caplog.at_level("WARNING"):
    built.download_and_prepare()
  assert "Skipped 1 of 4 chair folders" in caplog.text
  for split in chairs_dataset.SPLITS:
    from_folder, from_tar = records(prepared, split), records(built, split)
    assert from_folder.keys() == from_tar.keys()
    for filename, example in from_folder.items():
      for key, value in example.items():
        np.testing.assert_array_equal(from_tar[filename][key], value,
                                      err_msg=f"{filename} {key}")


@pytest.mark.parametrize("contents", ["missing", "empty", "wrong_name"])
def test_missing_raw_data_fails_before_any_work(tmp_path, contents):
  manual_dir = tmp_path / "manual"
  data_dir = tmp_path / "tfds"
  data_dir.mkdir()
  if contents != "missing":
    manual_dir.mkdir()
  if contents == "wrong_name":
    (manual_dir / "chairs.tar").write_bytes(b"")
  message = (re.escape(repr(str(manual_dir))) + ".*" +
             re.escape(repr(chairs_files.RAW_TAR)))
  with pytest.raises(ValueError, match=message):
    chairs_files.check_manual_dir(str(manual_dir))
  built = chairs_dataset.builder(config(), str(data_dir), str(manual_dir))
  with pytest.raises(ValueError, match=message):
    built.download_and_prepare()
  assert not os.listdir(data_dir)
  assert not built.is_prepared()


def test_default_manual_dir_is_under_data_dir(tmp_path):
  built = chairs_dataset.builder(config(), str(tmp_path))
  expected = os.path.join(str(tmp_path), "downloads", "manual")
  assert built.manual_dir_path() == expected
  with pytest.raises(ValueError, match=re.escape(repr(expected))):
    built.download_and_prepare()
  assert not os.listdir(tmp_path)
  overridden = tfds.download.DownloadConfig(manual_dir=str(tmp_path / "m"))
  assert built.manual_dir_path(download_config=overridden) == str(
      tmp_path / "m")


@pytest.mark.parametrize("as_tar", [False, True])
def test_corrupt_png_fails_and_leaves_nothing_readable(tmp_path, as_tar):
  manual_dir = tmp_path / "manual"
  folder = write_chairs(str(tmp_path / "raw"))
  filename = (f"rendered_chairs/{CHAIRS[1][0]}/renders/"
              f"{render_name(5, AZIMUTHS[1], ELEVATIONS[1])}")
  with open(os.path.join(str(tmp_path / "raw"), filename), "wb") as f:
    f.write(b"these bytes are not a PNG")
  if as_tar:
    write_tar(folder, str(manual_dir))
  else:
    os.rename(str(tmp_path / "raw"), str(manual_dir))
  built = chairs_dataset.builder(config(), str(tmp_path / "tfds"),
                                 str(manual_dir))
  with pytest.raises(ValueError, match=re.escape(repr(filename))):
    built.download_and_prepare()
  assert not built.is_prepared()
  assert not any("tfrecord" in f for f in files_under(tmp_path / "tfds"))
  again = chairs_dataset.builder(config(), str(tmp_path / "tfds"),
                                 str(manual_dir))
  assert not again.is_prepared()


def test_png_with_unknown_name_fails_naming_it(tmp_path):
  root = write_chairs(str(tmp_path))
  bad = os.path.join(root, CHAIRS[0][0], "renders", "image_000_p020.png")
  with open(bad, "wb") as f:
    f.write(render_png(40, "RGB", 0))
  built = chairs_dataset.builder(config(), str(tmp_path / "tfds"),
                                 str(tmp_path))
  with pytest.raises(ValueError, match=re.escape(
      f"'rendered_chairs/{CHAIRS[0][0]}/renders/image_000_p020.png'")):
    built.download_and_prepare()
  assert not built.is_prepared()


def test_one_chair_cannot_be_split(tmp_path):
  write_chairs(str(tmp_path), chairs=CHAIRS[:1])
  built = chairs_dataset.builder(config(), str(tmp_path / "tfds"),
                                 str(tmp_path))
  with pytest.raises(ValueError, match="Only 1 chair.*at least 2"):
    built.download_and_prepare()


def test_split_chairs_is_a_stable_hash_split():
  rng = np.random.default_rng(0)
  names = ["".join(rng.choice(list("0123456789abcdef"), 32))
           for _ in range(1393)]
  split = chairs_dataset.split_chairs(names)
  assert 80 <= len(split["test"]) <= 230
  assert sorted(split["train"] + split["test"]) == sorted(names)
  # A chair's split depends on its name only.
  subset = chairs_dataset.split_chairs(names[:300])
  assert set(subset["test"]) == set(split["test"]) & set(names[:300])
  assert chairs_dataset.split_chairs(names[::-1]) == split
  # Tiny sets borrow a chair for the empty split.
  for fraction in (0.001, 0.999):
    tiny = chairs_dataset.split_chairs(names[:2], fraction)
    assert len(tiny["train"]) == len(tiny["test"]) == 1
  with pytest.raises(ValueError, match="Only 1 chair"):
    chairs_dataset.split_chairs(names[:1])


def test_config_names_encode_settings():
  assert chairs_dataset.make_config(150).name == "150px"
  assert chairs_dataset.make_config(64).name == "64px"
  names = {config().name, config(crop_fraction=0.5).name,
           config(test_fraction=0.2).name, config(image_size=33).name}
  assert len(names) == 4
  assert config().name == "32px"


@pytest.mark.parametrize("overrides,message", [
    (dict(image_size=24), r"image_size must be an integer in \[32, 256\], "
                          "got 24"),
    (dict(image_size=257), "got 257"),
    (dict(image_size=64.0), "got 64.0"),
    (dict(image_size=True), "got True"),
    (dict(crop_fraction=0), r"crop_fraction must be a number in \(0, 1\], "
                            "got 0"),
    (dict(crop_fraction=1.5), "crop_fraction .* got 1.5"),
    (dict(crop_fraction=float("nan")), "crop_fraction .* got nan"),
    (dict(test_fraction=1.0), r"test_fraction must be a number in \(0, 1\), "
                              "got 1.0"),
    (dict(test_fraction="0.1"), "test_fraction .* got '0.1'"),
])
def test_bad_configs(overrides, message):
  with pytest.raises(ValueError, match=message):
    config(**overrides)
  with pytest.raises(ValueError, match=message):
    chairs_dataset.builder({"image_size": IMAGE_SIZE, **overrides})


def test_builder_factory(tmp_path):
  preset = chairs_dataset.builder(None, str(tmp_path))
  assert preset.builder_config.name == "150px"
  assert preset.builder_config.image_size == 150
  mapped = chairs_dataset.builder({"image_size": 48, "crop_fraction": 0.5},
                                  str(tmp_path))
  assert mapped.builder_config.name == chairs_dataset.builder(
      config(image_size=48, crop_fraction=0.5),
      str(tmp_path)).builder_config.name
  assert mapped.builder_config.crop_fraction == 0.5
  # A pickled builder (as TFDS hands to workers) keeps its manual dir.
  given = chairs_dataset.builder(None, str(tmp_path), str(tmp_path / "m"))
  assert pickle.loads(pickle.dumps(given)).manual_dir_path() == str(
      tmp_path / "m")
  renamed = chairs_dataset.ChairsConfig(name="mine", image_size=48)
  with pytest.raises(ValueError, match="'mine' does not encode"):
    chairs_dataset.builder(renamed)
  with pytest.raises(ValueError, match="config must be a ChairsConfig"):
    chairs_dataset.builder("150px")
  assert not os.listdir(tmp_path)
