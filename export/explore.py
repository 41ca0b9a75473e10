r"""An interactive page to turn, nod and relight a face with sliders.

  pip install -e ".[demo]"
  python -m export.explore --preset=faces_64
  python -m export.explore --model_dir=outputs/faces_quick   # its export
  python -m export.explore --export_dir=outputs/faces_quick/export

Pick a held-out test render from the gallery or upload an image; the page
shows what the encoder reads (its azimuth, elevation and light in
degrees) and the face re-rendered at the sliders' angles, calibrated so
that 30 means 30 degrees. Four more sliders move the identity latents that
vary most. A switch renders with the SavedModels or with their float16
TFLite conversions, the files a phone would run. The page is served on
127.0.0.1 only.
"""

from absl import flags
from absl import logging

from dcign_tf import cli
from dcign_tf import explorer as explorer_lib
from dcign_tf import explorer_page

_PRESET = flags.DEFINE_string("preset", None,
                              "A trained model shipped with dcign_tf, e.g. "
                              "faces_64.")
_MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "A trained model dir, exported with "
    "export.saved_model (its MODEL_DIR/export is used).")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None,
                                  "An export.saved_model folder.")
_PORT = flags.DEFINE_integer("port", 7860, "The port on 127.0.0.1.")
_GALLERY = flags.DEFINE_integer("gallery_size", explorer_lib.GALLERY_SIZE,
                                "Test renders in the gallery.")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  explorer_page.require_gradio()
  export_dir, tflite_dir = explorer_page.explorer_source(
      _PRESET.value, _MODEL_DIR.value, _EXPORT_DIR.value)
  explorer = explorer_lib.Explorer(export_dir, tflite_dir=tflite_dir)
  title = f"dcign_tf explorer: {_PRESET.value or export_dir}"
  app = explorer_page.build_app(explorer, _GALLERY.value, title)
  print(f"Serving on http://127.0.0.1:{_PORT.value}/ (Ctrl-C stops it)")
  app.launch(server_name="127.0.0.1", server_port=_PORT.value,
             show_error=True)


if __name__ == "__main__":
  cli.run(main)
