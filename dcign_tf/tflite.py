"""TFLite conversion of the exported encoder and decoder, and its check.

The decoder alone is a small rendering engine for devices: a graphics code in,
an image out. `convert` turns an exported SavedModel's `on_device` function
(its serving signature without the value checks, for which TFLite has no
ops) into a TFLite flatbuffer at one of four precisions; `compare` measures
how far the TFLite outputs are from the SavedModel's, run through
ai_edge_litert's interpreter (`Runner`), the runtime devices use.
"""

import math
from typing import Callable, Iterable, Optional

import numpy as np
import tensorflow as tf

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
# Largest absolute difference from the SavedModel that a conversion may
# show. float16 weights round to about 3 decimal digits: 2/255 is the
# "invisible in an 8-bit image" bound. The integer variants change the
# arithmetic and have no bound; their error is reported.
TOLERANCES = {"none": 1e-4, "float16": 2.0 / 255.0}
ON_DEVICE_FUNCTION = "on_device"


class ConversionError(ValueError):
  """A TFLite model differs from its SavedModel by more than allowed."""


def on_device_function(saved_model: str):
  """The loaded SavedModel and its `on_device` concrete function."""
  loaded = tf.saved_model.load(saved_model)
  function = getattr(loaded, ON_DEVICE_FUNCTION, None)
  if function is None:
    raise ValueError(
        f"{saved_model} has no '{ON_DEVICE_FUNCTION}' function: it was not "
        "written by this version of export.saved_model. Export the model "
        "again (a new version) and convert that.")
  return loaded, function.get_concrete_function()


def convert(saved_model: str, quantize: str = "none",
            representative: Optional[Callable[[], Iterable]] = None) -> bytes:
  """The TFLite flatbuffer of an exported encoder or decoder.

  Args:
    saved_model: a version folder written by export.saved_model.
    quantize: "none" (float32), "float16" (float16 weights, float32
      arithmetic), "dynamic" (int8 weights, activations quantised on the
      fly) or "int8" (int8 weights and activations, calibrated on
      `representative`; inputs and outputs stay float32).
    representative: for int8, a callable returning an iterable of input
      batches (NumPy float32, the signature's input shape).
  """
  if quantize not in QUANTIZATIONS:
    raise ValueError(f"Unknown quantization {quantize!r}; allowed: "
                     f"{', '.join(QUANTIZATIONS)}.")
  if quantize == "int8" and representative is None:
    raise ValueError("int8 quantization needs representative inputs.")
  loaded, function = on_device_function(saved_model)
  converter = tf.lite.TFLiteConverter.from_concrete_functions([function],
                                                              loaded)
  if quantize != "none":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantize == "float16":
    converter.target_spec.supported_types = [tf.float16]
  elif quantize == "int8":
    converter.representative_dataset = lambda: ([batch] for batch in
                                                representative())
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  return converter.convert()


class Runner:
  """A TFLite model under ai_edge_litert's interpreter, called like the
  SavedModel signature it came from: runner(batch) -> {output: array}.

  The batch size may change between calls (the tensors are resized).
  """

  def __init__(self, model_content: bytes, num_threads: int = 1):
    # Imported here: only conversion checks and on-device runs need it.
    from ai_edge_litert import interpreter as litert  # pylint: disable=g-import-not-at-top
    self.interpreter = litert.Interpreter(model_content=model_content,
                                          num_threads=num_threads)
    inputs = self.interpreter.get_input_details()
    if len(inputs) != 1:
      raise ValueError(f"Expected a model with one input, got {len(inputs)}.")
    self._input = inputs[0]
    self._outputs = {}
    signature = self.interpreter.get_signature_list()
    # Output names come from the signature (mean, stddev / images).
    outputs = next(iter(signature.values()))["outputs"] if signature else []
    runner = (self.interpreter.get_signature_runner()
              if signature else None)
    if runner is not None:
      details = runner.get_output_details()
      self._outputs = {name: details[name]["index"] for name in outputs}
    else:
      self._outputs = {detail["name"]: detail["index"]
                       for detail in self.interpreter.get_output_details()}
    self._shape = None

  @property
  def input_shape(self) -> tuple:
    """The input shape with -1 for the batch."""
    return tuple(int(d) for d in self._input["shape_signature"])

  def _resize(self, shape):
    if shape != self._shape:
      self.interpreter.resize_tensor_input(self._input["index"], list(shape))
      self.interpreter.allocate_tensors()
      self._shape = shape

  def __call__(self, batch: np.ndarray) -> dict:
    batch = np.ascontiguousarray(batch, dtype=np.float32)
    expected = self.input_shape
    if batch.ndim != len(expected) or any(
        e not in (-1, d) for e, d in zip(expected, batch.shape)):
      raise ValueError(f"Input of shape {batch.shape} does not fit the "
                       f"model's {expected} (-1: any batch size).")
    self._resize(batch.shape)
    self.interpreter.set_tensor(self._input["index"], batch)
    self.interpreter.invoke()
    return {name: self.interpreter.get_tensor(index).copy()
            for name, index in self._outputs.items()}


# Pixels lie in [0, 1]: their PSNR peak is 1 whatever a batch spans.
PEAKS = {"images": 1.0}


def psnr(expected: np.ndarray, actual: np.ndarray,
         peak: Optional[float] = None) -> float:
  """Peak signal-to-noise ratio in dB; the peak defaults to the range of
  `expected`. inf when they are equal."""
  expected = np.asarray(expected, np.float64)
  mse = float(np.mean((expected - np.asarray(actual, np.float64)) ** 2))
  if peak is None:
    peak = float(expected.max() - expected.min()) or 1.0
  return math.inf if mse == 0 else 10.0 * math.log10(peak ** 2 / mse)


def compare(expected: dict, actual: dict) -> dict:
  """Per output: max absolute error and PSNR of `actual` against
  `expected` ({name: array} each, the same names); the PSNR peak is 1 for
  images and the expected range for latents."""
  missing = sorted(set(expected) - set(actual))
  if missing:
    raise ValueError(f"The TFLite model lacks the outputs {missing}.")
  return {name: {"max_abs_error": float(np.max(np.abs(
      np.asarray(expected[name], np.float64) - actual[name]))),
                 "psnr_db": psnr(expected[name], actual[name],
                                 PEAKS.get(name))}
          for name in expected}


def check_tolerance(errors: dict, quantize: str):
  """Raises ConversionError when an output exceeds the quantization's
  tolerance (none for dynamic and int8)."""
  tolerance = TOLERANCES.get(quantize)
  if tolerance is None:
    return
  for name, error in errors.items():
    if not error["max_abs_error"] <= tolerance:
      raise ConversionError(
          f"The {quantize} TFLite model's output {name!r} differs from the "
          f"SavedModel by up to {error['max_abs_error']:.3g}; the allowed "
          f"maximum for {quantize} is {tolerance:.3g}.")
