"""Fixtures shared across the test packages."""

import numpy as np
import pytest


@pytest.fixture(name="dsprites_npz")
def fixture_dsprites_npz(tmp_path):
  """A .npz in the dSprites layout (imgs {0, 1} [N, 32, 32],
  latents_classes [N, 6]) crossing shape 2 x orientation 4 x position_x 3;
  a square whose place and size follow the labels. Returns its path."""
  classes = np.array([(0, s, 0, o, x, 0) for s in range(2) for o in range(4)
                      for x in range(3)])
  imgs = np.zeros((len(classes), 32, 32), np.uint8)
  for image, (_, shape, _, orientation, x, _) in zip(imgs, classes):
    image[4 + 2 * orientation:12 + 2 * orientation + 4 * shape,
          4 + 6 * x:12 + 6 * x] = 1
  path = tmp_path / "dsprites.npz"
  np.savez(path, imgs=imgs, latents_classes=classes)
  return str(path)
