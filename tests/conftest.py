"""Fixtures shared across the test packages."""

import numpy as np
import pytest


@pytest.fixture(name="dsprites_npz")
def fixture_dsprites_npz(tmp_path):
  """A .npz in the dSprites layout (imgs {0, 1} [N, 32, 32],
  latents_classes [N, 6]) crossing shape 4 x orientation 4 x position_x 3;
  a square whose place and size follow the labels (four shapes, so that a
  held-out test split keeps two of them). Returns its path."""
  classes = np.array([(0, s, 0, o, x, 0) for s in range(4) for o in range(4)
                      for x in range(3)])
  imgs = np.zeros((len(classes), 32, 32), np.uint8)
  for image, (_, shape, _, orientation, x, _) in zip(imgs, classes):
    image[2 + 2 * orientation:8 + 2 * orientation + 4 * shape,
          4 + 6 * x:12 + 6 * x] = 1
  path = tmp_path / "dsprites.npz"
  np.savez(path, imgs=imgs, latents_classes=classes)
  return str(path)


@pytest.fixture(name="colour_npz")
def fixture_colour_npz(tmp_path):
  """A colour .npz in the dSprites layout (imgs [N, 32, 32, 3], factors
  hue 4 x position 4): a square of the hue's colour at the position.
  Returns its path."""
  colours = np.array([(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)],
                     np.uint8)
  classes = np.array([(h, x) for h in range(4) for x in range(4)])
  imgs = np.zeros((len(classes), 32, 32, 3), np.uint8)
  for image, (hue, x) in zip(imgs, classes):
    image[8:20, 4 + 6 * x:14 + 6 * x] = colours[hue]
  path = tmp_path / "colour.npz"
  np.savez(path, imgs=imgs, latents_classes=classes)
  return str(path)


@pytest.fixture(name="tiny_config", scope="session")
def fixture_tiny_config():
  """A factory of the smallest training run that exercises everything:
  tiny_config(model_dir, **overrides) -> TrainConfig (32 px, groups of 3,
  6 latents, 2 steps, a 2 x 2 factor grid). Session-scoped, so that
  module-scoped fixtures can train with it too."""
  from dcign_tf import train_config  # pylint: disable=import-outside-toplevel

  def make(model_dir, **overrides):
    settings = dict(model_dir=str(model_dir), image_size=32, group_size=3,
                    network="small", latent_size=6, ratio="1:1:1:1",
                    train_steps=2, checkpoint_every=1, eval_groups_per_type=3,
                    workers=1, sweep_faces=2, sweep_steps=3,
                    grid_identities=2, grid_bins=2, metric_samples=40)
    settings.update(overrides)
    return train_config.TrainConfig(**settings)

  return make


@pytest.fixture(autouse=True, scope="session")
def fixture_preset_cache(tmp_path_factory):
  """Presets are made into model dirs in a cache of the test session's own
  (and in the subprocesses it starts), never in the user's."""
  import os  # pylint: disable=import-outside-toplevel
  from dcign_tf import pretrained  # pylint: disable=import-outside-toplevel
  previous = os.environ.get(pretrained.CACHE_VARIABLE)
  os.environ[pretrained.CACHE_VARIABLE] = str(
      tmp_path_factory.mktemp("preset_cache"))
  yield
  if previous is None:
    del os.environ[pretrained.CACHE_VARIABLE]
  else:
    os.environ[pretrained.CACHE_VARIABLE] = previous


_CASES_SCRIPT = r"""
import contextlib, importlib, io, json, sys
from absl import flags
from dcign_tf import cli
binary = importlib.import_module(sys.argv[1])
for arguments in json.loads(sys.stdin.read()):
  flags.FLAGS.unparse_flags()
  stdout, stderr = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
    try:
      flags.FLAGS([sys.argv[1]] + arguments)
      status = cli.call(binary.main, [sys.argv[1]])
    except flags.Error as error:
      print(f"FATAL Flags parsing error: {error}", file=sys.stderr)
      status = 1
  print("CASE " + json.dumps({"status": status, "stdout": stdout.getvalue(),
                              "stderr": stderr.getvalue()}), flush=True)
"""


@pytest.fixture(name="binary_cases", scope="session")
def fixture_binary_cases():
  """Runs a binary's `main` on several argument lists in one interpreter
  (TensorFlow imported once instead of once per case), each parsed from
  fresh flag defaults and reported as `dcign_tf.cli.run` would: a dict of
  the exit status and the case's stdout and stderr. The one-process-per-run
  path (exit codes of the real process) keeps a test of its own per binary.

      results = binary_cases("export.rerender", [["--out=x.png"], ...])
  """
  import json  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

  def run(module, cases, cwd=repo, timeout=300):
    result = subprocess.run(
        [sys.executable, "-c", _CASES_SCRIPT, module], input=json.dumps(
            [list(map(str, case)) for case in cases]), cwd=cwd,
        env={**os.environ, "PYTHONPATH": repo}, capture_output=True,
        text=True, timeout=timeout, check=False)
    results = [json.loads(line[5:]) for line in result.stdout.splitlines()
               if line.startswith("CASE ")]
    assert result.returncode == 0 and len(results) == len(cases), (
        result.stdout[-2000:] + result.stderr[-3000:])
    return results

  return run
