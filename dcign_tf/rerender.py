"""Re-rendering a photo from a new viewpoint or light with the exported
models only (the paper's headline use), as testable functions.

encode the photo -> set z_azimuth / z_elevation / z_light to the values the
export's calibration gives for the requested degrees -> decode. The models
run from the SavedModels, from their TFLite conversions, or behind a TF
Serving REST endpoint; none of it needs the trained model dir.
"""

import io
import json
import os
from typing import Optional

import numpy as np
from PIL import Image

from dcign_tf import serving
from dcign_tf import serving_client
from dcign_tf.data import factors

FACTORS = factors.FACTORS
METADATA = os.path.join("assets", serving.METADATA_FILE)
# TFLite interpreter threads: one keeps a re-render's latency steady.
NUM_THREADS = 1


def latest_version(export_dir: str) -> int:
  """The newest version present for both the encoder and the decoder."""
  common = set(serving.existing_versions(
      os.path.join(export_dir, serving.ENCODER))) & set(
          serving.existing_versions(os.path.join(export_dir,
                                                 serving.DECODER)))
  if not common:
    raise ValueError(f"--export_dir={export_dir} holds no encoder and decoder "
                     "of the same version; run export.saved_model first.")
  return max(common)


def read_metadata(export_dir: str, version: Optional[int] = None) -> tuple:
  """(version, metadata) of an export (default: the latest version)."""
  version = latest_version(export_dir) if version is None else int(version)
  path = os.path.join(export_dir, serving_client.ENCODER, str(version), METADATA)
  if not os.path.exists(path):
    raise ValueError(f"No export version {version} with metadata under "
                     f"{export_dir} ({path} is missing).")
  with open(path) as stream:
    return version, json.load(stream)


def target_latents(metadata: dict, targets: dict) -> dict:
  """{latent index: value} for {factor: degrees}, through the export's
  calibration (linear between its calibrated points). Raises ValueError
  for an unknown factor or degrees outside the calibrated range."""
  latents = {}
  for factor, degrees in targets.items():
    calibration = metadata.get("calibration", {}).get(factor)
    if calibration is None:
      known = sorted(metadata.get("calibration", {}))
      raise ValueError(f"This export has no calibrated latent for {factor!r}"
                       f"; it has: {', '.join(known) or 'none'}.")
    points = np.asarray(calibration["degrees"], np.float64)
    values = np.asarray(calibration["latent_values"], np.float64)
    order = np.argsort(points)
    points, values = points[order], values[order]
    if not np.isfinite(degrees) or not (points[0] <= degrees <= points[-1]):
      raise ValueError(
          f"--{factor}={degrees:g} is outside the calibrated range "
          f"[{points[0]:.1f}, {points[-1]:.1f}] degrees of this model.")
    latents[int(metadata["factor_latents"][factor])] = float(
        np.interp(degrees, points, values))
  return latents


def load_image_file(path: str) -> bytes:
  if not os.path.exists(path):
    raise ValueError(f"--image={path} does not exist.")
  data = open(path, "rb").read()
  try:
    Image.open(io.BytesIO(data)).verify()
  except Exception:  # pylint: disable=broad-except
    raise ValueError(f"--image={path} is not a PNG or JPEG image that can be "
                     "decoded.") from None
  return data


# Pillow's modes of 16- and 32-bit integer grayscale (16-bit PNGs).
_WIDE_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I")


def image_array(data: bytes, size: int) -> np.ndarray:
  """Encoded image -> [1, size, size, 1] float32 in [0, 1] (grayscale, area
  resize), for backends without the in-graph decoding. 16-bit grayscale is
  scaled by 65535, as the in-graph decoding does (Pillow's convert("L")
  would clip it to white)."""
  image = Image.open(io.BytesIO(data))
  if image.mode in _WIDE_GRAY_MODES:
    values = np.asarray(image, np.float64) / 65535.0
    image = Image.fromarray(np.clip(values, 0.0, 1.0).astype(np.float32),
                            mode="F")
    scale = 1.0
  else:
    image, scale = image.convert("L"), 1.0 / 255.0
  resized = image.resize((size, size), Image.Resampling.BOX)
  return (np.asarray(resized, np.float32) * scale)[None, :, :, None]


class SavedModelBackend:
  """The SavedModels of an export, in this process."""

  def __init__(self, export_dir: str, version: int):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._tf = tf
    load = lambda name: tf.saved_model.load(
        os.path.join(export_dir, name, str(version)))
    self.encoder, self.decoder = load(serving_client.ENCODER), load(
        serving_client.DECODER)

  def encode(self, data: bytes) -> np.ndarray:
    signature = self.encoder.signatures["encode_image_bytes"]
    return signature(image_bytes=self._tf.constant([data]))["mean"].numpy()

  def render(self, latents: np.ndarray) -> np.ndarray:
    return self.decoder.signatures["serving_default"](
        latents=self._tf.constant(latents, self._tf.float32))[
            "images"].numpy()


class TfliteBackend:
  """The TFLite conversions written by export.tflite (in export_dir/tflite
  unless `tflite_dir` says where)."""

  def __init__(self, export_dir: str, version: int, quantize: str,
               image_size: int, num_threads: int = NUM_THREADS,
               tflite_dir: Optional[str] = None):
    from dcign_tf import tflite  # pylint: disable=g-import-not-at-top
    if quantize not in tflite.QUANTIZATIONS:
      raise ValueError(f"--tflite={quantize} is not one of "
                       f"{', '.join(tflite.QUANTIZATIONS)}.")
    self.image_size = image_size
    runners = {}
    for name in (serving_client.ENCODER, serving_client.DECODER):
      path = os.path.join(tflite_dir or os.path.join(export_dir, "tflite"),
                          f"{name}_v{version}_{quantize}.tflite")
      if not os.path.exists(path):
        raise ValueError(
            f"{path} does not exist; convert it first: python -m "
            f"export.tflite --saved_model={export_dir}/{name}/{version} "
            f"--quantize={quantize}")
      runners[name] = tflite.Runner(open(path, "rb").read(), num_threads)
    self.encoder, self.decoder = (runners[serving_client.ENCODER],
                                  runners[serving_client.DECODER])

  def encode(self, data: bytes) -> np.ndarray:
    return self.encoder(image_array(data, self.image_size))["mean"]

  def render(self, latents: np.ndarray) -> np.ndarray:
    return self.decoder(np.asarray(latents, np.float32))["images"]


class RestBackend:
  """A TF Serving REST endpoint serving the export."""

  def __init__(self, server: str, version: Optional[int] = None):
    self.client = serving_client.RestClient(server, version=version)

  def encode(self, data: bytes) -> np.ndarray:
    return self.client.predict(serving_client.ENCODER, {"image_bytes": [data]},
                               "encode_image_bytes")["mean"]

  def render(self, latents: np.ndarray) -> np.ndarray:
    return self.client.render(latents)["images"]


def rerender(backend, metadata: dict, image: bytes, targets: dict) -> dict:
  """{"code", "new_code" [1, N], "reconstruction", "image" [S, S]}."""
  latents = target_latents(metadata, targets)
  code = np.asarray(backend.encode(image), np.float32)
  new_code = code.copy()
  for index, value in latents.items():
    new_code[:, index] = value
  pictures = backend.render(np.concatenate([code, new_code]))
  return {"code": code, "new_code": new_code,
          "reconstruction": pictures[0, ..., 0],
          "image": pictures[1, ..., 0]}


def write_png(path: str, image: np.ndarray, overwrite: bool = False):
  """Writes a [S, S] image in [0, 1] as an 8-bit PNG, atomically."""
  if os.path.exists(path) and not overwrite:
    raise ValueError(f"--out={path} exists; pass --overwrite to replace it.")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  partial = f"{path}.tmp-{os.getpid()}.png"
  Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(
      np.uint8)).save(partial)
  os.replace(partial, path)
