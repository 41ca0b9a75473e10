"""Pictures a person would rather look at than read: contact sheets."""

from typing import Optional, Sequence

import numpy as np
from PIL import Image
from PIL import ImageDraw

LABEL_WIDTH = 96


def contact_sheet(rows: Sequence[np.ndarray],
                  labels: Optional[Sequence[str]] = None,
                  gap: int = 2) -> Image.Image:
  """Lays out rows of grayscale images as one picture, a label per row.

  Args:
    rows: each float [N, S, S] (or [N, S, S, 1]) in [0, 1]; rows may differ
      in length but not in image size.
    labels: optional text drawn left of each row.
    gap: pixels between images.

  Returns:
    An 8-bit grayscale PIL image.
  """
  if not rows:
    raise ValueError("contact_sheet needs at least one row of images.")
  rows = [np.asarray(row, np.float32).reshape(len(row), *np.shape(row)[1:3])
          for row in rows]
  size = rows[0].shape[1]
  if any(row.shape[1:] != (size, size) for row in rows):
    raise ValueError("Every image on a contact sheet must have the same size.")
  columns = max(len(row) for row in rows)
  left = LABEL_WIDTH if labels else 0
  width = left + columns * (size + gap) + gap
  height = len(rows) * (size + gap) + gap
  sheet = np.zeros((height, width), np.uint8)
  for r, row in enumerate(rows):
    top = gap + r * (size + gap)
    for c, image in enumerate(row):
      x = left + gap + c * (size + gap)
      sheet[top:top + size, x:x + size] = np.round(
          np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
  picture = Image.fromarray(sheet, mode="L")
  if labels:
    draw = ImageDraw.Draw(picture)
    for r, label in enumerate(labels):
      draw.text((4, gap + r * (size + gap) + size // 2 - 6), str(label),
                fill=255)
  return picture
