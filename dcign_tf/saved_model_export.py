"""The export behind `python -m export.saved_model`, as testable functions.

Writes a trained model dir as TF Serving's layout:

  OUT/encoder/<version>/   SavedModel, signatures serving_default and
                           encode_image_bytes; assets/dcign.json
  OUT/decoder/<version>/   SavedModel, signature serving_default
  OUT/models.config        a model_config_list serving both
  OUT/dcign_export.json    which model dir the exports come from
"""

import dataclasses
import json
import os
import shutil
from typing import Optional

from dcign_tf import atomic_files
from dcign_tf import data_sources
from dcign_tf import evaluation
from dcign_tf import evaluator
from dcign_tf import model as model_lib
from dcign_tf import serving
from dcign_tf import task
from dcign_tf.data import factors

SOURCE_FILE = "dcign_export.json"
MODELS_CONFIG_FILE = "models.config"
# Training groups per factor type that fit the degrees -> latent
# calibration stored with an export.
CALIBRATION_GROUPS_PER_TYPE = 40


def default_export_dir(model_dir: str) -> str:
  """Where a model dir's exports go unless told otherwise."""
  return os.path.join(model_dir, "export")


def check_export_dir(model_dir: str, export_dir: str):
  """Refuses an export dir that holds another model's exports."""
  path = os.path.join(export_dir, SOURCE_FILE)
  if not os.path.exists(path):
    if any(serving.existing_versions(os.path.join(export_dir, name))
           for name in (serving.ENCODER, serving.DECODER)):
      raise ValueError(f"--export_dir={export_dir} holds exports that were "
                       "not written by dcign_tf; choose another folder.")
    return
  with open(path) as stream:
    found = json.load(stream).get("model_dir")
  if found != os.path.abspath(model_dir):
    raise ValueError(f"--export_dir={export_dir} holds the exports of "
                     f"another model ({found}); choose another folder.")


def metadata(config, model, calibrations: dict) -> dict:
  """What a client needs without dcign_tf: sizes, which latent is which
  factor, and the degrees -> latent calibration per factor."""
  return {
      "image_size": int(model.network.image_size),
      "channels": int(model.network.channels),
      "latent_size": int(model.network.latent_size),
      "training": config.training,
      "factor_latents": {name: calibration.latent
                         for name, calibration in calibrations.items()},
      "calibration": {name: {"degrees": calibration.degrees.tolist(),
                             "latent_values": calibration.values.tolist()}
                      for name, calibration in calibrations.items()},
      "ranges": config.ranges.to_dict(),
      # Where the training images come from, so export.tflite can draw
      # representative and held-out inputs without the model dir.
      "dataset": dataset_record(config),
  }


def dataset_record(config) -> dict:
  """The training data's settings, enough to read its images again (see
  `DataSource.record`)."""
  return data_sources.source_for(config).record()


def fit_calibrations(config, model,
                     groups_per_type: int = CALIBRATION_GROUPS_PER_TYPE,
                     workers: int = 0) -> dict:
  """Factor -> Calibration, fitted on training groups of the model's own
  dataset (the same fit as trainers.evaluate's). For a labelled source the
  "degrees" are the factor's label classes, and factors go by the
  dataset's names."""
  source = data_sources.source_for(dataclasses.replace(config,
                                                      workers=workers))
  data = source.evaluation_groups(groups_per_type, config.seed, "train")
  functions = evaluator.ModelFunctions(model)
  codes = functions.encode(data["images"])
  scores = {}
  # Only a model without designated latents needs the scores to find them.
  if config.training not in model_lib.DESIGNATED_MODES:
    scores = evaluation.factor_scores(
        codes, data["group_type"], data["group_id"],
        {f: data[f] for f in factors.FACTORS})
  latents = evaluator.factor_latent_map(config, model, scores)
  fitted = evaluator.calibrations(functions, data, latents, codes)
  names = source.display_names()
  return {names[slot]: calibration for slot, calibration in fitted.items()}


def export(model_dir: str, export_dir: str, version: Optional[int] = None,
           calibration_groups_per_type: int = CALIBRATION_GROUPS_PER_TYPE,
           workers: int = 0, calibrations: Optional[dict] = None) -> dict:
  """Exports encoder and decoder; returns {"encoder": path, "decoder": path,
  "models_config": path}.

  `calibrations` ({factor: evaluation.Calibration}, as a preset records
  them) replaces the fit on training groups.
  """
  if calibration_groups_per_type < 1:
    raise ValueError("calibration_groups_per_type must be >= 1 (the "
                     "calibration needs groups of every factor), got "
                     f"{calibration_groups_per_type}.")
  check_export_dir(model_dir, export_dir)
  config, model = task.load_trained(model_dir)
  bases = {name: os.path.join(export_dir, name)
           for name in (serving.ENCODER, serving.DECODER)}
  if version is None:
    version = max(serving.next_version(base) for base in bases.values())
  finals = {name: serving.check_version(base, version)
            for name, base in bases.items()}
  if calibrations is None:
    calibrations = fit_calibrations(config, model,
                                    calibration_groups_per_type, workers)
  info = metadata(config, model, calibrations)
  encoder = serving.EncoderModule(model)
  decoder = serving.DecoderModule(model)
  os.makedirs(export_dir, exist_ok=True)
  atomic_files.write_json_atomically(
      os.path.join(export_dir, SOURCE_FILE),
      {"model_dir": os.path.abspath(model_dir)})
  # Both are staged before either is published, so the two renames are
  # all that separates a new encoder version from its decoder.
  staged = {}
  try:
    for name, module in ((serving.ENCODER, encoder),
                         (serving.DECODER, decoder)):
      staged[name] = serving.stage_version(
          module, module.signatures(), bases[name], info,
          warmup=serving.warmup_records(name, module.warmup_inputs()))
    for name, staging in list(staged.items()):
      serving.publish(staging, finals[name])
      del staged[name]
  finally:
    for staging in staged.values():
      shutil.rmtree(staging, ignore_errors=True)
  paths = dict(finals)
  # Written after both renames and naming only complete pairs: a kill
  # between the renames leaves TF Serving on the previous pair.
  config_path = os.path.join(export_dir, MODELS_CONFIG_FILE)
  with open(config_path + ".tmp", "w") as stream:
    stream.write(serving.models_config(
        export_dir, version=serving.complete_version(export_dir)))
  os.replace(config_path + ".tmp", config_path)
  paths["models_config"] = config_path
  return paths
