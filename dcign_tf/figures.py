"""The paper's evaluation figures as labelled matplotlib PNGs.

Each function takes plain arrays and writes one PNG, so the evaluation can
draw any model's results (or a test's synthetic ones).
"""

from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # Files only: no display on servers or in CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

DPI = 100


def _gray(image):
  return np.clip(np.asarray(image, np.float32).reshape(
      np.shape(image)[0], np.shape(image)[1]), 0.0, 1.0)


def image_grid(path: str, rows: Sequence[np.ndarray],
               row_labels: Sequence[str], column_labels: Sequence[str],
               title: str, cell_inches: float = 0.9):
  """Rows of images with a label per row and per column.

  Args:
    path: the PNG to write.
    rows: each [C, S, S] or [C, S, S, 1] in [0, 1], C = len(column_labels).
    row_labels: text left of each row.
    column_labels: text above each column (e.g. the swept value).
    title: what the sheet shows (which latent is swept, over what range).
  """
  if len(rows) != len(row_labels) or not rows:
    raise ValueError(f"{len(rows)} rows need as many labels, got "
                     f"{len(row_labels)}.")
  columns = len(column_labels)
  figure, axes = plt.subplots(
      len(rows), columns, squeeze=False,
      figsize=(1.6 + cell_inches * columns, 0.7 + cell_inches * len(rows)))
  for r, row in enumerate(rows):
    if len(row) != columns:
      raise ValueError(f"Row {r} has {len(row)} images for {columns} "
                       "column labels.")
    for c, image in enumerate(row):
      axis = axes[r, c]
      axis.imshow(_gray(image), cmap="gray", vmin=0.0, vmax=1.0)
      axis.set_xticks([])
      axis.set_yticks([])
      if r == 0:
        axis.set_title(column_labels[c], fontsize=7)
      if c == 0:
        axis.set_ylabel(row_labels[r], fontsize=7, rotation=0, ha="right",
                        va="center")
  figure.suptitle(title, fontsize=9)
  figure.tight_layout()
  figure.savefig(path, dpi=DPI)
  plt.close(figure)


def factor_scatter(path: str, panels: Sequence[dict], title: str):
  """Inferred latent against the true factor (the paper's Fig. 6).

  Args:
    path: the PNG to write.
    panels: one dict per factor with "factor", "latent" (index), "truth"
      and "inferred" [M], optional "curve" ((degrees, values) of the fitted
      calibration) and "r2".
    title: the model's name.
  """
  figure, axes = plt.subplots(1, len(panels), squeeze=False,
                              figsize=(3.6 * len(panels), 3.4))
  for axis, panel in zip(axes[0], panels):
    axis.scatter(panel["truth"], panel["inferred"], s=4, alpha=0.4,
                 label="test images")
    if panel.get("curve") is not None:
      degrees, values = panel["curve"]
      axis.plot(degrees, values, color="C3", linewidth=2,
                label="fit (training groups)")
    r2 = panel.get("r2")
    axis.set_title(f"{panel['factor']}" + (f"  (R² {r2:.2f})" if r2 is not None
                                            else ""), fontsize=9)
    axis.set_xlabel(f"true {panel['factor']} (degrees)")
    axis.set_ylabel(f"z{panel['latent'] + 1} (posterior mean)")
    axis.legend(fontsize=7, loc="best")
  figure.suptitle(title, fontsize=10)
  figure.tight_layout()
  figure.savefig(path, dpi=DPI)
  plt.close(figure)


def error_curves(path: str, panels: Sequence[dict], title: str,
                 ylabel: str = "MSE per pixel"):
  """Novel-view error against the angle between source and target view.

  Args:
    path: the PNG to write.
    panels: one dict per factor: "factor" and "curves", a list of dicts
      with "label", "x", "y" and optional "style" (a matplotlib format).
    title: the figure's title.
  """
  figure, axes = plt.subplots(1, len(panels), squeeze=False,
                              figsize=(3.8 * len(panels), 3.4))
  for axis, panel in zip(axes[0], panels):
    for curve in panel["curves"]:
      axis.plot(curve["x"], curve["y"], curve.get("style", "o-"),
                label=curve["label"], markersize=3)
    axis.set_title(panel["factor"], fontsize=9)
    axis.set_xlabel(f"|target - source| {panel['factor']} (degrees)")
    axis.set_ylabel(ylabel)
    axis.set_ylim(bottom=0)
  # One legend under the panels: inside them it covered the curves.
  handles, labels = axes[0][0].get_legend_handles_labels()
  figure.legend(handles, labels, loc="lower center", fontsize=7,
                ncol=min(4, len(labels)), frameon=False)
  figure.suptitle(title, fontsize=10)
  figure.tight_layout(rect=(0, 0.12, 1, 1))
  figure.savefig(path, dpi=DPI)
  plt.close(figure)


def degree_labels(degrees: Sequence[float],
                  values: Optional[Sequence[float]] = None) -> list:
  """Column labels like '-60°' or '-60°\\nz=-1.2'.

  Latent values keep two significant digits: a latent whose calibrated
  range is a few hundredths wide would otherwise read as zero.
  """
  if values is None:
    return [f"{d:+.0f}°" for d in degrees]
  return [f"{d:+.0f}°\nz={v:+.2g}" for d, v in zip(degrees, values)]
