"""Figure 4/5-style sweep sheets: test images re-rendered as one latent
moves, one PNG per factor."""

import os
from typing import Optional

import numpy as np

from dcign_tf import data_sources
from dcign_tf import evaluation
from dcign_tf import figures
from dcign_tf import luma
from dcign_tf.data import factors


def factor_display_names(config) -> dict:
  """Model slot -> the factor's name in the run's dataset (the same for
  the faces)."""
  return data_sources.source_for(config).display_names()


def sweep_rows(decode, inputs: np.ndarray, codes: np.ndarray, latent: int,
               values: np.ndarray) -> list:
  """[1 + V, S, S] grayscale per test image: its input, then its decodes
  with latent `latent` set to each of `values`."""
  values = np.asarray(values)
  swept = np.asarray(decode(evaluation.latent_sweep_codes(codes, latent,
                                                          values)))
  swept = swept.reshape(len(inputs), len(values), *swept.shape[1:])
  return [np.concatenate([luma.float_luma(image[None]), luma.float_luma(row)])
          for image, row in zip(inputs, swept)]


def write_sweep_sheet(path: str, decode, inputs: np.ndarray,
                      codes: np.ndarray, latent: int, factor: str,
                      values: np.ndarray, degrees=None,
                      name: str = "") -> str:
  """The one sweep sheet (the paper's Figures 4 and 5a): each row a test
  image, its input first, then the decoder's output as latent `latent`
  takes each of `values`, every other latent fixed.

  Args:
    path: the PNG to write.
    decode: codes [B, N] -> images [B, S, S, C] in [0, 1].
    inputs: [F, S, S, C] the test images.
    codes: [F, N] their codes.
    latent: the latent swept; `factor` names it in the labels.
    values: [V] the latent's values.
    degrees: optional [V] the calibrated degrees of `values` (columns are
      labelled in degrees, and the title gives the range).
    name: the model's name, for the title.
  """
  rows = sweep_rows(decode, inputs, codes, latent, values)
  if degrees is None:
    columns = [f"z={v:+.2f}" for v in values]
    span = ""
  else:
    columns = figures.degree_labels(degrees, values)
    span = f" (calibrated {degrees[0]:+.0f}° to {degrees[-1]:+.0f}°)"
  figures.image_grid(
      path, rows, [f"test image {i + 1}" for i in range(len(rows))],
      ["input"] + columns,
      f"{name + ': ' if name else ''}z{latent + 1} ({factor}) swept from "
      f"{values[0]:+.2f} to {values[-1]:+.2f}{span}, every other latent "
      "fixed")
  return path


def write_sweeps(model, config, data: dict,
                 codes: np.ndarray, scores: dict,
                 calibrations: Optional[dict] = None) -> list:
  """The trainer's sweep sheets, sweep_{factor}.png in `config.model_dir`
  (`config`: the run's `train_config.TrainConfig`).

  Rows: one test image from each of the most frontal intrinsic groups.
  Each factor's latent sweeps its calibrated range in degrees where
  `calibrations` (factor -> `evaluation.Calibration`) has the factor, else
  the range it takes on that factor's test groups.
  """
  intrinsic = np.flatnonzero(data["group_type"] == factors.GroupType.INTRINSIC)
  if not intrinsic.size:  # A labelled source without intrinsic groups.
    intrinsic = np.arange(len(data["group_type"]))
  # One face from each of the most frontal intrinsic groups (an intrinsic
  # group shares one pose): a face seen from the front shows its features,
  # so the turn, the nod and the relighting are easy to see.
  _, first = np.unique(data["group_id"][intrinsic], return_index=True)
  candidates = intrinsic[first]
  frontal = np.argsort(np.abs(data["azimuth"][candidates]), kind="stable")
  faces = candidates[frontal][:config.sweep_faces]
  paths = []
  names = factor_display_names(config)
  decode = lambda batch: model.decode(np.asarray(batch, np.float32)).numpy()
  for factor, score in scores.items():
    latent = score["latent"]
    calibration = (calibrations or {}).get(factor)
    degrees = None
    if calibration is not None:
      # The factor's whole range (the calibration is clamped at its ends).
      degrees = np.linspace(*config.ranges.span(factor), config.sweep_steps)
      values = calibration(degrees)
    else:
      mask = data["group_type"] == factors.FACTORS.index(factor)
      values = evaluation.sweep_values(codes[mask], latent,
                                       config.sweep_steps)
    paths.append(write_sweep_sheet(
        os.path.join(config.model_dir, f"sweep_{names[factor]}.png"), decode,
        data["images"][faces], codes[faces], latent, names[factor], values,
        degrees))
  return paths
