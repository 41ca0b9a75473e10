"""Labelled datasets a user has: fixed sets of labelled images from which
groups are selected (npz, 3D chairs, OBJ objects, smallNORB, Shapes3D,
dSprites)."""

import numpy as np

from dcign_tf import circular
from dcign_tf.data import chairs_dataset
from dcign_tf.data import chairs_files
from dcign_tf.data import held_out
from dcign_tf.data import label_grid
from dcign_tf.data import labelled
from dcign_tf.data import labelled_source
from dcign_tf.data import npz_files
from dcign_tf.data import objects_dataset
from dcign_tf.data import pipeline
from dcign_tf.data import tfds_sources
from dcign_tf.data_sources import base

class LabelledDataSource(base.DataSource):
  """A fixed set of labelled images from which groups are selected
  (`labelled.LabelledGroups`). The designated factors take the model's
  slots in order: the first is z1 (the "azimuth" slot), then z2, z3;
  every other factor is intrinsic."""

  # Its factors, when fixed (npz files name their own).
  factor_names = ()
  # --dataset_path is required and names this.
  path_needs = ""
  # Whether the data has a test split of its own; if not, whole
  # combinations of the intrinsic factors are held out as the test split
  # (`held_out.split`).
  has_test_split = True
  # Factor -> period (label units per turn) of the factors the source
  # knows to be angles that wrap.
  circular_periods = {}
  # The TrainConfig settings that locate and shape a labelled source.
  RECORD_SETTINGS = ("dataset", "dataset_path", "designated", "factor_names",
                     "circular_factors",
                     "image_size", "group_size", "channels", "data_dir",
                     "ratio", "object_azimuths", "object_elevations",
                     "object_lights", "object_up_axis")

  def __init__(self, config):
    super().__init__(config)
    self._data = None

  @property
  def designated(self) -> tuple:
    return tuple(self.config.designated)

  def read(self):
    """(train_images, train_labels, test_images, test_labels, factor
    names): images uint8 [N, S, S, C], labels int [N, F]."""
    raise NotImplementedError

  def check(self):
    super().check()
    for name, unused in base.RENDERING_ONLY:
      value = getattr(self.config, name)
      if value != unused:
        raise ValueError(f"{name}={value!r} applies to the rendered faces, "
                         f"not --dataset={self.name}.")
    self._check_path()
    self.declared_circular()

  def _check_path(self):
    if self.path_needs and not self.config.dataset_path:
      raise ValueError(f"--dataset={self.name} needs --dataset_path (the "
                       f"{self.path_needs}).")

  def declared_circular(self) -> dict:
    """Factor -> period: the source's own circular factors and the
    `circular_factors` setting's ("name:period"); raises ValueError naming
    an entry that is not a designated factor with a positive period."""
    periods = dict(self.circular_periods)
    for entry in self.config.circular_factors:
      name, _, period = str(entry).partition(":")
      try:
        value = float(period)
      except ValueError:
        value = 0.0
      if not value > 0:
        raise ValueError(f"circular_factors entry {entry!r} must be "
                         "NAME:PERIOD with a period > 0 in label units, e.g. "
                         "orientation:40.")
      if name not in self.designated:
        raise ValueError(f"circular_factors names {name!r}, which is not a "
                         "designated factor; allowed: "
                         f"{', '.join(self.designated)}.")
      periods[name] = value
    return periods

  def circular_slots(self) -> dict:
    periods = self.declared_circular()
    return {slot: periods[name] for slot, name in zip(self.slots,
                                                       self.designated)
            if name in periods}

  def load(self) -> labelled_source.LabelledSource:
    """Reads the images and indexes their groups (once); every check (path,
    factor names, sizes, whether the ratio's group types can be formed)
    happens here, before training."""
    if self._data is not None:
      return self._data
    config = self.config
    self._check_path()
    train_images, train_labels, test_images, test_labels, names = self.read()
    designated = labelled_source.check_designated(config.designated, names)
    if not self.has_test_split:
      # One set of images: hold out whole objects (held_out.split), so the
      # test scores are out of sample.
      train, test = held_out.split(train_labels, names, designated)
      test_images, test_labels = train_images[test], train_labels[test]
      train_images, train_labels = train_images[train], train_labels[train]
    groups_of = {
        key: labelled.LabelledGroups(labels, names, designated,
                                     config.group_size)
        for key, labels in (("train", train_labels), ("test", test_labels))}
    data = labelled_source.LabelledSource(self.name, tuple(names), designated,
                                  train_images, groups_of["train"],
                                  test_images, groups_of["test"])
    varying = [name for name, column in zip(names, train_labels.T)
               if len(np.unique(column)) > 1]
    if config.training in ("gvae", "ada_gvae") and len(varying) < 2:
      raise ValueError(
          f"--training={config.training} averages what a group's images "
          f"share, but in {config.dataset_path} only "
          f"{', '.join(varying) or 'no factor'} varies: its groups share "
          "no factor. Use --training=dcign or vae, or a dataset with more "
          "factors.")
    for name, period in self.declared_circular().items():
      try:
        circular.labels_to_radians(train_labels[:, names.index(name)],
                                   period)
      except ValueError as error:
        raise ValueError(f"The circular factor {name!r} of --dataset="
                         f"{self.name}: {error}") from None
    for key in ("train", "test"):
      try:
        groups_of[key].check_ratio(data.weights(config.ratio))
      except ValueError as error:
        raise ValueError(f"The {key} images of {config.dataset_path}: "
                         f"{error}") from None
    self._data = data
    return data

  def describe(self):
    data = self.load()
    return (f"{self.name} groups (usable combinations per type): train "
            f"{data.train_groups.describe()}; test "
            f"{data.test_groups.describe()}.")

  def train_dataset(self, first_step=0, sharding=pipeline.Sharding()):
    data, config = self.load(), self.config
    return pipeline.labelled_dataset(
        data.train_images, data.train_groups, data.weights(config.ratio),
        config.groups_per_batch, seed=config.seed, first_step=first_step,
        sharding=sharding, slots=data.slots)

  def evaluation_groups(self, groups_per_type, seed=0, split="test"):
    return labelled_source.evaluation_groups(self.load(), groups_per_type, seed,
                                     split)

  def grid(self):
    """(label_grid.LabelGrid, None) over the train and test images
    together (rows count the training images first), or (None, why not):
    the whole dataset is the simulator the grid metrics sample from."""
    data = self.load()
    return label_grid.index(
        np.concatenate([data.train_groups.labels, data.test_groups.labels]),
        data.factor_names)

  def image_rows(self, rows: np.ndarray) -> np.ndarray:
    """uint8 images at `rows` of the train images followed by the test
    images (as `grid` numbers them), without joining the two arrays."""
    data = self.load()
    rows = np.asarray(rows)
    train = len(data.train_images)
    out = np.empty((len(rows),) + data.train_images.shape[1:], np.uint8)
    in_train = rows < train
    out[in_train] = data.train_images[rows[in_train]]
    out[~in_train] = data.test_images[rows[~in_train] - train]
    return out

  def images(self, split: str) -> np.ndarray:
    """Every image of `split`, uint8 [N, S, S, C]."""
    data = self.load()
    return data.train_images if split == "train" else data.test_images

  def record(self) -> dict:
    return {key: getattr(self.config, key) for key in self.RECORD_SETTINGS}


@base.register
class NpzSource(LabelledDataSource):
  name = "npz"
  colour = True
  path_needs = ".npz file"
  has_test_split = False

  def read(self):
    config = self.config
    images, labels, names = npz_files.load_npz(
        config.dataset_path, factor_names=tuple(config.factor_names) or None,
        channels=config.channels)
    if images.shape[1] != config.image_size:
      images = npz_files.resize_square(images, config.image_size)
    return images, labels, images, labels, names


class _BuiltSource(LabelledDataSource):
  """A source dcign_tf prepares as a TFDS dataset from the user's files,
  with train and test splits; `label_keys` are its records' label
  features, in the order of `factor_names`."""

  module = None
  label_keys = ()

  def settings(self) -> dict:
    return {"image_size": self.config.image_size}

  def read(self):
    builder = self.module.builder(self.settings(),
                                  data_dir=self.config.data_dir,
                                  manual_dir=self.config.dataset_path)
    if not builder.is_prepared():
      builder.download_and_prepare()
    split = []
    for name in ("train", "test"):
      records = list(builder.as_dataset(split=name, shuffle_files=False)
                     .as_numpy_iterator())
      split += [np.stack([r["image"] for r in records]),
                np.array([[r[key] for key in self.label_keys]
                          for r in records])]
    return (*split, self.factor_names)


@base.register
class ChairsSource(_BuiltSource):
  name = "chairs"
  factor_names = ("chair", "azimuth", "elevation")
  path_needs = ("manual-download folder holding rendered_chairs.tar or "
                "rendered_chairs/")
  module = chairs_dataset
  label_keys = ("chair", "azimuth_class", "elevation_class")
  circular_periods = {"azimuth": chairs_files.NUM_AZIMUTHS}


@base.register
class ObjectsSource(_BuiltSource):
  name = "objects"
  factor_names = ("object", "azimuth", "elevation", "light")
  path_needs = "folder of OBJ meshes"
  module = objects_dataset
  label_keys = ("object", "azimuth_class", "elevation_class", "light_class")

  @property
  def circular_periods(self):
    # The azimuths are evenly spaced over the whole turn.
    return {"azimuth": self.config.object_azimuths}

  def settings(self) -> dict:
    config = self.config
    return {"image_size": config.image_size,
            "azimuths": config.object_azimuths,
            "elevations": config.object_elevations,
            "lights": config.object_lights, "up_axis": config.object_up_axis}


class _TfdsSource(LabelledDataSource):
  """One of TFDS's own builders, prepared offline from the original files
  in the manual folder (`--dataset_path`), or already prepared in the
  TFDS data dir."""

  colour = True

  def _split(self, split):
    config = self.config
    return tfds_sources.load_tfds(
        self.name, data_dir=config.data_dir, manual_dir=config.dataset_path,
        split=split, channels=config.channels, image_size=config.image_size)

  def read(self):
    train_images, train_labels, names = self._split("train")
    if not self.has_test_split:
      return train_images, train_labels, train_images, train_labels, names
    test_images, test_labels, _ = self._split("test")
    return train_images, train_labels, test_images, test_labels, names


@base.register
class SmallNorbSource(_TfdsSource):
  name = "smallnorb"
  # 18 azimuths, 20 degrees apart.
  circular_periods = {"azimuth": 18}


@base.register
class Shapes3dSource(_TfdsSource):
  name = "shapes3d"
  has_test_split = False


@base.register
class DspritesSource(_TfdsSource):
  name = "dsprites"
  has_test_split = False


assert set(tfds_sources.NAMES) <= set(base.REGISTRY), tfds_sources.NAMES
