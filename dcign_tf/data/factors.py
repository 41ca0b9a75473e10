"""Scene factors, group types, their ranges and the group-type ratio.

DC-IGN's training data comes in groups in which one scene factor varies
(paper §3.1): face azimuth, elevation, light azimuth, or identity (an
*intrinsic* group: many faces at one pose and light). This module names those
things and validates every user-supplied value before any work is done.
"""

import dataclasses
import enum
from typing import Mapping, Sequence, Union

import numpy as np

FACTORS = ("azimuth", "elevation", "light")
MIN_GROUP_SIZE = 2


class GroupType(enum.IntEnum):
  """Which factor a group varies. The integer values are stored in datasets."""

  AZIMUTH = 0
  ELEVATION = 1
  LIGHT = 2
  INTRINSIC = 3

  @property
  def label(self) -> str:
    return self.name.lower()

  @property
  def factor(self):
    """The scene factor this group sweeps, or None for intrinsic groups."""
    return None if self is GroupType.INTRINSIC else FACTORS[self.value]

  @classmethod
  def parse(cls, value: Union[str, int, "GroupType"]) -> "GroupType":
    if isinstance(value, GroupType):
      return value
    if isinstance(value, str):
      for member in cls:
        if member.label == value.strip().lower():
          return member
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
      if 0 <= int(value) < len(cls):
        return cls(int(value))
    raise ValueError(f"Unknown group type {value!r}; allowed: "
                     f"{', '.join(GROUP_TYPE_NAMES)} (or 0-{len(cls) - 1}).")


GROUP_TYPE_NAMES = tuple(member.label for member in GroupType)


def check_factor(name: str) -> str:
  if name not in FACTORS:
    raise ValueError(f"Unknown scene factor {name!r}; allowed: "
                     f"{', '.join(FACTORS)}.")
  return name


@dataclasses.dataclass(frozen=True)
class FactorRanges:
  """Ranges in degrees of the three scene factors; defaults are DC-IGN's.

  Each is (low, high) with -180 <= low <= high <= 180. A factor with
  low == high is held fixed; no group may then sweep it.
  """

  azimuth: tuple = (-90.0, 90.0)
  elevation: tuple = (-30.0, 30.0)
  light: tuple = (-90.0, 90.0)

  def __post_init__(self):
    for name in FACTORS:
      value = getattr(self, name)
      try:
        low, high = (float(v) for v in value)
      except (TypeError, ValueError):
        raise ValueError(f"The {name} range must be a pair (low, high) of "
                         f"degrees, got {value!r}.") from None
      if not (-180.0 <= low <= 180.0 and -180.0 <= high <= 180.0):
        raise ValueError(f"The {name} range {value!r} leaves [-180, 180] "
                         "degrees; allowed: -180 <= low <= high <= 180.")
      if low > high:
        raise ValueError(f"The {name} range {value!r} has low > high; "
                         "allowed: -180 <= low <= high <= 180.")
      object.__setattr__(self, name, (low, high))

  @classmethod
  def from_mapping(cls, ranges: Mapping[str, Sequence[float]]):
    for name in ranges:
      check_factor(name)
    return cls(**{name: tuple(value) for name, value in ranges.items()})

  def span(self, factor: str) -> tuple:
    return getattr(self, check_factor(factor))

  def to_dict(self) -> dict:
    return {name: list(getattr(self, name)) for name in FACTORS}

  def check_within(self, outer: "FactorRanges", what: str = "range"):
    """Raises ValueError unless every range lies inside `outer`'s."""
    for name in FACTORS:
      (low, high), (outer_low, outer_high) = self.span(name), outer.span(name)
      if low < outer_low or high > outer_high:
        raise ValueError(
            f"The {what} of {name} [{low:g}, {high:g}] leaves its full range "
            f"[{outer_low:g}, {outer_high:g}]; allowed: a sub-range of it.")

  def widen_towards(self, outer: "FactorRanges",
                    fraction: float) -> "FactorRanges":
    """Each range moved linearly from this one (fraction 0) to `outer`'s
    (fraction >= 1), both ends at once."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    return FactorRanges(**{
        name: tuple(a + fraction * (b - a)
                    for a, b in zip(self.span(name), outer.span(name)))
        for name in FACTORS})


# The paper draws azimuth : elevation : light : intrinsic groups 1 : 1 : 1 : 10.
PAPER_RATIO = (1.0, 1.0, 1.0, 10.0)


def parse_ratio(ratio) -> np.ndarray:
  """Group-type weights -> probabilities, in GroupType order.

  Args:
    ratio: "1:1:1:10", a sequence of four weights in GroupType order, or a
      mapping from group-type name to weight (missing types get 0).

  Returns:
    float64 [4] probabilities summing to 1.
  """
  original = ratio
  if isinstance(ratio, str):
    parts = ratio.replace(",", ":").split(":")
    try:
      ratio = [float(part) for part in parts]
    except ValueError:
      raise ValueError(f"Group ratio {original!r} is not of the form "
                       "'azimuth:elevation:light:intrinsic', e.g. "
                       "'1:1:1:10'.") from None
  if isinstance(ratio, Mapping):
    weights = [0.0] * len(GroupType)
    for name, weight in ratio.items():
      weights[GroupType.parse(name).value] = float(weight)
    ratio = weights
  weights = np.asarray(ratio, np.float64).reshape(-1)
  if weights.shape != (len(GroupType),):
    raise ValueError(f"Group ratio {original!r} must give {len(GroupType)} "
                     f"weights ({':'.join(GROUP_TYPE_NAMES)}), got "
                     f"{weights.size}.")
  if not np.all(np.isfinite(weights)) or np.any(weights < 0):
    raise ValueError(f"Group ratio {original!r} has a negative or non-finite "
                     "weight; allowed: weights >= 0, not all zero.")
  if weights.sum() <= 0:
    raise ValueError(f"Group ratio {original!r} has all-zero weights; "
                     "allowed: weights >= 0, not all zero.")
  return weights / weights.sum()


def check_group_size(group_size) -> int:
  if (isinstance(group_size, bool) or int(group_size) != group_size or
      group_size < MIN_GROUP_SIZE):
    raise ValueError(f"group_size must be an integer >= {MIN_GROUP_SIZE} "
                     f"(one factor has to vary within a group), got "
                     f"{group_size!r}.")
  return int(group_size)


def check_ratio_against_ranges(probabilities: np.ndarray,
                               ranges: FactorRanges):
  """A group type that will be drawn must have a factor range to sweep."""
  for group_type in GroupType:
    factor = group_type.factor
    if factor is None or probabilities[group_type.value] == 0:
      continue
    low, high = ranges.span(factor)
    if low == high:
      raise ValueError(
          f"{group_type.label} groups have weight > 0 but the {factor} range "
          f"is the single value {low}; widen the range or give "
          f"{group_type.label} groups weight 0.")
