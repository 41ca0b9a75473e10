"""A labelled dataset as a complete factor grid, for the grid metrics.

disentanglement_lib's metrics (MIG, DCI, SAP, FactorVAE, BetaVAE) sample
observations at chosen factor values. A labelled dataset that holds every
combination of its factors' values (dSprites, Shapes3D, smallNORB, the 3D
chairs, a grid of rendered objects) is such a simulator: `LabelGrid` maps
each combination to one image, so encoding the images at the grid's rows
gives the `disentanglement.FactorGrid` the metrics read. A dataset with
combinations missing is not a grid; `index` says how many are missing
instead of guessing.
"""

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class LabelGrid:
  """Attributes:
    rows: int [*factor_sizes] the image at each combination of factor
      values (the first one in the data where several share it).
    factor_names: one name per factor (grid axis).
    values: per factor, its label values in axis order.
  """

  rows: np.ndarray
  factor_names: tuple
  values: tuple

  @property
  def factor_sizes(self) -> tuple:
    return self.rows.shape


def index(labels: np.ndarray, factor_names: Sequence[str]):
  """(LabelGrid, None), or (None, message) when the labels do not hold
  every combination of their values (the message counts the missing ones).

  A factor with a single value (dSprites' colour) does not vary and is
  left out of the grid, as disentanglement_lib leaves it out.
  """
  labels = np.asarray(labels)
  values, codes, kept = [], [], []
  for name, column in zip(factor_names, labels.T):
    unique, inverse = np.unique(column, return_inverse=True)
    if len(unique) < 2:
      continue
    kept.append(name)
    values.append(unique)
    codes.append(inverse.reshape(-1))
  if not kept:
    return None, ("no factor has two values, so the grid metrics (MIG, DCI, "
                  "SAP, FactorVAE, BetaVAE) were not computed")
  factor_names = kept
  sizes = tuple(len(v) for v in values)
  total = int(np.prod(sizes, dtype=np.int64))
  flat = np.ravel_multi_index(codes, sizes)
  present, first = np.unique(flat, return_index=True)
  missing = total - len(present)
  if missing:
    return None, (
        f"the labels are not a complete factor grid: {missing} of the "
        f"{total} combinations of {' x '.join(map(str, sizes))} "
        f"({', '.join(factor_names)}) have no image, so the grid metrics "
        "(MIG, DCI, SAP, FactorVAE, BetaVAE) were not computed")
  rows = np.empty(total, np.int64)
  rows[present] = first
  return LabelGrid(rows.reshape(sizes), tuple(factor_names),
                   tuple(values)), None
