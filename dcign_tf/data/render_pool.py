"""Render worker processes: NumPy only, started without the parent's
TensorFlow.

Workers are spawned, not forked, so they never inherit TensorFlow's
threads. A spawned worker would still re-import the parent's `__main__`
module (for a binary: its flags and, through them, TensorFlow, with its
start-up lines and its memory) before running anything. Every function a
render worker runs is importable from the library, so the main module is
hidden while the workers start.
"""

import contextlib
import multiprocessing
import os
import sys
from typing import Optional

_MAIN_ATTRIBUTES = ("__spec__", "__file__")


@contextlib.contextmanager
def _main_module_hidden():
  """Makes multiprocessing's spawn see a main module with no name and no
  file, so that the processes started inside skip importing it."""
  main = sys.modules["__main__"]
  saved = {name: getattr(main, name) for name in _MAIN_ATTRIBUTES
           if hasattr(main, name)}
  main.__spec__ = None
  if hasattr(main, "__file__"):
    del main.__file__
  try:
    yield
  finally:
    for name in _MAIN_ATTRIBUTES:
      if name in saved:
        setattr(main, name, saved[name])


@contextlib.contextmanager
def worker_pool(num_workers: Optional[int] = None):
  """A pool of `num_workers` render processes (default: one per core), or
  None when one process is asked for (render in-process)."""
  if num_workers is not None and num_workers < 0:
    raise ValueError(f"workers must be >= 0, got {num_workers}.")
  workers = num_workers or os.cpu_count() or 1
  if workers <= 1:
    yield None
    return
  with _main_module_hidden():
    # The workers start here, in Pool's constructor.
    pool = multiprocessing.get_context("spawn").Pool(workers)
  with pool:
    yield pool
