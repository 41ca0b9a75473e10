"""Tests for dcign_tf.visualization."""

import numpy as np
import pytest

from dcign_tf import visualization


def test_contact_sheet_places_every_image():
  rows = [np.full((3, 8, 8), 1.0), np.full((2, 8, 8, 1), 0.5)]
  sheet = np.asarray(visualization.contact_sheet(rows, gap=2))
  assert sheet.shape == (2 + 2 * 10, 2 + 3 * 10)
  assert sheet[2:10, 2:10].min() == 255  # First row, first image.
  assert sheet[12:20, 12:20].min() == 128  # Second row, second image.
  assert sheet[12:20, 22:30].max() == 0  # Second row is one image short.
  assert sheet[0].max() == 0 and sheet[:, 0].max() == 0  # Gaps stay black.


def test_contact_sheet_labels_take_a_margin():
  rows = [np.zeros((1, 16, 16))]
  plain = visualization.contact_sheet(rows)
  labelled = visualization.contact_sheet(rows, ["azimuth"])
  assert labelled.width == plain.width + visualization.LABEL_WIDTH
  assert np.asarray(labelled)[:, :visualization.LABEL_WIDTH].max() > 0


def test_contact_sheet_rejects_bad_rows():
  with pytest.raises(ValueError, match="at least one row"):
    visualization.contact_sheet([])
  with pytest.raises(ValueError, match="same size"):
    visualization.contact_sheet([np.zeros((1, 8, 8)), np.zeros((1, 9, 9))])
