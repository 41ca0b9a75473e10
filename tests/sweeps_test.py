"""Tests for dcign_tf.sweeps."""

import numpy as np
from PIL import Image
import pytest

from dcign_tf import luma
from dcign_tf import sweeps


def _flat_decoder(latent):
  """Draws a flat 8 x 8 image (3 channels) as bright as `latent`."""
  return lambda codes: np.repeat(np.repeat(np.repeat(
      np.asarray(codes)[:, latent, None, None, None], 8, axis=1), 8,
      axis=2), 3, axis=3)


def test_rows_hold_the_input_then_one_decode_per_value():
  inputs = np.zeros((2, 8, 8, 3))
  inputs[1, ..., 1] = 1.0  # Pure green: luma 0.587.
  codes = np.array([[0.0, 0.0, 5.0], [0.0, 0.0, 7.0]])
  values = np.linspace(0.0, 1.0, 4)
  rows = sweeps.sweep_rows(_flat_decoder(1), inputs, codes, 1, values)
  assert len(rows) == 2 and rows[0].shape == (5, 8, 8)
  np.testing.assert_allclose(rows[1][0], luma.BT601_WEIGHTS[1])
  for row in rows:
    np.testing.assert_allclose(row[1:].mean(axis=(1, 2)), values)


def test_a_sheet_has_a_column_per_value_plus_the_input(tmp_path):
  sizes = {}
  for steps in (3, 7):
    path = sweeps.write_sweep_sheet(
        str(tmp_path / f"{steps}.png"), _flat_decoder(0), np.zeros(
            (2, 8, 8, 3)), np.zeros((2, 2)), 0, "azimuth",
        np.linspace(-1, 1, steps), np.linspace(-90, 90, steps), "model")
    sheet = np.asarray(Image.open(path).convert("RGB"), np.int32)
    # Colour models are shown in gray.
    assert np.abs(sheet - sheet[..., :1]).max() <= 2
    sizes[steps] = sheet.shape[1]
  # Each column is as wide: 4 more columns, 4 more cells.
  cell = (sizes[7] - sizes[3]) / 4
  assert cell > 0 and sizes[3] > 4 * cell


def test_rows_refuse_codes_that_do_not_match_the_inputs():
  with pytest.raises(ValueError):
    sweeps.sweep_rows(_flat_decoder(0), np.zeros((2, 8, 8, 1)),
                      np.zeros((3, 2)), 0, np.array([0.0, 1.0]))
