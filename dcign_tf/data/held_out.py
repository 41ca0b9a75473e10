"""A held-out test split for labelled images that come without one.

npz files, Shapes3D and dSprites are single sets of images. Their test
images are held out by the combination of their intrinsic factors (those
without a latent): every image of a held-out combination, in every value of
the designated factors, is a test image. A held-out combination is an
object the model never saw, shown in all its views, so the test groups of
a designated factor sweep unseen objects, and no test image is a training
image. (Where the designated factors are all the factors, there is one
intrinsic combination, and the images are held out by their whole label
tuple instead.)

Which combinations are held out is decided by a hash of their labels: the
combinations with the lowest hashes, `TEST_FRACTION` of them, and at least
`MIN_TEST_COMBINATIONS` (so that a test intrinsic group, which needs two
distinct combinations, can form) while the training split keeps at least
as many. The same labels give the same split on every machine, in any
image order.
"""

import hashlib
import math
from typing import Sequence, Tuple

import numpy as np

TEST_FRACTION = 0.1
MIN_TEST_COMBINATIONS = 2


def combination_hash(values) -> int:
  """A stable 64-bit hash of one combination of integer labels."""
  data = np.asarray(values, np.int64).tobytes()
  return int.from_bytes(hashlib.sha256(data).digest()[:8], "little")


def split(labels: np.ndarray, factor_names: Sequence[str],
          designated: Sequence[str], fraction: float = TEST_FRACTION
          ) -> Tuple[np.ndarray, np.ndarray]:
  """(train indices, test indices) of the rows of `labels`, both sorted.

  Raises:
    ValueError: when the labels have a single combination, which cannot
      be split.
  """
  if not 0 < fraction < 1:
    raise ValueError(f"fraction must lie in (0, 1), got {fraction}.")
  labels = np.asarray(labels)
  columns = [i for i, name in enumerate(factor_names)
             if name not in designated]
  combinations, inverse = np.unique(labels[:, columns], axis=0,
                                    return_inverse=True)
  if len(combinations) < 2:  # Every factor designated: whole label tuples.
    combinations, inverse = np.unique(labels, axis=0, return_inverse=True)
  count = len(combinations)
  if count < 2:
    raise ValueError(
        f"All {len(labels)} images have the same labels; a held-out test "
        "split needs at least 2 different label combinations.")
  held = max(math.ceil(fraction * count),
             min(MIN_TEST_COMBINATIONS, count // 2))
  hashes = np.array([combination_hash(row) for row in combinations],
                    np.uint64)
  # Ties (equal hashes) broken by the combination's position, which
  # np.unique fixes by the labels alone.
  test_combinations = np.argsort(hashes, kind="stable")[:held]
  is_test = np.isin(inverse.reshape(-1), test_combinations)
  return np.flatnonzero(~is_test), np.flatnonzero(is_test)
