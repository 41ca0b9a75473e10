r"""Re-renders a photo from a new viewpoint or under a new light, using only
the exported models.

  python -m export.rerender --export_dir=outputs/faces_quick/export \
      --image=face.png --azimuth=30 --out=outputs/face_az30.png

Angles are in degrees, within the ranges the model was trained on (azimuth:
positive turns the face towards the image's left; elevation: positive looks
down on the head; light: positive lights the face from the image's right). Factors not given keep the photo's own value.
By default the SavedModels run in this process; --tflite=none|float16|
dynamic|int8 runs the converted TFLite files instead, and --server=HOST:8501
sends the requests to TF Serving's REST API (the export dir still supplies
the calibration).
"""

import os

from absl import flags
from absl import logging
import numpy as np

from dcign_tf import atomic_files
from dcign_tf import cli
from dcign_tf import rerender as rerender_lib

_EXPORT_DIR = flags.DEFINE_string("export_dir", None,
                                  "The export folder (export.saved_model's "
                                  "--export_dir).")
_IMAGE = flags.DEFINE_string("image", None, "A PNG or JPEG face photo.")
_OUT = flags.DEFINE_string("out", None, "Where the re-rendered PNG goes.")
_FACTORS = {name: flags.DEFINE_float(name, None, f"Target {name} in degrees.")
            for name in rerender_lib.FACTORS}
_VERSION = flags.DEFINE_integer("version", None,
                                "Export version (default: the latest).")
_TFLITE = flags.DEFINE_string(
    "tflite", None, "Run the TFLite conversion with this quantization "
    "(none, float16, dynamic or int8) instead of the SavedModels.")
_SERVER = flags.DEFINE_string(
    "server", None, "Use TF Serving's REST API at HOST:PORT instead.")
_SHEET = flags.DEFINE_string(
    "sheet", None, "Also write input | reconstruction | re-render side by "
    "side to this PNG.")
_THREADS = flags.DEFINE_integer("num_threads", rerender_lib.NUM_THREADS,
                               "TFLite threads.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace existing output PNGs.")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  for name, flag in (("export_dir", _EXPORT_DIR), ("image", _IMAGE),
                     ("out", _OUT)):
    if not flag.value:
      raise ValueError(f"--{name} is required.")
  targets = {name: flag.value for name, flag in _FACTORS.items()
             if flag.value is not None}
  if not targets:
    raise ValueError("Give at least one of --azimuth, --elevation, --light "
                     "(degrees).")
  if _TFLITE.value and _SERVER.value:
    raise ValueError("--tflite and --server exclude each other.")
  # Everything is checked before the models load.
  version, metadata = rerender_lib.read_metadata(_EXPORT_DIR.value,
                                                 _VERSION.value)
  latents = rerender_lib.target_latents(metadata, targets)
  image = rerender_lib.load_image_file(_IMAGE.value)
  for name, path in (("out", _OUT.value), ("sheet", _SHEET.value)):
    if path and os.path.exists(path) and not _OVERWRITE.value:
      raise ValueError(f"{path} exists; pass --overwrite to replace it.")
    if path:
      atomic_files.check_output_file(path, name)
  if _SERVER.value:
    backend = rerender_lib.RestBackend(_SERVER.value, version)
  elif _TFLITE.value:
    backend = rerender_lib.TfliteBackend(
        _EXPORT_DIR.value, version, _TFLITE.value,
        int(metadata["image_size"]), _THREADS.value)
  else:
    backend = rerender_lib.SavedModelBackend(_EXPORT_DIR.value, version)
  result = rerender_lib.rerender(backend, metadata, image, targets)
  rerender_lib.write_png(_OUT.value, result["image"], overwrite=True)
  print(f"{_OUT.value}: " + ", ".join(
      f"{name} {degrees:g} deg (z{index + 1}: "
      f"{result['code'][0, index]:.2f} -> {value:.2f})"
      for (name, degrees), (index, value) in zip(targets.items(),
                                                 latents.items())))
  if _SHEET.value:
    size = int(metadata["image_size"])
    photo = rerender_lib.image_array(image, size)[0, ..., 0]
    sheet = np.concatenate([photo, result["reconstruction"],
                            result["image"]], axis=1)
    rerender_lib.write_png(_SHEET.value, sheet, overwrite=True)
    print(f"{_SHEET.value}: input | reconstruction | re-render")


if __name__ == "__main__":
  cli.run(main)
