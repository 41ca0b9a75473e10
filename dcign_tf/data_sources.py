"""The data a run trains on: one small class per source, in a registry.

A run's `dataset` setting names its source: the built-in rendered faces
(with the built-in head or any face model), or a labelled dataset the user
has. Each source knows its factors, its splits, which latents its factors
take, whether it has a rendered factor grid (for DCI and MIG), how to build
training batches and evaluation groups, and what an export records so the
images can be drawn again without the model dir. The task, the trainer, the
evaluator and the exports reach data only through `source_for(config)`, so
no code elsewhere asks which dataset a run uses.

`config` is a `train_config.TrainConfig` (or anything with its fields); a
source reads only its data settings.

  faces      rendered groups (`groups`, `pipeline`, `faces_dataset`), live
             or prepared; factors azimuth, elevation, light, identity
  npz        any .npz in the dSprites layout (`npz_files.load_npz`), factor
             names from the file or given; its test split holds out whole
             combinations of the intrinsic factors (`held_out`)
  chairs     the 3D chairs of Aubry et al. (`chairs_dataset`), prepared from
             the manual-download folder; split by chair
  objects    a folder of OBJ meshes (`objects_dataset`), rendered at a grid
             of azimuths, elevations and lights; split by object
  smallnorb, shapes3d, dsprites
             TFDS's own builders (`tfds_sources`), prepared offline from the
             original files; smallNORB has its own test split (by
             instance), Shapes3D and dSprites are held out like npz
"""

import os
from typing import Optional

import numpy as np

from dcign_tf.data import chairs_dataset
from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups
from dcign_tf.data import held_out
from dcign_tf.data import labelled
from dcign_tf.data import npz_files
from dcign_tf.data import objects_dataset
from dcign_tf.data import pipeline
from dcign_tf.data import render_pool
from dcign_tf.data import labelled_source
from dcign_tf.data import tfds_sources

# --dataset value -> its DataSource class, in the order users see them.
REGISTRY = {}
# Settings that only the rendered faces use, with the value that means
# "not used".
RENDERING_ONLY = (("data", "live"), ("live_reuse", 1),
                  ("range_warmup_steps", 0), ("mirror_odd_factors", ()))


def register(cls):
  """Class decorator: makes `cls` the source of `--dataset=cls.name`."""
  if cls.name in REGISTRY:
    raise ValueError(f"A source named {cls.name!r} is already registered.")
  REGISTRY[cls.name] = cls
  return cls


def names() -> tuple:
  return tuple(REGISTRY)


def source_for(config) -> "DataSource":
  """The source of `config.dataset`; nothing is read yet."""
  if config.dataset not in REGISTRY:
    raise ValueError(f"Unknown dataset {config.dataset!r}; allowed: "
                     f"{', '.join(REGISTRY)}.")
  return REGISTRY[config.dataset](config)


class DataSource:
  """What a run needs of its data. Subclasses set the class attributes
  and implement the methods that raise NotImplementedError."""

  name = ""
  # Rendered by dcign_tf's own engine with known continuous factors: the
  # full faces evaluation (calibration in degrees, novel views, identity
  # retrieval, the factor grid) applies.
  rendered = False
  # Can give 3-channel images.
  colour = False

  def __init__(self, config):
    self.config = config

  def check(self):
    """Raises ValueError naming the first data setting that cannot work,
    before anything is written. May read the data (cached)."""
    if self.config.channels == 3 and not self.colour:
      colour = [n for n, c in REGISTRY.items() if c.colour]
      raise ValueError(f"--channels=3: --dataset={self.name} gives grayscale "
                       f"images; colour needs a colour source "
                       f"({', '.join(colour)}).")

  @property
  def designated(self) -> tuple:
    """The factors that get a latent, in slot order."""
    raise NotImplementedError

  @property
  def slots(self) -> tuple:
    """The model's factor slots the designated factors take."""
    return factors.FACTORS[:len(self.designated)]

  def factor_latents(self) -> dict:
    """Model slot -> its latents: designated factor i is z(i + 1) (for the
    faces, the paper's z1-z3 for azimuth, elevation and light)."""
    return {slot: (index,) for index, slot in enumerate(self.slots)}

  def display_names(self) -> dict:
    """Model slot -> the factor's name in the dataset."""
    return dict(zip(self.slots, self.designated))

  def describe(self) -> Optional[str]:
    """A line for the run's log about what the data holds, or None."""
    return None

  def train_dataset(self, first_step: int = 0,
                    sharding: pipeline.Sharding = pipeline.Sharding()):
    """Grouped training batches from `first_step` on (batch n is the same
    whether a run started at 0 or resumed at n)."""
    raise NotImplementedError

  def evaluation_groups(self, groups_per_type: int, seed: int,
                        split: str = "test") -> dict:
    """Groups of `split` as arrays: images float [M, S, S, C], group_type
    [M] (model types), group_id [M] and each designated slot's label [M].
    "train" groups serve calibrations."""
    raise NotImplementedError

  def record(self) -> dict:
    """The settings an export keeps to read these images again (see
    `train_config.config_from_dict`)."""
    raise NotImplementedError


@register
class RenderedFaces(DataSource):
  """The built-in faces: groups rendered from a face model (the built-in
  head or the user's), live or prepared as the `dcign_faces` dataset."""

  name = "faces"
  rendered = True
  factor_names = factors.FACTORS + ("identity",)
  designated = factors.FACTORS

  def check(self):
    super().check()
    config = self.config
    factors.check_ratio_against_ranges(factors.parse_ratio(config.ratio),
                                       config.ranges)
    # Loaded now (and cached), so that a face model that cannot be read is
    # refused before the run writes anything.
    self.group_source().model()
    if config.grid_identities < 2 or config.grid_bins < 2:
      raise ValueError("The factor grid needs grid_identities >= 2 and "
                       f"grid_bins >= 2, got {config.grid_identities} and "
                       f"{config.grid_bins}.")

  def group_source(self) -> groups.GroupSource:
    config = self.config
    return groups.GroupSource(face_model=config.face_model,
                              image_size=config.image_size,
                              group_size=config.group_size,
                              ranges=config.ranges, seed=config.data_seed)

  def dataset_builder(self):
    """The `dcign_faces` TFDS builder of these settings."""
    config = self.config
    dataset_config = faces_dataset.make_config(
        image_size=config.image_size, group_size=config.group_size,
        train_groups_per_type=config.train_groups_per_type,
        test_groups_per_type=config.test_groups_per_type,
        face_model=config.face_model, ranges=config.ranges,
        seed=config.data_seed)
    return faces_dataset.builder(dataset_config, config.data_dir,
                                 num_workers=config.workers or None)

  def range_warmup(self) -> Optional[pipeline.RangeWarmup]:
    config = self.config
    if not config.range_warmup_steps:
      return None
    return pipeline.RangeWarmup(config.warmup_ranges or config.ranges,
                                config.range_warmup_steps)

  def train_dataset(self, first_step=0, sharding=pipeline.Sharding()):
    config = self.config
    if config.data == "prepared":
      builder = self.dataset_builder()
      if not builder.is_prepared():
        builder.download_and_prepare()
      return pipeline.prepared_dataset(builder, "train", config.ratio,
                                       config.groups_per_batch,
                                       seed=config.seed,
                                       first_step=first_step,
                                       sharding=sharding)
    workers = config.workers or max(1, (os.cpu_count() or 2) // 2)
    return pipeline.live_dataset(self.group_source(), config.ratio,
                                 config.groups_per_batch, seed=config.seed,
                                 num_workers=workers,
                                 range_warmup=self.range_warmup(),
                                 first_step=first_step,
                                 reuse=config.live_reuse, sharding=sharding)

  def evaluation_groups(self, groups_per_type, seed=0, split="test",
                        progress=None):
    # Rendered whether the training data is live or prepared: a GroupSource
    # decides every pixel of a group, so these are the prepared split's
    # groups. The seed is the data's own (data_seed); test groups carry
    # their foreground coverage, which the foreground scores need.
    del seed
    with render_pool.worker_pool(self.config.workers or None) as pool:
      return groups.render_groups(self.group_source(), split,
                                  groups_per_type, pool, progress,
                                  with_coverage=split == "test")

  def record(self) -> dict:
    config = self.config
    return {"face_model": config.face_model, "image_size": config.image_size,
            "group_size": config.group_size,
            "ranges": config.ranges.to_dict(), "data_seed": config.data_seed}


class LabelledDataSource(DataSource):
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
  # The TrainConfig settings that locate and shape a labelled source.
  RECORD_SETTINGS = ("dataset", "dataset_path", "designated", "factor_names",
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
    for name, unused in RENDERING_ONLY:
      value = getattr(self.config, name)
      if value != unused:
        raise ValueError(f"{name}={value!r} applies to the rendered faces, "
                         f"not --dataset={self.name}.")
    if self.path_needs and not self.config.dataset_path:
      raise ValueError(f"--dataset={self.name} needs --dataset_path (the "
                       f"{self.path_needs}).")

  def load(self) -> labelled_source.LabelledSource:
    """Reads the images and indexes their groups (once); every check (path,
    factor names, sizes, whether the ratio's group types can be formed)
    happens here, before training."""
    if self._data is not None:
      return self._data
    config = self.config
    if self.path_needs and not config.dataset_path:
      raise ValueError(f"--dataset={self.name} needs --dataset_path (the "
                       f"{self.path_needs}).")
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

  def images(self, split: str) -> np.ndarray:
    """Every image of `split`, uint8 [N, S, S, C]."""
    data = self.load()
    return data.train_images if split == "train" else data.test_images

  def record(self) -> dict:
    return {key: getattr(self.config, key) for key in self.RECORD_SETTINGS}


@register
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


@register
class ChairsSource(_BuiltSource):
  name = "chairs"
  factor_names = ("chair", "azimuth", "elevation")
  path_needs = ("manual-download folder holding rendered_chairs.tar or "
                "rendered_chairs/")
  module = chairs_dataset
  label_keys = ("chair", "azimuth_class", "elevation_class")


@register
class ObjectsSource(_BuiltSource):
  name = "objects"
  factor_names = ("object", "azimuth", "elevation", "light")
  path_needs = "folder of OBJ meshes"
  module = objects_dataset
  label_keys = ("object", "azimuth_class", "elevation_class", "light_class")

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


@register
class SmallNorbSource(_TfdsSource):
  name = "smallnorb"


@register
class Shapes3dSource(_TfdsSource):
  name = "shapes3d"
  has_test_split = False


@register
class DspritesSource(_TfdsSource):
  name = "dsprites"
  has_test_split = False


assert set(tfds_sources.NAMES) <= set(REGISTRY), tfds_sources.NAMES
