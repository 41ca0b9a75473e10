"""The factor grid the metrics sample from, and what they share."""

import dataclasses
from typing import Optional, Sequence

import numpy as np

# disentanglement_lib adds this before taking entropies so that a code (or
# factor) with no importance at all gets a uniform, not an undefined, row.
ENTROPY_EPSILON = 1e-11
# Sampling tens of thousands of batches at once would hold
# points x batch x codes floats; this many points per chunk bounds memory.
POINTS_PER_CHUNK = 256


@dataclasses.dataclass(frozen=True)
class FactorGrid:
  """Codes of every grid point of the generative factors.

  Attributes:
    codes: [*factor_sizes, num_codes] representation (posterior mean) of the
      observation at each combination of factor indices.
    factor_names: optional name per factor, for reports.
  """
  codes: np.ndarray
  factor_names: Optional[Sequence[str]] = None

  def __post_init__(self):
    codes = np.asarray(self.codes)
    if codes.ndim < 2:
      raise ValueError(
          f"codes must have rank >= 2, [*factor_sizes, num_codes], got shape "
          f"{codes.shape}.")
    if not np.issubdtype(codes.dtype, np.number):
      raise ValueError(f"codes must be numeric, got dtype {codes.dtype}.")
    sizes = codes.shape[:-1]
    if min(sizes) < 2:
      raise ValueError(
          f"every factor needs at least 2 values for the metrics to see it "
          f"vary; factor sizes are {sizes}.")
    if codes.shape[-1] < 1:
      raise ValueError(f"codes have no dimensions: shape {codes.shape}.")
    codes = codes.astype(np.float64)
    if not np.all(np.isfinite(codes)):
      bad = int(np.sum(~np.isfinite(codes)))
      raise ValueError(f"codes must be finite; {bad} values are NaN or inf.")
    names = self.factor_names
    if names is not None:
      names = tuple(str(name) for name in names)
      if len(names) != len(sizes):
        raise ValueError(
            f"{len(names)} factor_names for {len(sizes)} factors "
            f"(factor sizes {sizes}).")
    object.__setattr__(self, "codes", codes)
    object.__setattr__(self, "factor_names", names)

  @property
  def factor_sizes(self) -> tuple:
    return self.codes.shape[:-1]

  @property
  def num_factors(self) -> int:
    return len(self.factor_sizes)

  @property
  def num_codes(self) -> int:
    return self.codes.shape[-1]

  def sample_factors(self, count: int,
                     rng: np.random.Generator) -> np.ndarray:
    """[count, num_factors] factor indices, each uniform and independent."""
    columns = [rng.integers(0, size, count) for size in self.factor_sizes]
    return np.stack(columns, axis=-1).astype(np.int64)

  def codes_of(self, factors: np.ndarray) -> np.ndarray:
    """[..., num_codes] codes at factor indices [..., num_factors]."""
    factors = np.asarray(factors)
    if factors.shape[-1:] != (self.num_factors,):
      raise ValueError(
          f"factors must end in {self.num_factors} columns, got shape "
          f"{factors.shape}.")
    if np.any(factors < 0) or np.any(factors >= np.array(self.factor_sizes)):
      raise ValueError(
          f"factor indices must lie in [0, size) for sizes "
          f"{self.factor_sizes}.")
    return self.codes[tuple(np.moveaxis(factors, -1, 0))]

  def sample(self, count: int, rng: np.random.Generator) -> tuple:
    """(factors [count, num_factors], codes [count, num_codes])."""
    factors = self.sample_factors(count, rng)
    return factors, self.codes_of(factors)


def sklearn_seed(rng: np.random.Generator) -> int:
  # scikit-learn takes an int or RandomState, not a Generator; a seed drawn
  # from the caller's generator keeps the whole metric reproducible.
  return int(rng.integers(2 ** 31 - 1))


def require_two_codes(grid: FactorGrid, metric: str):
  if grid.num_codes < 2:
    raise ValueError(
        f"{metric} takes the gap between the two best code dimensions per "
        f"factor, so it needs num_codes >= 2, got {grid.num_codes}.")



def plain(value):
  """`value` with arrays and NumPy scalars as lists and Python numbers."""
  if isinstance(value, dict):
    return {key: plain(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [plain(item) for item in value]
  if isinstance(value, np.ndarray):
    return plain(value.tolist())
  if isinstance(value, np.integer):
    return int(value)
  if isinstance(value, (np.floating, float)):
    return float(value)
  return value


def chunks(total: int):
  """The sizes of the chunks `total` points are sampled in."""
  for start in range(0, total, POINTS_PER_CHUNK):
    yield min(POINTS_PER_CHUNK, total - start)
