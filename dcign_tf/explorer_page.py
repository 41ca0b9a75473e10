"""The explorer's Gradio page: sliders that turn, nod and relight a face.

`build_app` lays the page out over an `explorer.Explorer` (which holds the
models and the maths); `explorer_source` resolves which exported models
it serves. Gradio is imported only when a page is built, so the package
works without the `demo` extra.
"""

import os
import tempfile

import numpy as np

from dcign_tf import explorer as explorer_lib
from dcign_tf import pretrained
from dcign_tf import rerender as rerender_lib
from dcign_tf import saved_model_export
from dcign_tf import serving
from dcign_tf import tflite_export

# No usage reports leave the machine (set before Gradio is imported).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Rendered images are shown this many times their size, pixel for pixel.
DISPLAY_SCALE = 4


def explorer_source(preset, model_dir, export_dir) -> tuple:
  """(export dir, tflite dir or None): exactly one source must be given.
  A preset's float16 TFLite files are made in its cache; an export without
  them gets them converted into a temporary folder (nothing is written
  beside the user's files)."""
  given = [f"--{name}={value}" for name, value in (
      ("preset", preset), ("model_dir", model_dir),
      ("export_dir", export_dir)) if value]
  if len(given) != 1:
    raise ValueError("Give exactly one of --preset, --model_dir and "
                     f"--export_dir; got {', '.join(given) or 'none'}.")
  if preset:
    return pretrained.tflite_files(preset, "float16"), None
  if model_dir:
    export_dir = saved_model_export.default_export_dir(model_dir)
    if not os.path.isdir(export_dir):
      raise ValueError(f"--model_dir={model_dir} has no export; run python "
                       f"-m export.saved_model --model_dir={model_dir} "
                       "first.")
  version = serving.complete_version(export_dir) if os.path.isdir(
      export_dir) else None
  if not version:
    raise ValueError(f"{export_dir} holds no complete export; run "
                     "export.saved_model first.")
  model = tflite_export.exported_model(os.path.join(
      export_dir, serving.DECODER, str(version)))
  if os.path.exists(tflite_export.default_output(model, "float16")):
    return export_dir, None
  tflite_dir = tempfile.mkdtemp(prefix="dcign_explore_tflite_")
  print("Converting the encoder and decoder to float16 TFLite for the "
        "on-device switch...")
  for name in (serving.ENCODER, serving.DECODER):
    saved_model = os.path.join(export_dir, name, str(version))
    tflite_export.convert(saved_model, "float16", os.path.join(
        tflite_dir, f"{name}_v{version}_float16.tflite"))
  return export_dir, tflite_dir


def display(image: np.ndarray) -> np.ndarray:
  """[S, S] in [0, 1] -> uint8 [S*k, S*k], each pixel a k x k block."""
  pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
  return np.kron(pixels, np.ones((DISPLAY_SCALE, DISPLAY_SCALE), np.uint8))


def reading_text(explorer, data: bytes) -> str:
  code = explorer.encode(explorer_lib.SAVED_MODEL, data)
  readings = explorer_lib.read_angles(explorer.metadata, code)
  return "The encoder reads: " + ", ".join(
      f"{factor} {degrees:+.0f}°" for factor, degrees in readings.items())


def build_app(explorer, gallery_size: int = explorer_lib.GALLERY_SIZE,
              title: str = "dcign_tf explorer"):
  """The Gradio Blocks page over an `explorer.Explorer`. Its `rerender`
  endpoint takes (image file, decoder, azimuth, elevation, light, and one
  offset per intrinsic slider) and returns (image, notes)."""
  import gradio as gr  # pylint: disable=g-import-not-at-top

  folder = tempfile.mkdtemp(prefix="dcign_explore_")
  gallery_files = []
  images = explorer.test_images(gallery_size)
  for index, data in enumerate(images):
    path = os.path.join(folder, f"test_{index:02d}.png")
    with open(path, "wb") as stream:
      stream.write(data)
    gallery_files.append(path)
  intrinsic = explorer.choose_intrinsic_sliders(images)
  # A first re-render per decoder traces its graph now, not on the page.
  for name in explorer.backends:
    explorer.render(name, images[0], {})
  ranges = explorer_lib.slider_limits(explorer.metadata)
  factors = list(ranges)
  backends = [name for name in explorer_lib.BACKENDS
              if name in explorer.backends]

  def rerender(path, backend, *values):
    try:
      data = explorer_lib.read_upload(path)
      angles = dict(zip(factors, values[:len(factors)]))
      offsets = {latent: value for (latent, _), value in
                 zip(intrinsic, values[len(factors):])}
      image, notes = explorer.render(backend, data, angles, offsets)
    except ValueError as error:
      return None, f"**{error}**"
    lines = [reading_text(explorer, data)] + [f"**{n}**" for n in notes]
    return display(image), "\n\n".join(lines)

  def choose(path):
    """A new input: sliders to what the encoder reads, offsets to 0."""
    try:
      data = explorer_lib.read_upload(path)
    except ValueError as error:
      return [gr.update()] * (2 + len(factors) + len(intrinsic)) + [
          gr.update(), f"**{error}** The previous image is kept."]
    readings = explorer_lib.read_angles(
        explorer.metadata, explorer.encode(explorer_lib.SAVED_MODEL, data))
    values = [round(readings[f], 1) for f in factors] + [0.0] * len(intrinsic)
    image, text = rerender(path, backends[0], *values)
    seen = rerender_lib.image_array(data, explorer.image_size)[0, ..., 0]
    return [path, display(seen)] + values + [image, text]

  with gr.Blocks(title=title) as app:
    gr.Markdown(f"# {title}\nPick a test render or upload a face; the "
                "sliders re-render it at another angle or light "
                "(calibrated degrees) or move its identity latents.")
    # The input's file: what every re-render reads (an image component
    # would decode it first, and fail on a file that is not an image).
    current = gr.File(visible=False, type="filepath")
    with gr.Row():
      source = gr.Image(label="Input, as the model sees it", format="png",
                        interactive=False, height=256)
      output = gr.Image(label="Re-rendered", format="png",
                        interactive=False, height=256)
    notes = gr.Markdown()
    with gr.Row():
      with gr.Column(scale=1):
        gallery = gr.Gallery(value=gallery_files, label="Held-out test "
                             "renders (click one)", columns=4, height=300,
                             allow_preview=False)
        upload = gr.File(label="Or upload an image (PNG or JPEG, at most "
                         f"{explorer_lib.MAX_PIXELS // 1_000_000} MP)",
                         type="filepath", height=120)
      with gr.Column(scale=1):
        backend = gr.Radio(backends, value=backends[0], label="Decoder")
        angle_sliders = [
            gr.Slider(low, high, value=0.0, step=0.5,
                      label=f"{factor} (degrees)")
            for factor, (low, high) in ranges.items()]
        offset_sliders = [
            gr.Slider(-explorer_lib.INTRINSIC_REACH,
                      explorer_lib.INTRINSIC_REACH, value=0.0, step=0.1,
                      label=f"z{latent + 1} (identity; in spreads of "
                      f"{spread:.2f})")
            for latent, spread in intrinsic]
    sliders = angle_sliders + offset_sliders
    inputs = [current, backend] + sliders
    chosen = [current, source] + sliders + [output, notes]
    # The page's own events stay off the API; `rerender` is its one
    # endpoint (what gradio_client calls).
    hidden = gr.Button(visible=False)
    hidden.click(rerender, inputs, [output, notes], api_name="rerender")
    private = {"api_visibility": "private"}
    gallery.select(_selector(choose, gallery_files), None, chosen, **private)
    upload.upload(choose, upload, chosen, **private)
    for control in sliders + [backend]:
      control.input(rerender, inputs, [output, notes],
                    trigger_mode="always_last", **private)
    app.load(lambda: choose(gallery_files[0]), None, chosen, **private)
  return app


def _selector(choose, files):
  import gradio as gr  # pylint: disable=g-import-not-at-top

  def select(event: gr.SelectData):
    return choose(files[event.index])
  return select


def require_gradio():
  """Raises ValueError naming the install command when Gradio is missing."""
  try:
    import gradio  # pylint: disable=g-import-not-at-top
  except ImportError:
    gradio = None
  # A folder named gradio in the working directory imports as an empty
  # namespace package.
  if not hasattr(gradio, "Blocks"):
    raise ValueError("The explorer needs Gradio: pip install -e "
                     "\".[demo]\"")
