"""What every data source answers, and the registry of sources by their
`--dataset` name (see the package docstring)."""

from typing import Optional

from dcign_tf.data import factors
from dcign_tf.data import pipeline

REGISTRY = {}
# Settings that only the rendered faces use, with the value that means
# "not used".
RENDERING_ONLY = (("data", "live"), ("live_reuse", 1),
                  ("range_warmup_steps", 0), ("mirror_odd_factors", ()))


def register(cls):
  """Class decorator: makes `cls` the source of `--dataset=cls.name`."""
  if cls.name in REGISTRY:
    raise ValueError(f"A source named {cls.name!r} is already registered.")
  REGISTRY[cls.name] = cls
  return cls


def names() -> tuple:
  return tuple(REGISTRY)


def source_for(config) -> "DataSource":
  """The source of `config.dataset`; nothing is read yet."""
  if config.dataset not in REGISTRY:
    raise ValueError(f"Unknown dataset {config.dataset!r}; allowed: "
                     f"{', '.join(REGISTRY)}.")
  return REGISTRY[config.dataset](config)


class DataSource:
  """What a run needs of its data. Subclasses set the class attributes
  and implement the methods that raise NotImplementedError."""

  name = ""
  # Rendered by dcign_tf's own engine with known continuous factors: the
  # full faces evaluation (calibration in degrees, novel views, identity
  # retrieval, the factor grid) applies.
  rendered = False
  # Can give 3-channel images.
  colour = False

  def __init__(self, config):
    self.config = config

  def check(self):
    """Raises ValueError naming the first data setting that cannot work,
    before anything is written. May read the data (cached)."""
    if self.config.channels == 3 and not self.colour:
      colour = [n for n, c in REGISTRY.items() if c.colour]
      raise ValueError(f"--channels=3: --dataset={self.name} gives grayscale "
                       f"images; colour needs a colour source "
                       f"({', '.join(colour)}).")

  @property
  def designated(self) -> tuple:
    """The factors that get a latent, in slot order."""
    raise NotImplementedError

  @property
  def slots(self) -> tuple:
    """The model's factor slots the designated factors take."""
    return factors.FACTORS[:len(self.designated)]

  def factor_latents(self) -> dict:
    """Model slot -> its latents: designated factor i is z(i + 1) (for the
    faces, the paper's z1-z3 for azimuth, elevation and light)."""
    return {slot: (index,) for index, slot in enumerate(self.slots)}

  def display_names(self) -> dict:
    """Model slot -> the factor's name in the dataset."""
    return dict(zip(self.slots, self.designated))

  def describe(self) -> Optional[str]:
    """A line for the run's log about what the data holds, or None."""
    return None

  def circular_slots(self) -> dict:
    """Model slot -> period (label units per turn) of each designated
    factor whose labels are angles that wrap; scored on the circle."""
    return {}

  def train_dataset(self, first_step: int = 0,
                    sharding: pipeline.Sharding = pipeline.Sharding()):
    """Grouped training batches from `first_step` on (batch n is the same
    whether a run started at 0 or resumed at n)."""
    raise NotImplementedError

  def evaluation_groups(self, groups_per_type: int, seed: int,
                        split: str = "test") -> dict:
    """Groups of `split` as arrays: images float [M, S, S, C], group_type
    [M] (model types), group_id [M] and each designated slot's label [M].
    "train" groups serve calibrations."""
    raise NotImplementedError

  def record(self) -> dict:
    """The settings an export keeps to read these images again (see
    `train_config.config_from_dict`)."""
    raise NotImplementedError
