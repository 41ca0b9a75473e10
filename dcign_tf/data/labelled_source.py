"""Labelled images as DC-IGN training and test groups.

A labelled source (see `dcign_tf.data_sources` for the kinds and how each
is read) is a fixed set of labelled images from which groups are selected
(`labelled.LabelledGroups`). The designated factors (those that get a
latent) take the model's factor slots in order: the first is z1 ("azimuth"
slot), then z2 ("elevation"), z3 ("light"); every other factor is
intrinsic.
"""

import dataclasses
from typing import Sequence

import numpy as np

from dcign_tf.data import factors
from dcign_tf.data import labelled
from dcign_tf.data import pipeline


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


def evaluation_groups(source: LabelledSource, groups_per_type: int,
                      seed: int, split: str = "test") -> dict:
  """Groups of `split` ("test", or "train" for calibrations) as arrays,
  like `DataSource.evaluation_groups`: images float [M, S, S, C],
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
