"""Renders on a full factor grid, for the disentanglement metrics.

The field's metrics (MIG, DCI, SAP, FactorVAE, BetaVAE) sample observations
with chosen factor values. With our own renderer every grid point can be
drawn exactly: identities x azimuth bins x elevation bins x light bins, each
continuous factor cut into equal-width bins and rendered at bin centres.
"""

import dataclasses

import numpy as np

from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

DEFAULT_BINS = 20


def bin_centres(ranges: factors.FactorRanges, bins: int) -> dict:
  """Factor -> [bins] degrees at the centres of equal-width bins."""
  if isinstance(bins, bool) or int(bins) != bins or bins < 2:
    raise ValueError(f"A factor grid needs >= 2 bins per factor, got {bins!r}.")
  centres = {}
  for name in factors.FACTORS:
    low, high = ranges.span(name)
    edges = np.linspace(low, high, int(bins) + 1)
    centres[name] = ((edges[:-1] + edges[1:]) / 2).astype(np.float32)
  return centres


@dataclasses.dataclass(frozen=True)
class GridRow:
  """One identity at one azimuth: a task for a render worker."""

  source: groups.GroupSource
  identity: np.ndarray
  azimuth: float
  elevations: np.ndarray
  lights: np.ndarray

  def render(self) -> np.ndarray:
    """uint8 [E, L, S, S, 1]."""
    model = self.source.model()
    mesh = model.mesh(self.identity, image_size=self.source.image_size)
    camera = self.source.camera
    images = np.empty((len(self.elevations), len(self.lights),
                       camera.image_size, camera.image_size), np.float32)
    for e, elevation in enumerate(self.elevations):
      for l, light in enumerate(self.lights):
        images[e, l] = renderer.render(mesh, self.azimuth, elevation,
                                              light, camera)
    return groups.to_uint8(images)[..., None]


def grid_rows(source: groups.GroupSource, identities: int,
              bins: int = DEFAULT_BINS):
  """The identities [I, D], factor centres and one GridRow per (identity,
  azimuth), in row-major order."""
  if isinstance(identities, bool) or int(identities) != identities or (
      identities < 2):
    raise ValueError("A factor grid needs >= 2 identities, got "
                     f"{identities!r}.")
  centres = bin_centres(source.ranges, bins)
  rng = np.random.default_rng([source.seed, groups.SPLIT_STREAMS["grid"]])
  model = source.model()
  faces = np.stack([model.sample_identity(rng) for _ in range(identities)]
                   ).astype(np.float32)
  rows = [GridRow(source, face, float(azimuth), centres["elevation"],
                  centres["light"])
          for face in faces for azimuth in centres["azimuth"]]
  return faces, centres, rows


def _render_row(row: GridRow) -> np.ndarray:
  return row.render()


def render_grid(source: groups.GroupSource, identities: int,
                bins: int = DEFAULT_BINS, pool=None, progress=None) -> dict:
  """Every grid point rendered.

  Args:
    source: what to render (its ranges and seed; group size is unused).
    identities: I, faces drawn from the face model's prior (their own
      random stream, so none is a training face).
    bins: B, bins per continuous factor.
    pool: optional multiprocessing pool to render rows in parallel.
    progress: optional callable(rows_done) called after every row.

  Returns:
    {"images": uint8 [I, B, B, B, S, S, 1] (identity, azimuth, elevation,
     light), "identities": [I, D], and the bin centres per factor}.
  """
  faces, centres, rows = grid_rows(source, identities, bins)
  rendered = (pool.imap(_render_row, rows, chunksize=1) if pool
              else map(_render_row, rows))
  images = []
  for image in rendered:
    images.append(image)
    if progress:
      progress(1)
  size = source.image_size
  return {
      "images": np.stack(images).reshape(identities, bins, bins, bins, size,
                                         size, 1),
      "identities": faces,
      **centres,
  }
