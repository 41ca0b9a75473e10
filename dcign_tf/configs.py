"""Network geometry: the paper's exact one and two narrower CPU presets.

The paper's network (docs/design.md, from the original Torch code) at 150 px:
three 5x5 valid convolutions (96, 48, 24 filters) each followed by 2x2 max
pooling and ReLU, two linear heads to 200 latents; the decoder is a linear
layer back to 15 x 15 x 24 then four stages of nearest-neighbour x2
upsampling and a valid 7x7 convolution (48, 96, 96, 1 filters), ReLU between
stages and a sigmoid at the end.

`NetworkConfig` generalises it: image size, channels, filters, kernel sizes,
padding and latent size come from config, and `check` says, before any
variable exists, whether the geometry produces the image size.
"""

import dataclasses
import json
from typing import Tuple

MIN_LATENT_SIZE = 4  # Three extrinsic latents plus at least one intrinsic.


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
  """Encoder/decoder geometry.

  Attributes:
    image_size: S; images are S x S x channels.
    channels: 1 (grayscale) or 3.
    latent_size: N, the graphics code's size.
    encoder_filters: filters of each encoder convolution (each is followed by
      2x2 max pooling).
    encoder_kernels: kernel size of each encoder convolution.
    decoder_filters: filters of each decoder stage but the last, which has
      `channels` filters.
    decoder_kernels: kernel size of each decoder stage (one per upsampling).
    padding: "valid" (the paper's) or "same".
    dense_init_stddev: stddev of the normal init of the linear layers (the
      original code's 0.01).
    dense_units: width of one hidden fully connected ReLU layer on each side
      of the code: between the encoder's last feature map and its two heads,
      and between the latents and the decoder's first feature map (0: the
      paper's linear maps, none).
  """

  image_size: int = 150
  channels: int = 1
  latent_size: int = 200
  encoder_filters: Tuple[int, ...] = (96, 48, 24)
  encoder_kernels: Tuple[int, ...] = (5, 5, 5)
  decoder_filters: Tuple[int, ...] = (48, 96, 96)
  decoder_kernels: Tuple[int, ...] = (7, 7, 7, 7)
  padding: str = "valid"
  dense_init_stddev: float = 0.01
  dense_units: int = 0

  def __post_init__(self):
    for name in ("encoder_filters", "encoder_kernels", "decoder_filters",
                 "decoder_kernels"):
      object.__setattr__(self, name, tuple(int(v) for v in getattr(self,
                                                                    name)))
    self.check()

  def check(self):
    """Raises ValueError naming the first setting that cannot work."""
    if self.padding not in ("valid", "same"):
      raise ValueError(f"padding must be 'valid' or 'same', got "
                       f"{self.padding!r}.")
    if self.channels not in (1, 3):
      raise ValueError(f"channels must be 1 or 3, got {self.channels}.")
    if self.latent_size < MIN_LATENT_SIZE:
      raise ValueError(
          f"latent_size must be >= {MIN_LATENT_SIZE} (azimuth, elevation and "
          f"light latents plus at least one intrinsic), got "
          f"{self.latent_size}.")
    if len(self.encoder_filters) != len(self.encoder_kernels) or not (
        self.encoder_filters):
      raise ValueError("encoder_filters and encoder_kernels must be non-empty "
                       "and of equal length, got "
                       f"{self.encoder_filters} and {self.encoder_kernels}.")
    if len(self.decoder_kernels) != len(self.decoder_filters) + 1:
      raise ValueError(
          "decoder_kernels needs one more entry than decoder_filters (the "
          f"last stage outputs the image), got {self.decoder_kernels} and "
          f"{self.decoder_filters}.")
    if self.dense_units < 0:
      raise ValueError(f"dense_units must be >= 0 (0: no hidden layer), got "
                       f"{self.dense_units}.")
    if min(self.encoder_filters + self.decoder_filters +
           self.encoder_kernels + self.decoder_kernels) < 1:
      raise ValueError("filters and kernel sizes must be >= 1.")
    self.encoder_grid()
    self.decoder_grid()

  def encoder_grid(self) -> int:
    """Side of the encoder's last feature map."""
    size = self.image_size
    for kernel in self.encoder_kernels:
      size = size - (kernel - 1 if self.padding == "valid" else 0)
      size //= 2
      if size < 1:
        raise ValueError(
            f"image_size {self.image_size} is too small for encoder kernels "
            f"{self.encoder_kernels} with {self.padding} padding; every "
            "stage must keep at least one pixel.")
    return size

  def decoder_grid(self) -> int:
    """Side of the decoder's first feature map, so the output is exactly S.

    Each stage maps h -> 2h - (k - 1) (valid) or 2h (same); inverted from
    the image size, every intermediate side must be a positive integer.
    """
    size = self.image_size
    for kernel in reversed(self.decoder_kernels):
      grown = size + (kernel - 1 if self.padding == "valid" else 0)
      if grown % 2 or grown // 2 < 1:
        raise ValueError(
            f"image_size {self.image_size} cannot be produced by decoder "
            f"kernels {self.decoder_kernels} with {self.padding} padding "
            "(each stage doubles then trims k - 1 pixels); choose an image "
            "size the decoder reaches, e.g. "
            f"{self._reachable_sizes()}.")
      size = grown // 2
    return size

  def _reachable_sizes(self):
    sizes = []
    for start in range(1, 64):
      size = start
      for kernel in self.decoder_kernels:
        size = 2 * size - (kernel - 1 if self.padding == "valid" else 0)
      if 32 <= size <= 256:
        sizes.append(size)
    nearest = sorted(sorted(sizes, key=lambda s: abs(s - self.image_size))[:4])
    return ", ".join(str(s) for s in nearest) or "none in [32, 256]"

  def to_dict(self) -> dict:
    values = {k: list(v) if isinstance(v, tuple) else v
              for k, v in dataclasses.asdict(self).items()}
    # Networks without hidden layers were recorded before the setting
    # existed; leaving it out keeps their records (architecture.json,
    # shipped presets) equal to today's.
    if not self.dense_units:
      del values["dense_units"]
    return values

  @classmethod
  def from_dict(cls, values: dict) -> "NetworkConfig":
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ValueError(f"Unknown network settings {unknown}; allowed: "
                       f"{sorted(known)}.")
    return cls(**values)

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), sort_keys=True)


def paper(image_size: int = 150, latent_size: int = 200,
          channels: int = 1) -> NetworkConfig:
  """The paper's exact network (valid padding; 150 px)."""
  return NetworkConfig(image_size=image_size, latent_size=latent_size,
                       channels=channels)


def small(image_size: int = 64, latent_size: int = 32,
          channels: int = 1) -> NetworkConfig:
  """A narrow, same-padded network for quick 64 px CPU runs."""
  return NetworkConfig(image_size=image_size, channels=channels,
                       latent_size=latent_size,
                       encoder_filters=(32, 32, 64, 64),
                       encoder_kernels=(5, 5, 3, 3),
                       decoder_filters=(64, 32, 32),
                       decoder_kernels=(3, 3, 5, 5), padding="same")


def medium(image_size: int = 64, latent_size: int = 32,
           channels: int = 1) -> NetworkConfig:
  """Between `small` and `paper`: 3x the small network's parameters (0.8 M
  at 64 px), wide enough at the low resolutions to draw eyes, nose and
  mouth, at about 55 ms per group of 20 on a 2-core AVX-512 CPU in
  bfloat16."""
  return NetworkConfig(image_size=image_size, channels=channels,
                       latent_size=latent_size,
                       encoder_filters=(32, 64, 128, 128),
                       encoder_kernels=(5, 5, 3, 3),
                       decoder_filters=(128, 64, 64),
                       decoder_kernels=(3, 3, 5, 5), padding="same")


PRESETS = {"paper": paper, "medium": medium, "small": small}


def as_network(value) -> NetworkConfig:
  """A NetworkConfig from itself or its dict (as in a Keras get_config)."""
  if isinstance(value, NetworkConfig):
    return value
  return NetworkConfig.from_dict(value)


def preset(name: str, **overrides) -> NetworkConfig:
  if name not in PRESETS:
    raise ValueError(f"Unknown network preset {name!r}; allowed: "
                     f"{', '.join(PRESETS)}.")
  return PRESETS[name](**overrides)
