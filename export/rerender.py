r"""Re-renders a photo from a new viewpoint or under a new light, using only
the exported models.

  python -m export.rerender --export_dir=outputs/faces_quick/export \
      --image=face.png --azimuth=30 --out=outputs/face_az30.png
  python -m export.rerender --preset=faces_64 --image=face.png \
      --azimuth=30 --out=outputs/face_az30.png
  python -m export.rerender --preset=faces_64 --test_image=0 \
      --azimuth=30 --out=outputs/face_az30.png --sheet=outputs/sheet.png

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
from dcign_tf import explorer
from dcign_tf import pretrained
from dcign_tf import tflite
from dcign_tf import rerender as rerender_lib

_EXPORT_DIR = flags.DEFINE_string("export_dir", None,
                                  "The export folder (export.saved_model's "
                                  "--export_dir).")
_PRESET = flags.DEFINE_string(
    "preset", None, "A trained model shipped with dcign_tf (e.g. faces_64), "
    "instead of --export_dir.")
_IMAGE = flags.DEFINE_string("image", None, "A PNG or JPEG face photo.")
_TEST_IMAGE = flags.DEFINE_integer(
    "test_image", None, "Instead of --image: the N-th held-out test render "
    "of the model's own dataset (0 to 99).")
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
  if _PRESET.value and _EXPORT_DIR.value:
    raise ValueError(f"--preset={_PRESET.value} and --export_dir="
                     f"{_EXPORT_DIR.value} exclude each other; give one.")
  if not (_PRESET.value or _EXPORT_DIR.value):
    raise ValueError("--export_dir or --preset is required.")
  if _IMAGE.value and _TEST_IMAGE.value is not None:
    raise ValueError(f"--image={_IMAGE.value} and --test_image="
                     f"{_TEST_IMAGE.value} exclude each other; give one.")
  if not _IMAGE.value and _TEST_IMAGE.value is None:
    raise ValueError("--image (a face photo) or --test_image (a held-out "
                     "test render) is required.")
  if _TEST_IMAGE.value is not None and not 0 <= _TEST_IMAGE.value < 100:
    raise ValueError(f"--test_image must be in [0, 99], got "
                     f"{_TEST_IMAGE.value}.")
  if not _OUT.value:
    raise ValueError("--out is required.")
  targets = {name: flag.value for name, flag in _FACTORS.items()
             if flag.value is not None}
  if not targets:
    raise ValueError("Give at least one of --azimuth, --elevation, --light "
                     "(degrees).")
  if _TFLITE.value and _SERVER.value:
    raise ValueError("--tflite and --server exclude each other.")
  if _PRESET.value and _SERVER.value:
    raise ValueError("--preset runs the models in this process; --server "
                     "needs --export_dir (the export the server serves).")
  if _TFLITE.value and _TFLITE.value not in tflite.QUANTIZATIONS:
    raise ValueError(f"--tflite={_TFLITE.value} is not one of "
                     f"{', '.join(tflite.QUANTIZATIONS)}.")
  # Everything is checked before the models load.
  image = (rerender_lib.load_image_file(_IMAGE.value) if _IMAGE.value
           else None)
  for name, path in (("out", _OUT.value), ("sheet", _SHEET.value)):
    if path and os.path.exists(path) and not _OVERWRITE.value:
      raise ValueError(f"{path} exists; pass --overwrite to replace it.")
    if path:
      atomic_files.check_output_file(path, name)
  # A preset's export is made once, in the cache (the package is not
  # written to); its files are checked against their checksums first.
  export_dir = _EXPORT_DIR.value
  if _PRESET.value:
    export_dir = (pretrained.tflite_files(_PRESET.value, _TFLITE.value)
                  if _TFLITE.value else pretrained.export(_PRESET.value))
  version, metadata = rerender_lib.read_metadata(export_dir, _VERSION.value)
  latents = rerender_lib.target_latents(metadata, targets)
  if image is None:
    image = explorer.test_renders(export_dir, version,
                                  _TEST_IMAGE.value + 1)[-1]
  if _SERVER.value:
    backend = rerender_lib.RestBackend(_SERVER.value, version)
  elif _TFLITE.value:
    backend = rerender_lib.TfliteBackend(
        export_dir, version, _TFLITE.value,
        int(metadata["image_size"]), _THREADS.value)
  else:
    backend = rerender_lib.SavedModelBackend(export_dir, version)
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
