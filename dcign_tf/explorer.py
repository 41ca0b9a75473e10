"""What the interactive explorer (`python -m export.explore`) computes, as
plain functions over an export: reading an upload, the encoder's reading
of an image's angles, the slider ranges and the re-render for a set of
slider values. The Gradio page only lays these out.

A re-render here is `dcign_tf.rerender.rerender`'s (the same encoder, the
same calibration, the same decoder), plus optional moves of the intrinsic
latents in units of their spread over the test renders.
"""

import hashlib
import io
import os
from typing import Optional

import numpy as np
from PIL import Image

from dcign_tf import rerender
from dcign_tf import serving
from dcign_tf import tflite_export

# An upload larger than this is refused before it is decoded.
MAX_PIXELS = 20_000_000
SAVED_MODEL = "SavedModel"
TFLITE_FLOAT16 = "TFLite float16"
BACKENDS = (SAVED_MODEL, TFLITE_FLOAT16)
# Intrinsic latents offered as sliders, and their reach in spreads.
INTRINSIC_SLIDERS = 4
INTRINSIC_REACH = 3.0
# Test renders in the gallery.
GALLERY_SIZE = 12


def read_upload(path: str) -> bytes:
  """The bytes of an uploaded image. Raises ValueError, with a message a
  person can act on, for a missing file, a file that is not an image, or an
  image over MAX_PIXELS (checked from its header, before decoding)."""
  if not path or not os.path.isfile(path):
    raise ValueError("No image was uploaded.")
  with open(path, "rb") as stream:
    data = stream.read()
  name = os.path.basename(path)
  try:
    image = Image.open(io.BytesIO(data))
    width, height = image.size
  except (OSError, ValueError, Image.DecompressionBombError):
    raise ValueError(f"{name} is not an image this app can read; upload a "
                     "PNG or a JPEG.") from None
  if width * height > MAX_PIXELS:
    raise ValueError(f"{name} is {width} x {height} = "
                     f"{width * height / 1e6:.1f} megapixels; the limit is "
                     f"{MAX_PIXELS / 1e6:.0f} megapixels.")
  try:
    image.load()
  except (OSError, ValueError, SyntaxError):
    raise ValueError(f"{name} is a damaged image; upload a PNG or a "
                     "JPEG.") from None
  return data


def png_bytes(image: np.ndarray) -> bytes:
  """A [S, S] or [S, S, 1] image in [0, 1] as 8-bit PNG bytes."""
  pixels = np.round(np.clip(np.squeeze(image), 0, 1) * 255).astype(np.uint8)
  stream = io.BytesIO()
  Image.fromarray(pixels).save(stream, format="PNG")
  return stream.getvalue()


def slider_ranges(metadata: dict) -> dict:
  """{factor: (lowest, highest degrees)} the export's calibration covers."""
  return {factor: (float(min(values["degrees"])),
                   float(max(values["degrees"])))
          for factor, values in metadata["calibration"].items()}


def slider_limits(metadata: dict) -> dict:
  """{factor: (lowest, highest degrees)} a slider offers: the range the
  model was trained on, which holds the calibrated range (values between
  the two are clamped, and the app says so)."""
  calibrated = slider_ranges(metadata)
  trained = metadata.get("ranges", {})
  return {factor: (min(low, float(trained.get(factor, (low, high))[0])),
                   max(high, float(trained.get(factor, (low, high))[1])))
          for factor, (low, high) in calibrated.items()}


def clamp_angles(metadata: dict, angles: dict) -> tuple:
  """({factor: degrees} within the calibrated ranges, [what was clamped])."""
  ranges = slider_ranges(metadata)
  clamped, notes = {}, []
  for factor, degrees in angles.items():
    if factor not in ranges:
      raise ValueError(f"This model has no calibrated latent for {factor!r}; "
                       f"it has: {', '.join(sorted(ranges))}.")
    low, high = ranges[factor]
    value = float(degrees) if np.isfinite(degrees) else 0.0
    kept = min(max(value, low), high)
    if kept != value or not np.isfinite(degrees):
      notes.append(f"{factor} {degrees:g} deg is outside the calibrated "
                   f"range [{low:.1f}, {high:.1f}]; clamped to {kept:.1f}.")
    clamped[factor] = kept
  return clamped, notes


def read_angles(metadata: dict, code: np.ndarray) -> dict:
  """{factor: degrees} the encoder reads from a code [1, N]: the
  calibrated angle whose latent value is nearest the code's."""
  readings = {}
  for factor, values in metadata["calibration"].items():
    degrees = np.asarray(values["degrees"], np.float64)
    grid = np.linspace(degrees.min(), degrees.max(), 721)
    curve = np.interp(grid, degrees, np.asarray(values["latent_values"]))
    latent = int(metadata["factor_latents"][factor])
    readings[factor] = float(grid[np.argmin(np.abs(curve -
                                                   code[0, latent]))])
  return readings


def intrinsic_latents(metadata: dict, codes: np.ndarray,
                      count: int = INTRINSIC_SLIDERS) -> list:
  """[(latent index, spread)] of the `count` latents outside the extrinsic
  ones that vary most over `codes` [B, N], largest first."""
  extrinsic = {int(i) for i in metadata["factor_latents"].values()}
  spreads = np.std(codes, axis=0)
  order = [i for i in np.argsort(-spreads) if int(i) not in extrinsic]
  return [(int(i), float(spreads[i])) for i in order[:count]]


def test_renders(export_dir: str, version: int,
                 count: int = GALLERY_SIZE) -> list:
  """PNG bytes of `count` held-out test renders of the dataset an export's
  model was trained on (rendered anew; the same ones every time)."""
  if count < 1:
    raise ValueError(f"The number of test renders must be >= 1, got "
                     f"{count}.")
  model = tflite_export.exported_model(os.path.join(
      export_dir, serving.ENCODER, str(version)))
  images = tflite_export.rendered_images(model, "test", count)
  return [png_bytes(image) for image in images]


class Explorer:
  """An export's encoder and decoders, with its calibration, for the app.

  Args:
    export_dir: an export.saved_model folder.
    version: its version (default: the latest).
    tflite_dir: where its float16 TFLite files are (default
      export_dir/tflite); without them the TFLite decoder is unavailable
      and `unavailable` says why.
  """

  def __init__(self, export_dir: str, version: Optional[int] = None,
               tflite_dir: Optional[str] = None,
               num_threads: int = rerender.NUM_THREADS):
    self.export_dir = export_dir
    self.version, self.metadata = rerender.read_metadata(export_dir, version)
    self.image_size = int(self.metadata["image_size"])
    self.backends = {SAVED_MODEL: rerender.SavedModelBackend(export_dir,
                                                             self.version)}
    self.unavailable = {}
    try:
      self.backends[TFLITE_FLOAT16] = rerender.TfliteBackend(
          export_dir, self.version, "float16", self.image_size, num_threads,
          tflite_dir=tflite_dir)
    except ValueError as error:
      self.unavailable[TFLITE_FLOAT16] = str(error)
    self._codes = {}
    self.spreads = {}

  def backend(self, name: str):
    if name in self.backends:
      return self.backends[name]
    if name in self.unavailable:
      raise ValueError(self.unavailable[name])
    raise ValueError(f"Unknown decoder {name!r}; allowed: "
                     f"{', '.join(BACKENDS)}.")

  def test_images(self, count: int = GALLERY_SIZE) -> list:
    """PNG bytes of `count` held-out test renders of the model's dataset."""
    return test_renders(self.export_dir, self.version, count)

  def encode(self, backend_name: str, data: bytes) -> np.ndarray:
    """The posterior mean [1, N] of an encoded image (kept per image)."""
    key = (backend_name, hashlib.sha256(data).hexdigest())
    if key not in self._codes:
      self._codes[key] = np.asarray(
          self.backend(backend_name).encode(data), np.float32)
    return self._codes[key]

  def choose_intrinsic_sliders(self, images: list,
                               count: int = INTRINSIC_SLIDERS) -> list:
    """The intrinsic latents that vary most over `images` (PNG bytes), and
    remembers their spread: an offset of 1 moves a latent by it."""
    codes = np.concatenate([self.encode(SAVED_MODEL, data)
                            for data in images])
    chosen = intrinsic_latents(self.metadata, codes, count)
    self.spreads = dict(chosen)
    return chosen

  def render(self, backend_name: str, data: bytes, angles: dict,
             offsets: Optional[dict] = None) -> tuple:
    """(image [S, S] in [0, 1], notes): `data` re-rendered at `angles`
    (degrees, clamped to the calibrated ranges; the notes say so) with
    intrinsic latent i moved by offsets[i] spreads."""
    clamped, notes = clamp_angles(self.metadata, angles)
    code = self.encode(backend_name, data)
    new_code = code.copy()
    for index, value in rerender.target_latents(self.metadata,
                                                clamped).items():
      new_code[:, index] = value
    for index, units in (offsets or {}).items():
      if int(index) not in self.spreads:
        raise ValueError(f"Latent z{int(index) + 1} has no slider; choose "
                         "the intrinsic sliders first.")
      low, high = -INTRINSIC_REACH, INTRINSIC_REACH
      kept = min(max(float(units), low), high)
      if kept != float(units):
        notes.append(f"z{int(index) + 1} offset {units:g} is outside "
                     f"[{low:g}, {high:g}]; clamped to {kept:g}.")
      new_code[:, int(index)] += kept * self.spreads[int(index)]
    image = self.backend(backend_name).render(new_code)[0, ..., 0]
    return image, notes
