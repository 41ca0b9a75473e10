"""Grouped batches selected from any dataset with discrete factor labels.

DC-IGN learns from groups of G images in which exactly one scene factor
varies (paper §3.1). The built-in faces are rendered group by group, but
real datasets (smallNORB, Shapes3D, dSprites, 3D chairs) are fixed sets of
images, each labelled with a class per factor. For those, groups have to be
*selected* from the labels:

* A group of a designated factor f (one that gets its own latent) takes G
  images that agree on every other factor and differ in f.
* An intrinsic group takes G images that agree on every designated factor;
  what varies is whatever else the labels describe (shape, identity, ...).

`LabelledGroups` indexes the labels once, with numpy sorts rather than
Python loops, so that a 737,280-image dataset (dSprites) is ready in a few
seconds and each group afterwards costs microseconds. Groups are addressed
by (seed, index) as well, so resumed and distributed runs draw the same
groups as an uninterrupted one.

(`npz_files` reads the dSprites `.npz` layout into images and labels.)
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np


INTRINSIC = "intrinsic"
# Mixed-radix keys of label tuples must stay below this to fit in int64.
_MAX_KEY = np.iinfo(np.int64).max


def check_whole_number(name: str, value, minimum: int,
                        maximum: Optional[int] = None) -> int:
  """`value` as an int, or a ValueError that names it and the allowed range.
  """
  allowed = (f">= {minimum}" if maximum is None
             else f"from {minimum} to {maximum}")
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, np.integer)) or value < minimum or (
          maximum is not None and value > maximum):
    raise ValueError(f"{name} must be a whole number {allowed}, got "
                     f"{value!r}.")
  return int(value)


def _dense_codes(column: np.ndarray) -> Tuple[np.ndarray, int]:
  """Labels -> codes 0..K-1 in label order, and K.

  Why: label values can be sparse or negative; dense codes let several
  columns be packed into one integer key.
  """
  values, codes = np.unique(column, return_inverse=True)
  return codes.reshape(-1).astype(np.int64), len(values)


def _tuple_keys(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
  """One int64 per row that is equal exactly when the rows' codes are.

  Args:
    codes: int64 [N, C] dense codes (C may be 0: every row is then equal).
    sizes: the number of codes of each column.
  """
  rows, columns = codes.shape
  if columns == 0:
    return np.zeros(rows, np.int64)
  if int(np.prod([int(size) for size in sizes], dtype=object)) <= _MAX_KEY:
    # A mixed-radix number: one pass, and no row-wise sort as with
    # np.unique(axis=0), which is several times slower on dSprites.
    keys = np.zeros(rows, np.int64)
    for column, size in enumerate(sizes):
      keys = keys * size + codes[:, column]
    return keys
  _, inverse = np.unique(codes, axis=0, return_inverse=True)
  return inverse.reshape(-1).astype(np.int64)


class _Cells:
  """Images split into combinations (fixed labels), and each combination
  into cells (one value of what varies).

  Attributes:
    order: int64 [N] image indices, sorted by combination and then cell.
    cell_starts: int64 [cells + 1] where each cell begins in `order`.
    first_cells: int64 [usable combinations] the first cell of each usable
      combination; `last_cells` the one past its last.
    most_distinct: the largest number of cells of any combination.
  """

  def __init__(self, fixed_keys: np.ndarray, varying_keys: np.ndarray,
               min_distinct: int):
    self.order = np.lexsort((varying_keys, fixed_keys))
    fixed, varying = fixed_keys[self.order], varying_keys[self.order]
    combination_changes = np.flatnonzero(fixed[1:] != fixed[:-1]) + 1
    cell_changes = np.flatnonzero((fixed[1:] != fixed[:-1]) |
                                  (varying[1:] != varying[:-1])) + 1
    size = len(self.order)
    self.cell_starts = np.concatenate([[0], cell_changes, [size]])
    combination_starts = np.concatenate([[0], combination_changes, [size]])
    # Cells nest inside combinations, so each combination's first cell is
    # the cell that starts where the combination starts.
    cell_bounds = np.searchsorted(self.cell_starts, combination_starts)
    distinct = np.diff(cell_bounds)
    self.most_distinct = int(distinct.max())
    usable = distinct >= min_distinct
    self.first_cells = cell_bounds[:-1][usable]
    self.last_cells = cell_bounds[1:][usable]

  def __len__(self) -> int:
    return len(self.first_cells)

  def sample(self, rng: np.random.Generator, group_size: int) -> np.ndarray:
    """G image indices from one usable combination, drawn uniformly.

    With at least G cells the group shows G distinct cells (values of what
    varies). With d < G cells it shows all d and repeats cells drawn
    uniformly to fill the group, taking distinct images of a repeated cell
    while the cell has enough. The order within the group is random.
    """
    combination = rng.integers(len(self.first_cells))
    first = self.first_cells[combination]
    distinct = int(self.last_cells[combination] - first)
    if distinct >= group_size:
      cells = first + rng.choice(distinct, group_size, replace=False)
      starts = self.cell_starts[cells]
      offsets = rng.integers(0, self.cell_starts[cells + 1] - starts)
      return self.order[starts + offsets].astype(np.int64)
    # Every cell once, and the rest of the group spread over random cells.
    per_cell = 1 + np.bincount(rng.integers(distinct,
                                            size=group_size - distinct),
                               minlength=distinct)
    chosen = []
    for cell, count in zip(range(first, first + distinct), per_cell):
      start, stop = self.cell_starts[cell], self.cell_starts[cell + 1]
      chosen.append(start + rng.choice(stop - start, count,
                                       replace=count > stop - start))
    positions = rng.permutation(np.concatenate(chosen))
    return self.order[positions].astype(np.int64)


class LabelledGroups:
  """Selects DC-IGN groups from discrete factor labels.

  The group types are the designated factors, in the given order, and then
  "intrinsic"; a type is addressed by its position.

  * A group of designated factor f: its images share the labels of every
    other factor (one *combination* of them) and show G distinct values of
    f, or, where the combination has only d < G values of f, all d values
    with some repeated (see `_Cells.sample`).
  * An intrinsic group: its images share the labels of every designated
    factor and otherwise differ, with G distinct tuples of the intrinsic
    factors' labels where the combination has them (repeats as above).

  A combination is usable only if its group can show at least
  `min_distinct` distinct values of what varies; the others are skipped.
  Combinations are drawn uniformly, whatever their number of images.

  Attributes:
    factor_names: the name of each label column.
    designated: the factors that get a latent, in group-type order.
    intrinsic: the other factors, in column order.
    group_types: the group-type names, designated ones then "intrinsic".
    group_size: G, images per group.
    min_distinct: see above.
    num_images: N, rows of the labels.
  """

  def __init__(self, labels: np.ndarray, factor_names: Sequence[str],
               designated: Sequence[str], group_size: int,
               min_distinct: int = 2):
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
      raise ValueError("labels must be a 2-D integer array [images, "
                       f"factors], got shape {labels.shape} of dtype "
                       f"{labels.dtype}.")
    if labels.shape[0] == 0:
      raise ValueError(f"labels have no rows (shape {labels.shape}); "
                       "allowed: at least one labelled image.")
    if isinstance(factor_names, str):
      raise ValueError(f"factor_names must be a sequence of names, got the "
                       f"string {factor_names!r}.")
    factor_names = tuple(factor_names)
    if len(factor_names) != labels.shape[1]:
      raise ValueError(f"labels have {labels.shape[1]} factor columns but "
                       f"{len(factor_names)} factor_names were given "
                       f"({', '.join(map(str, factor_names))}); allowed: one "
                       "name per column.")
    duplicates = sorted({str(name) for name in factor_names
                         if factor_names.count(name) > 1})
    if duplicates:
      raise ValueError(f"factor_names repeat {', '.join(duplicates)}; "
                       "allowed: distinct names.")
    if isinstance(designated, str):
      designated = (designated,)
    designated = tuple(designated)
    if not designated:
      raise ValueError("designated is empty; allowed: one or more of the "
                       f"factors {', '.join(map(str, factor_names))}.")
    for name in designated:
      if name not in factor_names:
        raise ValueError(f"Unknown designated factor {name!r}; allowed: "
                         f"{', '.join(map(str, factor_names))}.")
    if len(set(designated)) != len(designated):
      raise ValueError(f"designated {list(designated)} names a factor twice; "
                       "allowed: distinct factors.")
    if INTRINSIC in designated:
      raise ValueError(f"A factor named {INTRINSIC!r} cannot be designated: "
                       "the name is taken by the intrinsic group type.")
    self.group_size = check_whole_number("group_size", group_size, 2)
    self.min_distinct = check_whole_number("min_distinct", min_distinct, 1,
                                            self.group_size)
    self.factor_names = factor_names
    self.designated = designated
    self.intrinsic = tuple(n for n in factor_names if n not in designated)
    self.group_types = designated + (INTRINSIC,)
    self.num_images = labels.shape[0]
    self.labels = labels

    columns = [_dense_codes(labels[:, c]) for c in range(labels.shape[1])]
    codes = np.stack([code for code, _ in columns], axis=1)
    sizes = [size for _, size in columns]

    def keys(names):
      indices = [factor_names.index(name) for name in names]
      return _tuple_keys(codes[:, indices], [sizes[i] for i in indices])

    # One _Cells per group type; None where nothing could vary (no
    # intrinsic factors).
    self._cells = []
    for name in designated:
      others = [n for n in factor_names if n != name]
      self._cells.append(_Cells(keys(others), keys([name]),
                                self.min_distinct))
    self._cells.append(
        _Cells(keys(designated), keys(self.intrinsic), self.min_distinct)
        if self.intrinsic else None)

  def counts(self) -> Dict[str, int]:
    """Group-type name -> number of usable combinations."""
    return {name: 0 if cells is None else len(cells)
            for name, cells in zip(self.group_types, self._cells)}

  def describe(self) -> str:
    """A one-line summary, e.g. "azimuth: 12 combinations, intrinsic: 18"."""
    parts = [f"{name}: {count}" for name, count in self.counts().items()]
    parts[0] += " combinations"
    return ", ".join(parts)

  def _impossible(self, group_type: int) -> Optional[str]:
    """Why no group of this type can be formed, or None if one can."""
    cells = self._cells[group_type]
    if cells is not None and len(cells):
      return None
    name = self.group_types[group_type]
    prefix = f"labels cannot form any {name!r} group: "
    advice = "; give it weight 0 or use other labels"
    if cells is None:
      return (f"{prefix}every factor is designated "
              f"({', '.join(self.designated)}), so no intrinsic factor can "
              f"vary{advice}")
    if name == INTRINSIC:
      fixed, varying = "designated factors", "intrinsic label tuples"
    else:
      fixed, varying = "other factors", f"{name} values"
    return (f"{prefix}every combination of the {fixed} shows fewer than "
            f"{self.min_distinct} distinct {varying} (the most is "
            f"{cells.most_distinct}){advice}")

  def check_ratio(self, weights: Sequence[float]) -> np.ndarray:
    """Checks group-type weights against the labels.

    Args:
      weights: one non-negative weight per group type (designated factors
        in order, then intrinsic), not all zero.

    Returns:
      float64 probabilities, weights / sum.

    Raises:
      ValueError: on malformed weights, or when a type with weight > 0 has
        no usable combination.
    """
    original = weights
    try:
      weights = np.asarray(weights, np.float64).reshape(-1)
    except (TypeError, ValueError):
      raise ValueError(f"Group weights {original!r} must be numbers, one per "
                       f"group type ({', '.join(self.group_types)}).") from None
    if weights.shape != (len(self.group_types),):
      raise ValueError(f"Group weights {original!r} must give "
                       f"{len(self.group_types)} weights, one per group type "
                       f"({', '.join(self.group_types)}), got {weights.size}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or (
        weights.sum() <= 0):
      raise ValueError(f"Group weights {original!r} must be finite and "
                       ">= 0, not all zero.")
    for group_type, weight in enumerate(weights):
      reason = self._impossible(group_type) if weight > 0 else None
      if reason:
        raise ValueError(reason + ".")
    return weights / weights.sum()

  def sample_group(self, rng: np.random.Generator,
                   group_type: int) -> np.ndarray:
    """int64 [G] image indices of one group of type `group_type` (its
    position in `group_types`), drawn with `rng`."""
    if isinstance(group_type, (bool, np.bool_)) or not isinstance(
        group_type, (int, np.integer)) or not (
            0 <= group_type < len(self.group_types)):
      raise ValueError(f"Unknown group type {group_type!r}; allowed: 0 to "
                       f"{len(self.group_types) - 1} "
                       f"({', '.join(self.group_types)}).")
    reason = self._impossible(int(group_type))
    if reason:
      raise ValueError(reason + ".")
    return self._cells[int(group_type)].sample(rng, self.group_size)

  def group(self, index: int, seed: int,
            weights: Sequence[float]) -> Tuple[int, np.ndarray]:
    """Group `index` of the stream `seed`: (group type, image indices).

    A pure function of (seed, index, weights): the type is drawn with
    probabilities weights / sum and the images with the same generator,
    seeded by [seed, index]. Why: the trainer addresses groups by index,
    so resumed and distributed runs read the same groups.
    """
    check_whole_number("index", index, 0)
    check_whole_number("seed", seed, 0)
    probabilities = self.check_ratio(weights)
    rng = np.random.default_rng([int(seed), int(index)])
    group_type = int(rng.choice(len(probabilities), p=probabilities))
    return group_type, self.sample_group(rng, group_type)
