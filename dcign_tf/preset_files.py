"""Trained presets shipped inside the package: finding one by name and
reading its files, each checked against its SHA-256 first.

A preset is a folder `dcign_tf/presets/<name>/` holding:

  weights.npz    the model's variables in order (float16, to stay under
                 2 MB a file), with their names and float32 shapes
  model.json     the DCIGN's Keras config (`DCIGN.get_config`)
  config.json    the training settings (a model dir's config.json)
  metrics.json   the trainer's scores of the trained model
  calibration.json  degrees -> latent value of each extrinsic factor
  preset.json    description, the command that reproduces it, the machine
  SHA256SUMS     `sha256sum` lines for every file above

Nothing here builds a model; `DCIGN.from_preset` and `dcign_tf.pretrained`
do. This module stays below both so that each can use it.
"""

import dataclasses
import hashlib
import json
import os
from typing import Optional

import numpy as np

PRESETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "presets")
CHECKSUMS_FILE = "SHA256SUMS"
WEIGHTS_FILE = "weights.npz"
MODEL_FILE = "model.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CALIBRATION_FILE = "calibration.json"
DESCRIPTION_FILE = "preset.json"
FILES = (WEIGHTS_FILE, MODEL_FILE, CONFIG_FILE, METRICS_FILE,
         CALIBRATION_FILE, DESCRIPTION_FILE)
# The repository's limit on any one committed file.
MAX_FILE_BYTES = 2 * 1024 * 1024


class PresetError(ValueError):
  """A preset that is unknown, incomplete or corrupted."""


def names(directory: str = PRESETS_DIR) -> list:
  """The presets in `directory`, sorted."""
  if not os.path.isdir(directory):
    return []
  return sorted(entry for entry in os.listdir(directory)
                if os.path.exists(os.path.join(directory, entry,
                                               CHECKSUMS_FILE)))


def sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as stream:
    for block in iter(lambda: stream.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def read_checksums(path: str) -> dict:
  """{file name: hex digest} of a `sha256sum` file."""
  checksums = {}
  with open(path) as stream:
    for number, line in enumerate(stream, 1):
      if not line.strip():
        continue
      parts = line.split()
      if len(parts) != 2 or len(parts[0]) != 64:
        raise PresetError(f"{path} line {number} is not '<sha256>  <file>': "
                          f"{line.strip()!r}.")
      checksums[parts[1].lstrip("*")] = parts[0].lower()
  return checksums


def write_checksums(folder: str, files=FILES):
  """Writes folder/SHA256SUMS over `files` (in `sha256sum -c` format)."""
  lines = [f"{sha256(os.path.join(folder, name))}  {name}\n"
           for name in files]
  with open(os.path.join(folder, CHECKSUMS_FILE), "w") as stream:
    stream.writelines(lines)


@dataclasses.dataclass(frozen=True)
class Preset:
  """A preset whose files all matched their checksums when it was opened."""

  name: str
  path: str
  checksums: dict

  @property
  def digest(self) -> str:
    """One SHA-256 over every file's: names a preset's exact contents."""
    joined = "".join(f"{name}:{self.checksums[name]}\n"
                     for name in sorted(self.checksums))
    return hashlib.sha256(joined.encode()).hexdigest()

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  def json(self, name: str) -> dict:
    with open(self.file(name)) as stream:
      return json.load(stream)

  def weights(self) -> list:
    """[(name, float32 array)] in the model's variable order."""
    with np.load(self.file(WEIGHTS_FILE), allow_pickle=False) as data:
      count = int(data["count"])
      variable_names = [str(value) for value in data["names"]]
      return [(variable_names[i], data[f"w{i:04d}"].astype(np.float32))
              for i in range(count)]


def open_preset(name: str, directory: Optional[str] = None) -> Preset:
  """The preset `name`, every file checked against SHA256SUMS.

  Raises PresetError naming the known presets for an unknown name, and
  naming the file for a missing or corrupted one.
  """
  directory = directory or PRESETS_DIR
  known = names(directory)
  if name not in known:
    raise PresetError(f"Unknown preset {name!r}; known presets: "
                      f"{', '.join(known) or 'none'}.")
  path = os.path.join(directory, name)
  checksums = read_checksums(os.path.join(path, CHECKSUMS_FILE))
  missing = [f for f in FILES if f not in checksums]
  if missing:
    raise PresetError(f"Preset {name!r}: {CHECKSUMS_FILE} lists no checksum "
                      f"for {', '.join(missing)}.")
  for file_name in FILES:
    file_path = os.path.join(path, file_name)
    if not os.path.exists(file_path):
      raise PresetError(f"Preset {name!r} is incomplete: {file_path} is "
                        "missing.")
    found = sha256(file_path)
    if found != checksums[file_name]:
      raise PresetError(
          f"Preset {name!r} is corrupted: {file_path} has SHA-256 "
          f"{found[:16]}..., {CHECKSUMS_FILE} says "
          f"{checksums[file_name][:16]}...; reinstall dcign_tf.")
  return Preset(name, path, checksums)


def write_weights(path: str, variables: list):
  """[(name, array)] as float16 arrays in order, with their names."""
  arrays = {f"w{i:04d}": np.asarray(value, np.float32).astype(np.float16)
            for i, (_, value) in enumerate(variables)}
  np.savez(path, count=np.int64(len(variables)),
           names=np.array([name for name, _ in variables]), **arrays)


def assign_weights(preset: Preset, variables: list):
  """Assigns the preset's weights to `variables` (a model's `weights`),
  in order; PresetError if their number or shapes differ."""
  stored = preset.weights()
  if len(stored) != len(variables):
    raise PresetError(
        f"Preset {preset.name!r} holds {len(stored)} variables; the model "
        f"its {MODEL_FILE} describes has {len(variables)}.")
  for (name, value), variable in zip(stored, variables):
    if tuple(value.shape) != tuple(variable.shape):
      raise PresetError(
          f"Preset {preset.name!r}: variable {name} has shape "
          f"{tuple(value.shape)}, the model's {variable.path} "
          f"{tuple(variable.shape)}.")
    variable.assign(value.astype(variable.dtype))
