"""Tests for dcign_tf.data_sources: the registry and each source's
contract (factors, latents, records, checks), on fixture files in the real
formats."""

import numpy as np
import pytest

from dcign_tf import data_sources
from dcign_tf import train_config
from dcign_tf.data import factors
from dcign_tf.data import tfds_sources


def test_every_dataset_flag_value_has_a_source():
  assert data_sources.names()[0] == "faces"
  assert set(data_sources.names()) == {
      "faces", "npz", "chairs", "objects", *tfds_sources.NAMES}
  assert train_config.DATASETS == data_sources.names()
  for name, cls in data_sources.REGISTRY.items():
    assert cls.name == name
    assert issubclass(cls, data_sources.DataSource)


def test_an_unknown_dataset_is_refused_naming_the_allowed(tiny_config,
                                                          tmp_path):
  with pytest.raises(ValueError, match=r"Unknown dataset 'mnist'; allowed: "
                     r"faces, npz, chairs"):
    data_sources.source_for(tiny_config(tmp_path, dataset="mnist"))


def test_a_name_cannot_be_registered_twice():
  with pytest.raises(ValueError, match="'faces' is already registered"):

    @data_sources.register
    class _Again(data_sources.DataSource):  # pylint: disable=unused-variable
      name = "faces"

  assert data_sources.REGISTRY["faces"] is data_sources.RenderedFaces


def test_faces_take_the_papers_first_three_latents(tiny_config, tmp_path):
  source = data_sources.source_for(tiny_config(tmp_path))
  assert isinstance(source, data_sources.RenderedFaces)
  assert source.rendered
  assert source.factor_latents() == {"azimuth": (0,), "elevation": (1,),
                                     "light": (2,)}
  assert source.display_names() == {f: f for f in factors.FACTORS}


def test_faces_record_rebuilds_the_same_groups(tiny_config, tmp_path):
  config = tiny_config(tmp_path, data_seed=3, ranges=factors.FactorRanges(
      azimuth=(-45.0, 45.0)))
  source = data_sources.source_for(config)
  record = source.record()
  assert set(record) == {"face_model", "image_size", "group_size", "ranges",
                         "data_seed"}
  again = data_sources.source_for(train_config.config_from_dict(
      {**record, "model_dir": ""}))
  first = source.evaluation_groups(1, 0, "train")
  second = again.evaluation_groups(1, 0, "train")
  np.testing.assert_array_equal(first["images"], second["images"])
  assert first["azimuth"].min() >= -45 and first["azimuth"].max() <= 45
  # The test split carries the foreground coverage the scores need.
  assert "coverage" in source.evaluation_groups(1, 0, "test")
  assert "coverage" not in first


def test_faces_check_refuses_a_one_bin_grid(tiny_config, tmp_path):
  with pytest.raises(ValueError, match="grid_bins >= 2, got 2 and 1"):
    data_sources.source_for(tiny_config(tmp_path, grid_bins=1)).check()


def _npz_config(tiny_config, tmp_path, path, **overrides):
  settings = dict(dataset="npz", dataset_path=path,
                  designated=("orientation", "position_x"))
  settings.update(overrides)
  return tiny_config(tmp_path, **settings)


def test_a_labelled_source_gives_designated_factors_their_slots(
    tiny_config, tmp_path, dsprites_npz):
  source = data_sources.source_for(_npz_config(tiny_config, tmp_path,
                                               dsprites_npz))
  assert not source.rendered
  assert source.slots == ("azimuth", "elevation")
  assert source.factor_latents() == {"azimuth": (0,), "elevation": (1,)}
  assert source.display_names() == {"azimuth": "orientation",
                                     "elevation": "position_x"}
  assert "npz groups (usable combinations per type)" in source.describe()


def test_labelled_evaluation_groups_vary_one_designated_factor(
    tiny_config, tmp_path, dsprites_npz):
  source = data_sources.source_for(_npz_config(tiny_config, tmp_path,
                                               dsprites_npz))
  data = source.evaluation_groups(2, seed=0)
  assert data["images"].shape[1:] == (32, 32, 1)
  assert data["images"].dtype == np.float32 and data["images"].max() == 1.0
  for group in np.unique(data["group_id"]):
    members = data["group_id"] == group
    group_type = int(data["group_type"][members][0])
    varying = {slot for slot in source.slots
               if len(set(data[slot][members])) > 1}
    if group_type == int(factors.GroupType.AZIMUTH):
      assert varying == {"azimuth"}  # orientation
    elif group_type == int(factors.GroupType.ELEVATION):
      assert varying == {"elevation"}  # position_x
    else:
      assert group_type == int(factors.GroupType.INTRINSIC)
      assert not varying


def test_labelled_record_reads_the_same_images_again(tiny_config, tmp_path,
                                                     dsprites_npz):
  source = data_sources.source_for(_npz_config(tiny_config, tmp_path,
                                               dsprites_npz))
  record = source.record()
  assert record["dataset"] == "npz"
  again = data_sources.source_for(train_config.config_from_dict(
      {**record, "model_dir": ""}))
  assert again.designated == ("orientation", "position_x")
  np.testing.assert_array_equal(again.images("train"),
                                source.images("train"))
  # An npz has no test split of its own: whole shapes are held out (the
  # fixture's squares differ in height by shape, so no test image is a
  # training image).
  train, test = source.images("train"), source.images("test")
  assert len(train) == len(test) == 24
  heights = lambda images: {int(i[..., 0].any(axis=1).sum()) for i in images}
  assert not heights(train) & heights(test)


@pytest.mark.parametrize("name, value", data_sources.RENDERING_ONLY)
def test_rendering_settings_are_refused_for_labelled_sources(
    tiny_config, tmp_path, dsprites_npz, name, value):
  changed = {"data": "prepared", "live_reuse": 2, "range_warmup_steps": 5,
             "mirror_odd_factors": ("azimuth",)}[name]
  assert changed != value
  config = _npz_config(tiny_config, tmp_path, dsprites_npz,
                       **{name: changed})
  with pytest.raises(ValueError, match=f"{name}=.* applies to the rendered "
                     "faces, not --dataset=npz"):
    data_sources.source_for(config).check()


@pytest.mark.parametrize("dataset, needs", [
    ("npz", ".npz file"), ("chairs", "rendered_chairs.tar"),
    ("objects", "folder of OBJ meshes")])
def test_a_source_that_needs_a_path_says_so(tiny_config, tmp_path, dataset,
                                            needs):
  config = tiny_config(tmp_path, dataset=dataset, designated=("azimuth",))
  with pytest.raises(ValueError, match=f"--dataset={dataset} needs "
                     f"--dataset_path .*{needs}"):
    data_sources.source_for(config).check()


def test_colour_is_offered_only_by_colour_sources(tiny_config, tmp_path,
                                                  dsprites_npz):
  colour = [n for n, c in data_sources.REGISTRY.items() if c.colour]
  assert "faces" not in colour and "npz" in colour
  with pytest.raises(ValueError, match=r"--dataset=faces gives grayscale "
                     r"images; colour needs a colour source \(npz"):
    data_sources.source_for(tiny_config(tmp_path, channels=3)).check()
  config = _npz_config(tiny_config, tmp_path, dsprites_npz, channels=3)
  source = data_sources.source_for(config)
  source.check()
  assert source.images("train").shape[-1] == 3


def test_a_labelled_source_is_read_once(tiny_config, tmp_path, dsprites_npz,
                                        monkeypatch):
  source = data_sources.source_for(_npz_config(tiny_config, tmp_path,
                                               dsprites_npz))
  calls = []
  read = source.read
  monkeypatch.setattr(source, "read", lambda: calls.append(1) or read())
  first = source.load()
  assert source.load() is first
  source.evaluation_groups(1, 0)
  assert calls == [1]


def test_a_ratio_the_labels_cannot_form_is_refused_on_load(
    tiny_config, tmp_path, dsprites_npz):
  # The fixture has one scale, so no group can vary it.
  config = _npz_config(tiny_config, tmp_path, dsprites_npz,
                       designated=("orientation", "scale"))
  with pytest.raises(ValueError, match=f"The train images of {dsprites_npz}"):
    data_sources.source_for(config).load()


def test_a_registered_source_trains_and_is_scored_by_its_names(
    tiny_config, tmp_path, monkeypatch):
  from dcign_tf import trainer  # pylint: disable=import-outside-toplevel

  class Bars(data_sources.LabelledDataSource):
    """A bar whose height and brightness are the labels."""

    name = "bars"

    def read(self):
      labels = np.array([(h, b) for h in range(4) for b in range(3)])
      images = np.zeros((len(labels), 32, 32, 1), np.uint8)
      for image, (height, brightness) in zip(images, labels):
        image[4:8 + 6 * height, 12:20] = 80 + 80 * brightness
      return images, labels, images, labels, ("height", "brightness")

  monkeypatch.setitem(data_sources.REGISTRY, "bars", Bars)
  metrics = trainer.run(tiny_config(tmp_path / "run", dataset="bars",
                                    designated=("height",), ratio="1:0:0:1"),
                        verbose=0)
  assert metrics["steps"] == 2 and metrics["dataset"] == "bars"
  assert set(metrics["factors"]) == {"height"}
  assert metrics["factors"]["height"]["latent"] == 0
  assert (tmp_path / "run" / "sweep_height.png").exists()


def test_sources_declare_their_wrapping_azimuths(tiny_config, tmp_path):
  chairs = data_sources.source_for(tiny_config(
      tmp_path, dataset="chairs", designated=("azimuth",),
      dataset_path=str(tmp_path)))
  assert chairs.circular_slots() == {"azimuth": 31}
  objects = data_sources.source_for(tiny_config(
      tmp_path, dataset="objects", designated=("elevation", "azimuth"),
      object_azimuths=12, dataset_path=str(tmp_path)))
  # The designated azimuth takes the second slot.
  assert objects.circular_slots() == {"elevation": 12}
  norb = data_sources.source_for(tiny_config(
      tmp_path, dataset="smallnorb", designated=("azimuth",)))
  assert norb.circular_slots() == {"azimuth": 18}
  assert data_sources.source_for(tiny_config(tmp_path)).circular_slots() == {}


def test_declared_circular_factors_are_checked(tiny_config, tmp_path,
                                               dsprites_npz):
  source = data_sources.source_for(_npz_config(
      tiny_config, tmp_path, dsprites_npz,
      circular_factors=("orientation:4",)))
  source.check()
  assert source.circular_slots() == {"azimuth": 4.0}
  for entry, message in (("orientation", "must be NAME:PERIOD"),
                         ("orientation:-2", "must be NAME:PERIOD"),
                         ("shape:4", "'shape', which is not a designated")):
    with pytest.raises(ValueError, match=message):
      data_sources.source_for(_npz_config(
          tiny_config, tmp_path, dsprites_npz,
          circular_factors=(entry,))).check()
  # Labels 0..3 span 3 units: a period of 3 cannot hold them in one turn.
  with pytest.raises(ValueError, match="circular factor 'orientation' of "
                     "--dataset=npz: The labels span 3 units"):
    data_sources.source_for(_npz_config(
        tiny_config, tmp_path, dsprites_npz,
        circular_factors=("orientation:3",))).load()
  with pytest.raises(ValueError, match="applies to labelled sources"):
    data_sources.source_for(tiny_config(
        tmp_path, circular_factors=("azimuth:360",))).check()


@pytest.mark.parametrize("training", ["gvae", "ada_gvae"])
def test_weak_supervision_needs_groups_that_share_a_factor(
    tiny_config, tmp_path, training):
  # One factor only: a group of it shares nothing with itself.
  path = tmp_path / "one.npz"
  imgs = np.zeros((6, 32, 32), np.uint8)
  for i, image in enumerate(imgs):
    image[:, 4 * i:4 * i + 4] = 1
  np.savez(path, imgs=imgs, latents_classes=np.arange(6)[:, None])
  config = tiny_config(tmp_path, dataset="npz", dataset_path=str(path),
                       factor_names=("x",), designated=("x",),
                       training=training, ratio="1:0:0:0")
  with pytest.raises(ValueError, match=f"--training={training} averages "
                     "what a group's images share, but in .* only x varies"):
    data_sources.source_for(config).load()
