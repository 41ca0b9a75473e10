"""Factor grids with known scores, shared by the metric tests."""

import numpy as np

from dcign_tf import disentanglement as dis

SIZES = (6, 8, 10)


def factor_indices(sizes=SIZES) -> np.ndarray:
  """[*sizes, F] float grid whose entry at f is f itself."""
  axes = np.meshgrid(*[np.arange(size) for size in sizes], indexing="ij")
  return np.stack(axes, axis=-1).astype(np.float64)


def with_extra(codes: np.ndarray, extra: np.ndarray) -> np.ndarray:
  return np.concatenate([codes, extra[..., None]], axis=-1)


def factor_code(sizes=SIZES) -> dis.FactorGrid:
  """One code per factor (the factor itself) plus a constant code."""
  return dis.FactorGrid(with_extra(factor_indices(sizes), np.zeros(sizes)))


def monotone_code() -> dis.FactorGrid:
  """Each factor through its own strictly monotone map."""
  f = factor_indices()
  return dis.FactorGrid(np.stack(
      [np.exp(f[..., 0]), (f[..., 1] - 3.5) ** 3, -np.log1p(f[..., 2])], -1))


def random_code(seed=0) -> dis.FactorGrid:
  """Codes independent of the factors."""
  return dis.FactorGrid(
      np.random.default_rng(seed).normal(size=SIZES + (4,)))


def rotated_code() -> dis.FactorGrid:
  """Factors 0 and 1 (standardised) mixed by a 45 degree rotation."""
  f = factor_indices()
  z = (f - f.mean(axis=(0, 1, 2))) / f.std(axis=(0, 1, 2))
  return dis.FactorGrid(np.stack([(z[..., 0] + z[..., 1]) / np.sqrt(2),
                                  (z[..., 0] - z[..., 1]) / np.sqrt(2),
                                  z[..., 2]], -1))


def rng(seed=0):
  return np.random.default_rng(seed)

