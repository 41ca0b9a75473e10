"""Figure 4/5-style sweep sheets: test images re-rendered as one latent
moves, one PNG per factor."""

import os

import numpy as np

from dcign_tf import evaluation
from dcign_tf import luma
from dcign_tf import train_config as train_config_lib
from dcign_tf import visualization
from dcign_tf.data import factors


def factor_display_names(config: train_config_lib.TrainConfig) -> dict:
  """Model slot -> the factor's name in the dataset (the same for faces)."""
  if config.dataset == "faces":
    return {name: name for name in factors.FACTORS}
  return dict(zip(factors.FACTORS, config.designated))


def write_sweeps(model, config: train_config_lib.TrainConfig, data: dict,
                 codes: np.ndarray,
                 scores: dict) -> list:
  """Figure 4/5-style sheets: test faces re-rendered as one latent sweeps.

  One PNG per extrinsic factor; each row is a test face (one per intrinsic
  group, the most frontal groups first), its input first, then the
  decoder's output as the factor's latent moves across the range it
  takes on that factor's test groups.
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
  for factor, score in scores.items():
    latent = score["latent"]
    mask = data["group_type"] == factors.FACTORS.index(factor)
    values = evaluation.sweep_values(codes[mask], latent, config.sweep_steps)
    swept = model.decode(evaluation.latent_sweep_codes(
        codes[faces], latent, values)).numpy()
    swept = swept.reshape(len(faces), len(values), *swept.shape[1:])
    rows = [np.concatenate([luma.float_luma(data["images"][face][None]),
                            luma.float_luma(row)])
            for face, row in zip(faces, swept)]
    sheet = visualization.contact_sheet(
        rows, [f"z{latent + 1} {names[factor]}"] * len(rows))
    path = os.path.join(config.model_dir, f"sweep_{names[factor]}.png")
    sheet.save(path)
    paths.append(path)
  return paths
