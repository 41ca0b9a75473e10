"""The conversion behind `python -m export.tflite`, as testable functions.

  OUT/encoder/<version>/  ->  OUT/tflite/encoder_v<version>_<quantize>.tflite
  OUT/decoder/<version>/  ->  OUT/tflite/decoder_v<version>_<quantize>.tflite

Every conversion is checked before its file is written: the TFLite model runs
under ai_edge_litert's interpreter on held-out inputs (test-split renders
of the model's own dataset, or for the decoder their codes from the encoder
of the same version) and is compared with the SavedModel's serving
signature. int8 calibrates on the training split of the same source.
"""

import dataclasses
import json
import math
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from dcign_tf import data_sources
from dcign_tf import serving
from dcign_tf import tflite
from dcign_tf import train_config as train_config_lib
from dcign_tf.data import factors

TFLITE_FOLDER = "tflite"


# Held-out inputs the converted model is checked on, training inputs that
# calibrate int8 activation ranges, and the interpreter's threads.
CHECK_SAMPLES = 64
REPRESENTATIVE_SAMPLES = 200
NUM_THREADS = 1
DEFAULT_QUANTIZE = "none"

@dataclasses.dataclass(frozen=True)
class ExportedModel:
  """One version folder of an export: OUT/<name>/<version>."""

  path: str
  export_dir: str
  name: str
  version: int
  metadata: dict

  @property
  def input_name(self) -> str:
    return "images" if self.name == serving.ENCODER else "latents"


def exported_model(saved_model: str) -> ExportedModel:
  """Reads a version folder written by export.saved_model; clear errors
  for anything else."""
  path = os.path.normpath(saved_model)
  version, name = os.path.basename(path), os.path.basename(
      os.path.dirname(path))
  if not os.path.exists(os.path.join(path, "saved_model.pb")):
    raise ValueError(f"--saved_model={saved_model} is not a SavedModel "
                     "folder (no saved_model.pb); give a version folder "
                     "such as OUT/decoder/1.")
  if name not in (serving.ENCODER, serving.DECODER) or not version.isdigit():
    raise ValueError(f"--saved_model={saved_model} is not OUT/encoder/<N> or "
                     "OUT/decoder/<N> as export.saved_model writes them.")
  metadata_path = os.path.join(path, "assets", serving.METADATA_FILE)
  if not os.path.exists(metadata_path):
    raise ValueError(f"{saved_model} has no assets/{serving.METADATA_FILE}; "
                     "it was not written by export.saved_model.")
  with open(metadata_path) as stream:
    metadata = json.load(stream)
  return ExportedModel(path, os.path.dirname(os.path.dirname(path)), name,
                       int(version), metadata)


def default_output(model: ExportedModel, quantize: str) -> str:
  return os.path.join(model.export_dir, TFLITE_FOLDER,
                      f"{model.name}_v{model.version}_{quantize}.tflite")


def data_source(model: ExportedModel, workers: int = 0):
  """The data source the model was trained on, from its export's record."""
  dataset = model.metadata.get("dataset")
  if dataset is None:
    raise ValueError(f"{model.path} does not record its dataset; export the "
                     "model again to convert it.")
  return data_sources.source_for(train_config_lib.config_from_dict(
      {**dataset, "model_dir": "", "workers": workers}))


def rendered_images(model: ExportedModel, split: str, count: int,
                    workers: int = 0) -> np.ndarray:
  """`count` images [count, S, S, C] in [0, 1] from `split` ("train" or
  "test") of the model's dataset, all group types mixed."""
  source = data_source(model, workers)
  if source.rendered:
    per_type = max(1, math.ceil(count / (len(factors.GroupType) *
                                         source.config.group_size)))
    images = source.evaluation_groups(per_type, 0, split)["images"]
  else:
    images = source.images(split).astype(np.float32) / 255.0
  order = np.random.default_rng(0).permutation(len(images))[:count]
  return images[np.sort(order)]


def model_inputs(model: ExportedModel, split: str, count: int,
                 workers: int = 0) -> tuple:
  """(inputs, description): images for an encoder; for a decoder, the codes
  that the encoder of the same version gives those images (or prior
  samples when there is no such encoder)."""
  images = rendered_images(model, split, count, workers)
  if model.name == serving.ENCODER:
    return images, f"{len(images)} {split} renders"
  encoder_path = os.path.join(model.export_dir, serving.ENCODER,
                              str(model.version))
  if os.path.isdir(encoder_path):
    encoder = tf.saved_model.load(encoder_path).signatures["serving_default"]
    codes = encoder(images=tf.constant(images))["mean"].numpy()
    return codes, f"codes of {len(images)} {split} renders"
  latent_size = int(model.metadata["latent_size"])
  rng = np.random.default_rng(1 if split == "test" else 0)
  return (rng.standard_normal((count, latent_size)).astype(np.float32),
          f"{count} prior samples (no encoder v{model.version} beside it)")


def saved_model_outputs(model: ExportedModel, inputs: np.ndarray,
                        batch_size: int = 64) -> dict:
  signature = tf.saved_model.load(model.path).signatures["serving_default"]
  parts = [signature(**{model.input_name: tf.constant(
      inputs[start:start + batch_size])})
           for start in range(0, len(inputs), batch_size)]
  return {name: np.concatenate([part[name].numpy() for part in parts])
          for name in parts[0]}


def check_request(saved_model: str, quantize: str, output: Optional[str],
                  overwrite: bool) -> tuple:
  """Validates the arguments before any work; (model, output path)."""
  if quantize not in tflite.QUANTIZATIONS:
    raise ValueError(f"--quantize={quantize!r} is not one of "
                     f"{', '.join(tflite.QUANTIZATIONS)}.")
  model = exported_model(saved_model)
  output = output or default_output(model, quantize)
  if os.path.exists(output) and not overwrite:
    raise ValueError(f"{output} exists; pass --overwrite to replace it or "
                     "--output to write elsewhere.")
  return model, output


def convert(saved_model: str, quantize: str = DEFAULT_QUANTIZE,
            output: Optional[str] = None, overwrite: bool = False,
            samples: int = CHECK_SAMPLES,
            representative_samples: int = REPRESENTATIVE_SAMPLES,
            num_threads: int = NUM_THREADS, workers: int = 0) -> dict:
  """Converts, validates against the SavedModel and writes the file.

  Raises tflite.ConversionError (and writes nothing) when the TFLite model
  is further from the SavedModel than `tflite.TOLERANCES` allows.

  Returns:
    {"output", "bytes", "quantize", "inputs", "errors": {output name:
    {"max_abs_error", "psnr_db"}}}.
  """
  model, output = check_request(saved_model, quantize, output, overwrite)
  representative = None
  if quantize == "int8":
    calibration, _ = model_inputs(model, "train", representative_samples,
                                  workers)
    representative = lambda: (calibration[i:i + 1]
                              for i in range(len(calibration)))
  content = tflite.convert(model.path, quantize, representative)
  inputs, description = model_inputs(model, "test", samples, workers)
  expected = saved_model_outputs(model, inputs)
  actual = tflite.Runner(content, num_threads)(inputs)
  errors = tflite.compare(expected, actual)
  tflite.check_tolerance(errors, quantize)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  partial = f"{output}.tmp-{os.getpid()}"
  with open(partial, "wb") as stream:
    stream.write(content)
  os.replace(partial, output)
  return {"output": output, "bytes": len(content), "quantize": quantize,
          "inputs": description, "errors": errors}


def summary(report: dict) -> str:
  lines = [f"{report['output']}: {report['bytes'] / 1024:.1f} KiB, "
           f"{report['quantize']}, checked on {report['inputs']}"]
  tolerance = tflite.TOLERANCES.get(report["quantize"])
  for name, error in report["errors"].items():
    limit = f" (allowed {tolerance:.3g})" if tolerance else ""
    lines.append(f"  {name}: max abs error {error['max_abs_error']:.3g}"
                 f"{limit}, PSNR {error['psnr_db']:.1f} dB")
  return "\n".join(lines)
