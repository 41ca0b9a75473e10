"""Labelled datasets a user has, as DC-IGN training and test groups.

The built-in faces are rendered group by group (`groups`, `pipeline`);
these sources are fixed sets of labelled images from which groups are
selected (`labelled.LabelledGroups`):

  npz     any .npz in the dSprites layout (`imgs`, `latents_classes`; see
          `npz_files.load_npz`), factor names from the file's layout or
          given; it has no test split, so test groups are drawn from the
          same images with another seed
  chairs  the 3D chairs of Aubry et al. (`chairs_dataset`), prepared from
          the manual-download folder; factors chair, azimuth, elevation;
          train and test split by chair
  objects a folder of OBJ meshes the user has (`objects_dataset`), rendered
          by dcign_tf at a grid of azimuths, elevations and lights; factors
          object, azimuth, elevation, light; train and test split by object
  smallnorb, shapes3d, dsprites
          TFDS's own builders (`tfds_sources`), prepared offline from the
          original files in the manual folder (or already prepared in the
          TFDS data dir); smallNORB has a test split, the others are
          scored on groups drawn from the same images with another seed

The designated factors (those that get a latent) take the model's factor
slots in order: the first is z1 ("azimuth" slot), then z2 ("elevation"),
z3 ("light"); every other factor is intrinsic.
"""

import dataclasses
from typing import Optional, Sequence

import numpy as np

from dcign_tf.data import chairs_dataset
from dcign_tf.data import factors
from dcign_tf.data import labelled
from dcign_tf.data import npz_files
from dcign_tf.data import objects_dataset
from dcign_tf.data import pipeline
from dcign_tf.data import tfds_sources

KINDS = ("npz", "chairs", "objects") + tfds_sources.NAMES
CHAIRS_FACTORS = ("chair", "azimuth", "elevation")
OBJECTS_FACTORS = ("object", "azimuth", "elevation", "light")


@dataclasses.dataclass
class LabelledSource:
  """Images and their groups, for training and for testing.

  Attributes:
    name: the source kind.
    factor_names: every labelled factor.
    designated: the factors that get a latent, in slot order.
    train_images, test_images: uint8 [N, S, S, C].
    train_groups, test_groups: `labelled.LabelledGroups` over their labels.
  """

  name: str
  factor_names: tuple
  designated: tuple
  train_images: np.ndarray
  train_groups: labelled.LabelledGroups
  test_images: np.ndarray
  test_groups: labelled.LabelledGroups

  @property
  def slots(self) -> tuple:
    return factors.FACTORS[:len(self.designated)]

  def factor_latents(self) -> dict:
    """Model slot -> latent: designated factor i is z(i + 1)."""
    return {slot: (index,) for index, slot in enumerate(self.slots)}

  def weights(self, ratio) -> list:
    """Labelled group-type weights from a 4-way ratio (azimuth : elevation
    : light : intrinsic): designated factor i takes slot i's weight."""
    probabilities = factors.parse_ratio(ratio)
    return [float(probabilities[factors.FACTORS.index(slot)])
            for slot in self.slots] + [
                float(probabilities[factors.GroupType.INTRINSIC])]


def check_designated(designated: Sequence[str], factor_names: Sequence[str]):
  designated = tuple(designated)
  if not 1 <= len(designated) <= len(factors.FACTORS):
    raise ValueError(f"--designated needs 1 to {len(factors.FACTORS)} of "
                     f"the dataset's factors ({', '.join(factor_names)}), "
                     f"got {list(designated)}.")
  unknown = [name for name in designated if name not in factor_names]
  if unknown:
    raise ValueError(f"The dataset has no factor {unknown[0]!r}; its factors "
                     f"are {', '.join(factor_names)}.")
  return designated


def load(kind: str, path: Optional[str], designated: Sequence[str],
         image_size: int, group_size: int,
         factor_names: Sequence[str] = (), data_dir: Optional[str] = None,
         ratio=None, channels: int = 1,
         render_grid: Optional[dict] = None) -> LabelledSource:
  """Reads a labelled source and indexes its groups; every check (path,
  factor names, sizes, whether the ratio's group types can be formed)
  happens here, before training. `render_grid` holds the objects
  builder's view settings (azimuths, elevations, lights, up_axis; see
  `objects_dataset.make_config`)."""
  if kind not in KINDS:
    raise ValueError(f"Unknown dataset {kind!r}; allowed: faces, "
                     f"{', '.join(KINDS)}.")
  if not path and kind in ("npz", "chairs", "objects"):
    raise ValueError(f"--dataset={kind} needs --dataset_path (the "
                     f"{'.npz file' if kind == 'npz' else 'manual-download folder holding rendered_chairs.tar or rendered_chairs/'}).")
  if kind in tfds_sources.NAMES:
    train_images, train_labels, names = tfds_sources.load_tfds(
        kind, data_dir=data_dir, manual_dir=path, split="train",
        channels=channels, image_size=image_size)
    if kind == "smallnorb":
      test_images, test_labels, _ = tfds_sources.load_tfds(
          kind, data_dir=data_dir, manual_dir=path, split="test",
          channels=channels, image_size=image_size)
    else:
      test_images, test_labels = train_images, train_labels
  elif kind == "npz":
    images, labels, names = npz_files.load_npz(
        path, factor_names=tuple(factor_names) or None, channels=channels)
    if images.shape[1] != image_size:
      images = npz_files.resize_square(images, image_size)
    train_images = test_images = images
    train_labels = test_labels = labels
  else:
    if kind == "chairs":
      names, module, keys = CHAIRS_FACTORS, chairs_dataset, (
          "chair", "azimuth_class", "elevation_class")
    else:
      names, module, keys = OBJECTS_FACTORS, objects_dataset, (
          "object", "azimuth_class", "elevation_class", "light_class")
    settings = {"image_size": image_size}
    if kind == "objects":
      settings.update(render_grid or {})
    builder = module.builder(settings, data_dir=data_dir, manual_dir=path)
    if not builder.is_prepared():
      builder.download_and_prepare()
    split = {}
    for name in ("train", "test"):
      records = list(builder.as_dataset(split=name, shuffle_files=False)
                     .as_numpy_iterator())
      split[name] = (np.stack([r["image"] for r in records]), np.array(
          [[r[key] for key in keys] for r in records]))
    (train_images, train_labels), (test_images, test_labels) = (
        split["train"], split["test"])
  designated = check_designated(designated, names)
  groups_of = {
      key: labelled.LabelledGroups(labels, names, designated, group_size)
      for key, labels in (("train", train_labels), ("test", test_labels))}
  source = LabelledSource(kind, tuple(names), designated, train_images,
                          groups_of["train"], test_images, groups_of["test"])
  if ratio is not None:
    for key in ("train", "test"):
      try:
        groups_of[key].check_ratio(source.weights(ratio))
      except ValueError as error:
        raise ValueError(f"The {key} images of {path}: {error}") from None
  return source


def evaluation_groups(source: LabelledSource, groups_per_type: int,
                      seed: int, split: str = "test") -> dict:
  """Groups of `split` ("test", or "train" for calibrations) as arrays,
  like `task.evaluation_groups`: images float [M, S, S, C],
  group_type [M] (model types), group_id [M] and, per designated factor's
  slot, its label [M]; `groups_per_type` groups of every type the labels
  can form."""
  if split not in ("train", "test"):
    raise ValueError(f"Unknown split {split!r}; allowed: train, test.")
  groups_of = source.test_groups if split == "test" else source.train_groups
  all_images = source.test_images if split == "test" else source.train_images
  model_types = pipeline.slot_group_types(source.designated, source.slots)
  images, group_type, group_id, labels = [], [], [], []
  rng = np.random.default_rng([seed, 7 if split == "test" else 8])
  usable = [count > 0 for count in groups_of.counts().values()]
  for labelled_type, ok in enumerate(usable):
    if not ok:
      continue
    for _ in range(groups_per_type):
      indices = groups_of.sample_group(rng, labelled_type)
      images.append(all_images[indices])
      labels.append(groups_of.labels[indices])
      group_type += [model_types[labelled_type]] * len(indices)
      group_id += [len(group_id) // len(indices)] * len(indices)
  labels = np.concatenate(labels)
  data = {"images": np.concatenate(images).astype(np.float32) / 255.0,
          "group_type": np.array(group_type), "group_id": np.array(group_id)}
  for slot, name in zip(source.slots, source.designated):
    data[slot] = labels[:, source.factor_names.index(name)].astype(np.float32)
  return data
