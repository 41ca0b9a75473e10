"""Presets as model dirs and exports, so that every binary that takes
--model_dir or --export_dir also takes --preset; and writing a preset from
a trained model dir.

A preset (`dcign_tf.preset_files`) is made into a model dir once, in a
cache outside the package (`$DCIGN_TF_CACHE`, else
`$XDG_CACHE_HOME/dcign_tf`, else `~/.cache/dcign_tf`), under a folder
named by the digest of its files: a changed preset gets a new folder and
never a stale one. Each step is written beside its final name and renamed
into place, so an interrupted one is redone, never half-read.
"""

import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
from typing import Optional

import numpy as np

from dcign_tf import atomic_files
from dcign_tf import evaluation
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import preset_files
from dcign_tf import saved_model_export
from dcign_tf import serving
from dcign_tf import task
from dcign_tf import tflite_export
from dcign_tf import train_config as train_config_lib

CACHE_VARIABLE = "DCIGN_TF_CACHE"
# The export version a preset's SavedModels get in the cache.
EXPORT_VERSION = 1
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def cache_root() -> str:
  if os.environ.get(CACHE_VARIABLE):
    return os.environ[CACHE_VARIABLE]
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
      os.path.expanduser("~"), ".cache")
  return os.path.join(base, "dcign_tf")


def _cached_model_dir(preset: preset_files.Preset) -> str:
  return os.path.join(cache_root(), "presets", preset.digest[:16],
                      preset.name)


def preset_config(values: dict, model_dir: str):
  """A preset's training config, made to evaluate anywhere: its model dir
  is `model_dir`, its test data rendered live (whole groups: the members
  kept per training batch apply to prepared training data only), in
  float32."""
  config = train_config_lib.config_from_dict(values)
  return dataclasses.replace(config, model_dir=model_dir, data="live",
                             data_dir=None, members_per_group=0,
                             mixed_precision="none", workers=0)


def model_dir(name: str, directory: Optional[str] = None) -> str:
  """The model dir of preset `name` (made in the cache on first use): a
  config, a checkpoint of the preset's weights and its metrics, as
  trainers.train leaves them."""
  preset = preset_files.open_preset(name, directory)
  target = _cached_model_dir(preset)
  if os.path.exists(os.path.join(target, model_dir_lib.CONFIG_FILE)):
    return target

  def fill(staging):
    config = preset_config(preset.json(preset_files.CONFIG_FILE), target)
    network = train_config_lib.validate(config)
    with task.strategy().scope():
      model, checkpoint, manager = task.build_model(
          config, network, os.path.join(staging, "checkpoints"))
      preset_files.assign_weights(preset, model.weights)
      manager.save(checkpoint_number=int(
          preset.json(preset_files.METRICS_FILE).get("steps", 0)))
    atomic_files.write_json_atomically(
        os.path.join(staging, model_dir_lib.ARCHITECTURE_FILE),
        model_dir_lib.architecture(config, network))
    for file_name in (preset_files.METRICS_FILE,
                      preset_files.CALIBRATION_FILE,
                      preset_files.DESCRIPTION_FILE):
      shutil.copyfile(preset.file(file_name),
                      os.path.join(staging, file_name))
    # Last: its presence marks the folder complete.
    atomic_files.write_json_atomically(
        os.path.join(staging, model_dir_lib.CONFIG_FILE),
        train_config_lib.config_to_dict(config))

  atomic_files.publish_folder(target, fill)
  return target


def calibrations(name: str, directory: Optional[str] = None) -> dict:
  """{factor: evaluation.Calibration} recorded with preset `name`."""
  preset = preset_files.open_preset(name, directory)
  return {factor: evaluation.Calibration.from_dict(value)
          for factor, value in preset.json(
              preset_files.CALIBRATION_FILE).items()}


def export(name: str, export_dir: Optional[str] = None,
           version: Optional[int] = None,
           directory: Optional[str] = None) -> str:
  """Exports preset `name` as export.saved_model does, with the recorded
  calibration; returns the export dir. Without `export_dir` the export
  lives in the preset's cached model dir and is made once."""
  source = model_dir(name, directory)
  recorded = calibrations(name, directory)
  if export_dir is None:
    export_dir = saved_model_export.default_export_dir(source)
    if serving.complete_version(export_dir):
      return export_dir
    version = EXPORT_VERSION
  saved_model_export.export(source, export_dir, version,
                            calibrations=recorded)
  return export_dir


def saved_models(export_dir: str) -> list:
  """The encoder and decoder version folders of an export's latest
  complete version."""
  version = serving.complete_version(export_dir)
  if not version:
    raise ValueError(f"{export_dir} holds no complete export.")
  return [os.path.join(export_dir, name, str(version))
          for name in (serving.ENCODER, serving.DECODER)]


def tflite_files(name: str, quantize: str,
                 directory: Optional[str] = None) -> str:
  """The preset's cached export with TFLite conversions of its encoder
  and decoder at `quantize` (converted and checked on first use)."""
  export_dir = export(name, directory=directory)
  for saved_model in saved_models(export_dir):
    output = tflite_export.default_output(
        tflite_export.exported_model(saved_model), quantize)
    if not os.path.exists(output):
      tflite_export.convert(saved_model, quantize, output)
  return export_dir


def resolve_model_dir(preset: Optional[str], model_dir_flag: Optional[str],
                      directory: Optional[str] = None) -> Optional[str]:
  """The model dir a binary works on: --model_dir, or the preset's. Both
  at once are refused, naming the two flags."""
  if preset and model_dir_flag:
    raise ValueError(f"--preset={preset} and --model_dir={model_dir_flag} "
                     "exclude each other; give one.")
  if preset:
    return model_dir(preset, directory)
  return model_dir_flag


def check_name(name: str):
  if not _NAME_PATTERN.match(name or ""):
    raise ValueError(f"--name={name!r} is not a preset name: lower-case "
                     "letters, digits and underscores, starting with a "
                     "letter (e.g. faces_64).")


def _cpu_name() -> str:
  try:
    with open("/proc/cpuinfo") as stream:
      for line in stream:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def write_preset(source_model_dir: str, name: str, output_dir: str,
                 command: str, description: str,
                 overwrite: bool = False) -> str:
  """Writes trained `source_model_dir` as preset output_dir/name: its
  weights rounded to float16, the calibration refitted with those
  weights, the trainer's metrics and SHA256SUMS. Returns the folder.

  Everything is checked before anything is written; an existing preset is
  replaced only with `overwrite`, and then whole.
  """
  check_name(name)
  if not command.strip():
    raise ValueError("A preset needs the command that reproduces it.")
  target = os.path.join(output_dir, name)
  if os.path.exists(target) and not overwrite:
    raise ValueError(f"{target} exists; pass --overwrite to replace it.")
  metrics_path = os.path.join(source_model_dir, model_dir_lib.METRICS_FILE)
  if not os.path.exists(metrics_path):
    raise ValueError(f"--model_dir={source_model_dir} has no "
                     f"{model_dir_lib.METRICS_FILE}: train it to the end "
                     "first.")
  config, model = task.load_trained(source_model_dir)
  original = [variable.numpy() for variable in model.weights]
  rounded = [value.astype(np.float16).astype(np.float32)
             for value in original]
  for variable, value in zip(model.weights, rounded):
    variable.assign(value)
  fitted = saved_model_export.fit_calibrations(config, model)
  with open(metrics_path) as stream:
    metrics = json.load(stream)
  metrics["model_dir"] = name
  steps = int(metrics.get("steps", 0))

  def fill(staging):
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide it from others.
    preset_files.write_weights(
        os.path.join(staging, preset_files.WEIGHTS_FILE),
        [(variable.path, value)
         for variable, value in zip(model.weights, rounded)])
    files = {
        preset_files.MODEL_FILE: model.get_config(),
        preset_files.CONFIG_FILE: train_config_lib.config_to_dict(
            preset_config(train_config_lib.config_to_dict(config), name)),
        preset_files.METRICS_FILE: metrics,
        preset_files.CALIBRATION_FILE: {
            factor: calibration.to_dict()
            for factor, calibration in fitted.items()},
        preset_files.DESCRIPTION_FILE: {
            "name": name, "description": description, "command": command,
            "steps": steps, "weights_dtype": "float16",
            "parameters": int(sum(value.size for value in original)),
            "float16_max_abs_change": float(max(
                np.max(np.abs(a - b)) for a, b in zip(original, rounded))),
            "written": datetime.date.today().isoformat(),
            "cpu": _cpu_name()},
    }
    for file_name, value in files.items():
      atomic_files.write_json_atomically(os.path.join(staging, file_name),
                                         value)
    for file_name in preset_files.FILES:
      size = os.path.getsize(os.path.join(staging, file_name))
      if size > preset_files.MAX_FILE_BYTES:
        raise ValueError(f"Preset file {file_name} would be {size} bytes, "
                         f"over the {preset_files.MAX_FILE_BYTES} allowed; "
                         "train a smaller network.")
    preset_files.write_checksums(staging)

  atomic_files.publish_folder(target, fill)
  return target
