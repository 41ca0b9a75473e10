"""Writes that a crash cannot leave half-done: a file or a folder is
written beside its final name and renamed into place."""

import json
import os
import shutil
import tempfile


def write_json_atomically(path: str, value):
  """`value` as indented JSON at `path`; readers see the old file or the
  new one, never a part."""
  temporary = path + ".tmp"
  with open(temporary, "w") as stream:
    json.dump(value, stream, indent=2, sort_keys=True)
  os.replace(temporary, path)


def publish_folder(output_dir: str, fill, prefix: str = ".staging-"):
  """Runs fill(staging) in a folder beside `output_dir`, then renames it
  into place: a crash or an error in `fill` leaves the earlier folder
  whole. Returns fill's result."""
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=prefix, dir=parent)
  try:
    result = fill(staging)
    if os.path.exists(output_dir):
      old = output_dir.rstrip("/") + ".old"
      os.replace(output_dir, old)
      os.replace(staging, output_dir)
      shutil.rmtree(old)
    else:
      os.replace(staging, output_dir)
  finally:
    if os.path.exists(staging):
      shutil.rmtree(staging)
  return result


def check_output_file(path: str, flag: str):
  """Refuses, before any work, an output file that could not be written:
  the path is a folder, or its folder cannot be created (a file stands
  where a folder is needed, or the nearest existing folder is not
  writable)."""
  absolute = os.path.abspath(path)
  if os.path.isdir(absolute):
    raise ValueError(f"--{flag}={path} is a folder; give a file path.")
  folder = os.path.dirname(absolute)
  existing = folder
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise ValueError(f"--{flag}={path}: its folder cannot be created, "
                     f"{existing} is a file.")
  if not os.access(existing, os.W_OK | os.X_OK):
    raise ValueError(f"--{flag}={path}: {existing} is not writable.")
