"""Groups: G renders of which exactly one scene factor varies (paper §3.1).

An azimuth, elevation or light group sweeps that factor across its range for
one identity with everything else fixed; an intrinsic group shows G
identities at one shared pose and light. Every image carries its true
azimuth, elevation, light azimuth and identity vector; every group its type.

Everything here is NumPy only (no TensorFlow), so worker processes that
render in parallel start fast.
"""

import dataclasses
import functools
import numpy as np

from dcign_tf.data import factors
from dcign_tf.graphics import face_model as face_model_lib
from dcign_tf.graphics import model_files
from dcign_tf.graphics import renderer

# Independent random streams: identities in different splits never coincide.
SPLIT_STREAMS = {"train": 0, "test": 1, "stream": 2, "preview": 3, "grid": 4}


@dataclasses.dataclass(frozen=True)
class GroupSpec:
  """What to render for one group (no pixels yet)."""

  group_type: factors.GroupType
  identities: np.ndarray  # float32 [G, D]
  azimuth: np.ndarray  # float32 [G], degrees
  elevation: np.ndarray  # float32 [G], degrees
  light: np.ndarray  # float32 [G], degrees

  @property
  def group_size(self) -> int:
    return self.azimuth.shape[0]


def sweep(low: float, high: float, count: int,
          rng: np.random.Generator) -> np.ndarray:
  """`count` sorted values covering [low, high]: one uniform draw per stratum.

  Stratifying makes every group span the whole range (a sweep, as in the
  paper's figures) while groups still see different values.
  """
  edges = np.linspace(low, high, count + 1)
  return np.sort(edges[:-1] + rng.uniform(size=count) * np.diff(edges))


def group_rng(seed: int, split: str, group_type: factors.GroupType,
              index: int) -> np.random.Generator:
  """The random stream of one group: same arguments, same group."""
  if split not in SPLIT_STREAMS:
    raise ValueError(f"Unknown split {split!r}; allowed: "
                     f"{', '.join(SPLIT_STREAMS)}.")
  return np.random.default_rng(
      [int(seed), SPLIT_STREAMS[split], int(group_type), int(index)])


def sample_group(group_type, face_model: face_model_lib.FaceModel,
                 rng: np.random.Generator, group_size: int = 20,
                 ranges: factors.FactorRanges = factors.FactorRanges()
                 ) -> GroupSpec:
  """Draws the identities and factors of one group of `group_type`."""
  group_type = factors.GroupType.parse(group_type)
  group_size = factors.check_group_size(group_size)
  values = {}
  for name in factors.FACTORS:
    low, high = ranges.span(name)
    if name == group_type.factor:
      if low == high:
        raise ValueError(f"Cannot sweep {name}: its range is the single value "
                         f"{low}.")
      values[name] = sweep(low, high, group_size, rng)
    else:
      values[name] = np.full(group_size, rng.uniform(low, high))
  if group_type is factors.GroupType.INTRINSIC:
    identities = np.stack(
        [face_model.sample_identity(rng) for _ in range(group_size)])
  else:
    identities = np.repeat(face_model.sample_identity(rng)[None], group_size, 0)
  return GroupSpec(group_type, identities.astype(np.float32),
                   *(values[name].astype(np.float32)
                     for name in factors.FACTORS))


def render_group(spec: GroupSpec, face_model: face_model_lib.FaceModel,
                 camera: renderer.Camera = renderer.Camera(),
                 lighting: renderer.Lighting = renderer.Lighting(),
                 return_coverage: bool = False):
  """Renders a group as float32 [G, S, S] in [0, 1]; with
  `return_coverage`, also the fraction of each pixel the head covers."""
  shape = (spec.group_size, camera.image_size, camera.image_size)
  images = np.empty(shape, np.float32)
  coverage = np.empty(shape, np.float32)
  mesh, previous = None, None
  for i in range(spec.group_size):
    identity = spec.identities[i]
    if previous is None or not np.array_equal(identity, previous):
      mesh = face_model.mesh(identity, image_size=camera.image_size)
      previous = identity
    rendered = renderer.render(mesh, spec.azimuth[i], spec.elevation[i],
                               spec.light[i], camera, lighting,
                               return_coverage=return_coverage)
    if return_coverage:
      images[i], coverage[i] = rendered
    else:
      images[i] = rendered
  return (images, coverage) if return_coverage else images


def to_uint8(images: np.ndarray) -> np.ndarray:
  return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class GroupSource:
  """Everything that decides the pixels of group (split, type, index).

  Picklable, so worker processes can render groups from it: each worker
  loads the face model once.

  Attributes:
    face_model: "builtin", "bfm:PATH", "obj:FOLDER" or "npz:PATH".
    image_size: S, the rendered image is S x S.
    group_size: G, images per group.
    ranges: factor ranges in degrees.
    seed: base seed of every group's random stream.
    supersample: anti-aliasing factor of the renderer.
  """

  face_model: str = "builtin"
  image_size: int = 64
  group_size: int = 20
  ranges: factors.FactorRanges = factors.FactorRanges()
  seed: int = 0
  supersample: int = 2

  def __post_init__(self):
    renderer.check_image_size(self.image_size)
    factors.check_group_size(self.group_size)
    model_files.check_spec(self.face_model)

  @property
  def camera(self) -> renderer.Camera:
    return renderer.Camera(image_size=self.image_size,
                           supersample=self.supersample)

  def model(self) -> face_model_lib.FaceModel:
    return _cached_model(self.face_model)

  def spec(self, split: str, group_type, index: int) -> GroupSpec:
    group_type = factors.GroupType.parse(group_type)
    rng = group_rng(self.seed, split, group_type, index)
    return sample_group(group_type, self.model(), rng, self.group_size,
                        self.ranges)

  def example(self, task) -> dict:
    """(split, group_type, index) -> a dataset example with uint8 images."""
    return self._example(task, with_coverage=False)

  def example_with_coverage(self, task) -> dict:
    """`example` plus "coverage": uint8 [G, S, S], the share of each pixel
    the head covers (255: all of it), for foreground-only scores."""
    return self._example(task, with_coverage=True)

  def _example(self, task, with_coverage: bool) -> dict:
    split, group_type, index = task
    spec = self.spec(split, group_type, index)
    # Coverage only when asked: live training renders on the hot path.
    rendered = render_group(spec, self.model(), self.camera,
                            return_coverage=with_coverage)
    images, extra = rendered, {}
    if with_coverage:
      images, coverage = rendered
      extra = {"coverage": to_uint8(coverage)}
    return {
        **extra,
        "images": to_uint8(images)[..., None],
        "group_type": int(spec.group_type),
        "azimuth": spec.azimuth,
        "elevation": spec.elevation,
        "light": spec.light,
        "identity": spec.identities,
    }


def stack_examples(examples: list) -> dict:
  """Rendered groups (GroupSource.example dicts) as flat evaluation arrays:
  images [M, S, S, 1] float32 in [0, 1], group_type [M], group_id [M] (the
  group's position in `examples`) and each factor [M] in degrees; with
  "coverage" in every example, also coverage [M, S, S] float32 in [0, 1]."""
  size = examples[0]["images"].shape[0]
  extra = {}
  if all("coverage" in e for e in examples):
    extra["coverage"] = np.concatenate(
        [e["coverage"] for e in examples]).astype(np.float32) / 255.0
  return {
      **extra,
      "images": np.concatenate([e["images"] for e in examples]).astype(
          np.float32) / 255.0,
      "group_type": np.repeat([int(e["group_type"]) for e in examples], size),
      "group_id": np.repeat(np.arange(len(examples)), size),
      **{name: np.concatenate([e[name] for e in examples])
         for name in factors.FACTORS},
  }


@functools.lru_cache(maxsize=4)
def _cached_model(spec: str) -> face_model_lib.FaceModel:
  return model_files.load_face_model(spec)


def identity_size(face_model_spec: str) -> int:
  return _cached_model(face_model_spec).identity_size


def render_groups(source: GroupSource, split: str,
                  groups_per_type: int, pool=None, progress=None,
                  with_coverage: bool = False) -> dict:
  """Groups (split, type, 0..n-1) of every type, as evaluation arrays.

  These are the very groups of the prepared dataset's split (a GroupSource
  decides every pixel of (split, type, index)). `with_coverage` adds each
  image's foreground coverage (for the foreground scores).
  """
  tasks = [(split, int(t), i) for t in factors.GroupType
           for i in range(groups_per_type)
           if t.factor is None or np.ptp(source.ranges.span(t.factor)) > 0]
  examples = []
  render = (source.example_with_coverage if with_coverage
            else source.example)
  for example in (pool.imap(render, tasks) if pool else map(render, tasks)):
    examples.append(example)
    if progress:
      progress(1)
  return stack_examples(examples)
