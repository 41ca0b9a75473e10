"""Tests for the OBJ-folder TFDS builder, on tiny meshes written here.

The fixture objects are chosen so that the renders can be checked against
each other without stored images: a box scaled 100x and shifted must render
like the box (normalisation), the box turned 90 degrees in its file must
render at azimuth 0 like the box at azimuth 90, and the box written z-up
must render with up_axis="z" like the box written y-up.
"""

import os
import re

import numpy as np
import pytest

from dcign_tf.data import object_meshes
from dcign_tf.data import objects_dataset
from dcign_tf.graphics import renderer

IMAGE_SIZE = 32
AZIMUTHS = 4  # 0, 90, 180, 270 degrees.
ELEVATIONS = (0.0, 30.0)
LIGHTS = (0.0, 60.0)
VIEWS = AZIMUTHS * len(ELEVATIONS) * len(LIGHTS)

# An elongated box, off the origin: 2 x 1 x 0.6 (no 90-degree symmetry).
BOX = np.array([[x, y, z] for x in (0.0, 2.0) for y in (1.0, 2.0)
                for z in (-0.3, 0.3)])
# Its quads, wound counter-clockwise seen from outside.
BOX_QUADS = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6),
             (0, 2, 6, 4), (1, 5, 7, 3))
PYRAMID = np.array([[-1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, 1.0],
                    [-1.0, 0.0, 1.0], [0.3, 1.5, 0.2]])
PYRAMID_FACES = ((0, 1, 2, 3), (0, 4, 1), (1, 4, 2), (2, 4, 3), (3, 4, 0))
NESTED = "shapenet/1a2b/models/model_normalized"
# Sorted object names: a name's position is its `object` label.
NAMES = ("box", "box_big", "box_turned", NESTED)


def obj_text(vertices, faces, negative: bool = False) -> str:
  """OBJ text with material lines, texture/normal indices and polygons."""
  lines = ["# test mesh", "mtllib mesh.mtl", "o mesh"]
  lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in vertices]
  lines += ["vt 0 0", "vn 0 0 1", "usemtl grey"]
  for face in faces:
    if negative:  # Counted back from the last vertex, as the spec allows.
      corners = [str(i - len(vertices)) for i in face]
    else:
      corners = [f"{i + 1}/1/1" for i in face]
    lines.append("f " + " ".join(corners))
  return "\n".join(lines) + "\n"


def write_obj(folder, name: str, text: str) -> str:
  path = os.path.join(str(folder), *name.split("/")) + ".obj"
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(text)
  return path


def turn_90(vertices: np.ndarray) -> np.ndarray:
  """The vertices as the renderer turns them at azimuth 90."""
  return vertices @ renderer.head_rotation(90.0, 0.0).T


def write_objects(folder) -> None:
  write_obj(folder, "box", obj_text(BOX, BOX_QUADS))
  write_obj(folder, "box_big",
            obj_text(BOX * 100 + [500, -300, 700], BOX_QUADS, negative=True))
  write_obj(folder, "box_turned", obj_text(turn_90(BOX), BOX_QUADS))
  write_obj(folder, NESTED, obj_text(PYRAMID, PYRAMID_FACES))
  # Materials, hidden files and other files are not objects.
  with open(os.path.join(str(folder), "mesh.mtl"), "w") as f:
    f.write("newmtl grey\nKd 0.5 0.5 0.5\n")
  write_obj(folder, ".hidden", obj_text(BOX, BOX_QUADS))
  with open(os.path.join(str(folder), "notes.txt"), "w") as f:
    f.write("not a mesh")


def config(**overrides) -> objects_dataset.ObjectsConfig:
  return objects_dataset.make_config(**{
      "image_size": IMAGE_SIZE, "azimuths": AZIMUTHS,
      "elevations": ELEVATIONS, "lights": LIGHTS, **overrides})


def prepare(data_dir, manual_dir, **overrides):
  built = objects_dataset.builder(config(**overrides), str(data_dir),
                                  str(manual_dir))
  built.download_and_prepare()
  return built


def records(built, split: str) -> dict:
  return {(example["object_name"].decode(), int(example["azimuth_class"]),
           int(example["elevation_class"]), int(example["light_class"])):
          example for example in built.as_dataset(
              split=split, shuffle_files=False).as_numpy_iterator()}


def images_close(first: np.ndarray, second: np.ndarray) -> bool:
  """Equal but for a few anti-aliased edge pixels (float rounding)."""
  difference = np.abs(first.astype(int) - second.astype(int))
  return np.mean(difference) < 1.0 and np.mean(difference > 8) < 0.02


def files_under(path) -> list:
  return [os.path.join(root, name) for root, _, names in os.walk(str(path))
          for name in names]


@pytest.fixture(scope="module")
def manual_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp("meshes")
  write_objects(folder)
  return folder


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, manual_dir):
  return prepare(tmp_path_factory.mktemp("tfds"), manual_dir)


@pytest.fixture(scope="module")
def examples(prepared):
  return {**records(prepared, "train"), **records(prepared, "test")}


def test_one_record_per_object_and_view_with_labels(examples):
  assert len(examples) == len(NAMES) * VIEWS
  for (name, a, e, l), example in examples.items():
    assert example["object"] == NAMES.index(name)
    assert example["azimuth"] == pytest.approx(90.0 * a)
    assert example["elevation"] == ELEVATIONS[e]
    assert example["light"] == LIGHTS[l]
    image = example["image"]
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 1)
    assert image.dtype == np.uint8
    # The object is visible, lit, and whole: the border stays background.
    assert np.count_nonzero(image) > 20, (name, a, e, l)
    assert image.max() > 100
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    assert not border.any(), (name, a, e, l)


def test_object_is_centred(examples):
  image = examples[("box", 0, 0, 0)]["image"][:, :, 0] > 0
  rows, cols = np.nonzero(image)
  centre = (IMAGE_SIZE - 1) / 2
  # The box is symmetric about its centre at azimuth 0, elevation 0.
  assert np.mean(rows) == pytest.approx(centre, abs=0.5)
  assert np.mean(cols) == pytest.approx(centre, abs=0.5)


def test_scale_and_position_in_the_file_do_not_matter(examples):
  for (name, a, e, l), example in examples.items():
    if name == "box":
      assert images_close(example["image"],
                          examples[("box_big", a, e, l)]["image"]), (a, e, l)


def test_azimuth_turns_the_object(examples):
  for e in range(len(ELEVATIONS)):
    for l in range(len(LIGHTS)):
      assert not images_close(examples[("box", 0, e, l)]["image"],
                              examples[("box", 1, e, l)]["image"])
      # Azimuth 90 shows the box as turning it by 90 in the file does.
      assert images_close(examples[("box", 1, e, l)]["image"],
                          examples[("box_turned", 0, e, l)]["image"])


def test_elevation_and_light_change_the_image(examples):
  base = examples[(NESTED, 0, 0, 0)]["image"]
  assert not np.array_equal(base, examples[(NESTED, 0, 1, 0)]["image"])
  assert not np.array_equal(base, examples[(NESTED, 0, 0, 1)]["image"])


def test_features_keys_and_splits_are_by_object(prepared, examples):
  features = prepared.info.features
  assert features["image"].shape == (IMAGE_SIZE, IMAGE_SIZE, 1)
  assert set(features.keys()) == {
      "image", "object", "object_name", "azimuth", "elevation", "light",
      "azimuth_class", "elevation_class", "light_class"}
  expected = objects_dataset.split_objects(NAMES, 0.1)
  assert expected["test"] and expected["train"]
  for split in ("train", "test"):
    names = {key[0] for key in records(prepared, split)}
    assert names == set(expected[split])
    assert prepared.info.splits[split].num_examples == len(names) * VIEWS


def test_rebuild_is_identical(tmp_path, manual_dir, examples):
  again = prepare(tmp_path, manual_dir)
  for split in ("train", "test"):
    for key, example in records(again, split).items():
      for feature, value in example.items():
        np.testing.assert_array_equal(examples[key][feature], value,
                                      err_msg=f"{key} {feature}")


def test_z_up_meshes_are_turned_upright(tmp_path, examples):
  manual = tmp_path / "meshes"
  z_up = np.stack([BOX[:, 0], -BOX[:, 2], BOX[:, 1]], axis=1)
  write_obj(manual, "box", obj_text(z_up, BOX_QUADS))
  built = prepare(tmp_path / "tfds", manual, up_axis="z")
  assert built.builder_config.name != config().name
  # A single object is all train: TFDS cannot write an empty test split.
  assert set(built.info.splits.keys()) == {"train"}
  upright = records(built, "train")
  assert len(upright) == VIEWS
  for key, example in upright.items():
    assert images_close(example["image"], examples[key]["image"]), key


def test_config_name_encodes_settings():
  assert objects_dataset.make_config().name == "64px"
  assert objects_dataset.make_config(32).name == "32px"
  names = {config().name, config(azimuths=5).name, config(lights=(0,)).name,
           config(up_axis="z").name, config(test_fraction=0.2).name}
  assert len(names) == 5
  assert config(elevations=(30, 0)).name == config().name
  assert config(elevations=(30, 0)).elevations == (0.0, 30.0)
  assert objects_dataset.builder(None).builder_config.name == "64px"


@pytest.mark.parametrize("settings, message", [
    ({"image_size": 16}, "image_size"),
    ({"image_size": 64.0}, "image_size"),
    ({"azimuths": 0}, "azimuths"),
    ({"azimuths": True}, "azimuths"),
    ({"elevations": ()}, "elevations"),
    ({"elevations": (0, 0)}, "elevations"),
    ({"elevations": (100,)}, "elevations"),
    ({"lights": (float("nan"),)}, "lights"),
    ({"lights": "0"}, "lights"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"up_axis": "x"}, "up_axis"),
])
def test_bad_settings_are_rejected(settings, message):
  with pytest.raises(ValueError, match=message):
    objects_dataset.make_config(**settings)
  with pytest.raises(ValueError, match=message):
    objects_dataset.builder(settings)


def test_names_are_relative_paths(manual_dir):
  files = objects_dataset.check_manual_dir(str(manual_dir))
  assert tuple(file.name for file in files) == NAMES
  assert files[-1].path == os.path.join(str(manual_dir), *NESTED.split("/")
                                        ) + ".obj"


@pytest.mark.parametrize("contents", ["missing", "no_obj"])
def test_missing_meshes_fail_before_any_work(tmp_path, contents):
  manual = tmp_path / "meshes"
  data_dir = tmp_path / "tfds"
  data_dir.mkdir()
  if contents == "no_obj":
    manual.mkdir()
    (manual / "chair.mtl").write_text("newmtl grey\n")
  message = re.escape(repr(str(manual))) + ".*obj"
  with pytest.raises(ValueError, match=message):
    objects_dataset.check_manual_dir(str(manual))
  built = objects_dataset.builder(config(), str(data_dir), str(manual))
  with pytest.raises(ValueError, match=message):
    built.download_and_prepare()
  assert not os.listdir(data_dir)
  assert not built.is_prepared()


def test_two_files_with_one_object_name_are_rejected(tmp_path):
  write_obj(tmp_path, "chair", obj_text(BOX, BOX_QUADS))
  (tmp_path / "chair.OBJ").write_text(obj_text(BOX, BOX_QUADS))
  with pytest.raises(ValueError, match="'chair'"):
    objects_dataset.check_manual_dir(str(tmp_path))


@pytest.mark.parametrize("text, message", [
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n", "not a readable OBJ"),
    ("v 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "not a readable OBJ"),
    ("f 1 2 3\n", "not a readable OBJ"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "face index"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "face index"),
    ("v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n", "zero extent"),
    ("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "zero extent"),
    ("v 0 0 0\nv 1 0 0\nv 0 nan 0\nf 1 2 3\n", "NaN"),
])
def test_bad_meshes_are_named(tmp_path, text, message):
  path = write_obj(tmp_path, "bad", text)
  with pytest.raises(ValueError, match=re.escape(repr(path)) + ".*" + message):
    object_meshes.load_mesh(path)


def test_bad_mesh_fails_the_build_and_leaves_nothing_readable(tmp_path):
  manual = tmp_path / "meshes"
  write_objects(manual)
  bad = write_obj(manual, "zz/broken", "v 0 0 0\nv 1 0 0\nf 1 2 3\n")
  data_dir = tmp_path / "tfds"
  built = objects_dataset.builder(config(), str(data_dir), str(manual))
  with pytest.raises(ValueError, match=re.escape(repr(bad))):
    built.download_and_prepare()
  assert not built.is_prepared()
  assert not any("tfrecord" in f for f in files_under(data_dir))
  again = objects_dataset.builder(config(), str(data_dir), str(manual))
  assert not again.is_prepared()
