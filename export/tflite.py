r"""Converts an exported encoder or decoder to TFLite and checks it.

  python -m export.tflite --saved_model=OUT/decoder/1 --quantize=float16
  python -m export.tflite --preset=faces_64 --quantize=float16

--quantize: none (float32), float16 (half-size weights), dynamic (int8
weights) or int8 (int8 weights and activations, calibrated on renders of
the training split; inputs and outputs stay float32). Before the file is
written the TFLite model runs under ai_edge_litert's interpreter on
held-out inputs; the command prints the max absolute error, the PSNR and the
file size, and fails (writing nothing) if float32 differs from the
SavedModel by more than 1e-4 or float16 by more than 2/255. The file goes
to OUT/tflite/<encoder|decoder>_v<N>_<quantize>.tflite unless --output says
otherwise.
"""

import os

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import pretrained
from dcign_tf import tflite
from dcign_tf import tflite_export

_SAVED_MODEL = flags.DEFINE_string(
    "saved_model", None, "A version folder from export.saved_model, e.g. "
    "OUT/decoder/1.")
_QUANTIZE = flags.DEFINE_string(
    "quantize", tflite_export.DEFAULT_QUANTIZE, f"One of {', '.join(tflite.QUANTIZATIONS)}.")
_PRESET = flags.DEFINE_string(
    "preset", None, "A trained model shipped with dcign_tf (e.g. faces_64): "
    "converts its encoder and decoder, instead of --saved_model.")
_OUTPUT = flags.DEFINE_string(
    "output", None, "The .tflite file (default: OUT/tflite/<name>_v<N>_"
    "<quantize>.tflite).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace an existing output file.")
_SAMPLES = flags.DEFINE_integer("samples", tflite_export.CHECK_SAMPLES,
                                "Held-out inputs the check runs on.")
_REPRESENTATIVE = flags.DEFINE_integer(
    "representative_samples", tflite_export.REPRESENTATIVE_SAMPLES, "int8: training inputs that calibrate "
    "the activation ranges.")
_THREADS = flags.DEFINE_integer("num_threads", tflite_export.NUM_THREADS,
                                "Interpreter threads for the check.")
_WORKERS = flags.DEFINE_integer("workers", 0,
                                "Render processes (0: one per core).")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  if _PRESET.value and _SAVED_MODEL.value:
    raise ValueError(f"--preset={_PRESET.value} and --saved_model="
                     f"{_SAVED_MODEL.value} exclude each other; give one.")
  if _PRESET.value and _OUTPUT.value:
    raise ValueError("--output names one file, but --preset converts the "
                     "preset's encoder and decoder (into its export's "
                     "tflite folder); leave --output out.")
  if not (_SAVED_MODEL.value or _PRESET.value):
    raise ValueError("--saved_model is required: a version folder written "
                     "by export.saved_model, e.g. OUT/decoder/1 (or "
                     "--preset=NAME).")
  for name, flag in (("samples", _SAMPLES), ("representative_samples",
                                             _REPRESENTATIVE),
                     ("num_threads", _THREADS)):
    if flag.value < 1:
      raise ValueError(f"--{name} must be >= 1, got {flag.value}.")
  if _QUANTIZE.value not in tflite.QUANTIZATIONS:
    raise ValueError(f"--quantize={_QUANTIZE.value!r} is not one of "
                     f"{', '.join(tflite.QUANTIZATIONS)}.")
  saved_models = [_SAVED_MODEL.value]
  if _PRESET.value:
    saved_models = pretrained.saved_models(pretrained.export(_PRESET.value))
  for saved_model in saved_models:
    model = tflite_export.exported_model(saved_model)
    output = _OUTPUT.value or tflite_export.default_output(model,
                                                           _QUANTIZE.value)
    if _PRESET.value and os.path.exists(output) and not _OVERWRITE.value:
      print(f"{output}: converted and checked earlier.")
      continue
    report = tflite_export.convert(
        saved_model, _QUANTIZE.value, output, _OVERWRITE.value,
        _SAMPLES.value, _REPRESENTATIVE.value, _THREADS.value,
        _WORKERS.value)
    print(tflite_export.summary(report))


if __name__ == "__main__":
  cli.run(main)
