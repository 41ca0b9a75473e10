"""The renders of novel-view identity retrieval (`dcign_tf.identity_retrieval`).

For a test intrinsic group (G identities at one view v2), each factor is
moved by a share of its range, v1 = v2 +- fraction * (high - low), in both
directions where v1 stays in range, and every identity is rendered at v1
with the other factors at v2's values. NumPy only, so render workers start
without TensorFlow.
"""

import dataclasses

import numpy as np

from dcign_tf.data import factors
from dcign_tf.data import groups
from dcign_tf.graphics import renderer

# Shares of a factor's range between source and target view: for the
# default +-90 degree azimuth, 22.5, 45, 67.5 and 90 degrees.
DEFAULT_FRACTIONS = (0.125, 0.25, 0.375, 0.5)


def source_views(target: float, low: float, high: float,
                 fractions=DEFAULT_FRACTIONS) -> np.ndarray:
  """The in-range source values target +- fraction * (high - low), sorted;
  none when the range is a single value."""
  width = high - low
  if width <= 0:
    return np.zeros(0)
  values = [target + sign * fraction * width for fraction in fractions
            for sign in (-1.0, 1.0)]
  tolerance = 1e-6 * width
  return np.array(sorted(v for v in values
                         if low - tolerance <= v <= high + tolerance))


@dataclasses.dataclass(frozen=True)
class RetrievalGroup:
  """One test intrinsic group's retrieval renders: a picklable task."""

  source: groups.GroupSource
  split: str
  index: int
  fractions: tuple = DEFAULT_FRACTIONS

  def render(self) -> dict:
    """{"targets": uint8 [G, S, S, 1] at v2, "target_view": {factor: v2},
    "trials": [{"factor", "source_degrees", "target_degrees", "delta",
    "sources": uint8 [G, S, S, 1]}]}."""
    spec = self.source.spec(self.split, factors.GroupType.INTRINSIC,
                            self.index)
    model, camera = self.source.model(), self.source.camera
    meshes = [model.mesh(identity, image_size=camera.image_size)
              for identity in spec.identities]
    view = {name: float(getattr(spec, name)[0]) for name in factors.FACTORS}

    def render_all(pose: dict) -> np.ndarray:
      images = np.stack([renderer.render(mesh, pose["azimuth"],
                                         pose["elevation"], pose["light"],
                                         camera) for mesh in meshes])
      return groups.to_uint8(images)[..., None]

    trials = []
    for name in factors.FACTORS:
      low, high = self.source.ranges.span(name)
      for value in source_views(view[name], low, high, self.fractions):
        trials.append({
            "factor": name, "source_degrees": float(value),
            "target_degrees": view[name],
            "delta": float(value - view[name]),
            "sources": render_all({**view, name: float(value)})})
    return {"targets": render_all(view), "target_view": view,
            "trials": trials}


def _render(task: RetrievalGroup) -> dict:
  return task.render()


def render_retrieval_groups(source: groups.GroupSource, split: str,
                            count: int, fractions=DEFAULT_FRACTIONS,
                            pool=None, progress=None) -> list:
  """`RetrievalGroup.render()` of intrinsic groups 0..count-1 of `split`
  (the test groups the other scores use), rendered in `pool` if given;
  `progress(1)` after each group."""
  if count < 1:
    raise ValueError(f"Identity retrieval needs >= 1 group, got {count}.")
  tasks = [RetrievalGroup(source, split, index, tuple(fractions))
           for index in range(count)]
  rendered = []
  for result in (pool.imap(_render, tasks) if pool else map(_render, tasks)):
    rendered.append(result)
    if progress:
      progress(1)
  return rendered
