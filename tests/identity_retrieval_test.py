"""Tests for dcign_tf.identity_retrieval against closed forms."""

import numpy as np
import pytest

from dcign_tf import evaluation
from dcign_tf import identity_retrieval

G = 6


def _faces(view, seed=0):
  """G distinct 'identities' at a view: a fixed pattern per identity,
  shifted in brightness by the view so views differ."""
  patterns = np.random.default_rng(seed).uniform(size=(G, 8, 8, 1))
  return np.clip(0.2 + 0.6 * patterns + 0.001 * view, 0, 1).astype(
      np.float32)


def test_oracle_scores_one_and_mean_face_scores_chance():
  truths = _faces(0)
  assert identity_retrieval.retrieval_hits(truths, truths).all()
  mean_face = np.repeat(truths.mean(axis=0, keepdims=True), G, axis=0)
  hits = identity_retrieval.retrieval_hits(mean_face, truths)
  # Every re-render has the same nearest truth: exactly one hit.
  assert hits.sum() == 1
  result = identity_retrieval.accuracy_by_delta([30.0], hits[None])
  assert result["top1"] == pytest.approx(1 / G) == result["chance"]


def _trials(views=(-60.0, -20.0, 20.0, 50.0), target=0.0):
  """One group: sources at each view, targets at `target`."""
  return [{"targets": (_faces(target) * 255).round().astype(np.uint8),
           "target_view": {"azimuth": target},
           "trials": [{"factor": "azimuth", "source_degrees": v,
                       "target_degrees": target, "delta": v - target,
                       "sources": (_faces(v) * 255).round().astype(
                           np.uint8)} for v in views]}]


def _identity_code(images):
  """A perfect encoder: the latent 1 is which identity the image shows."""
  patterns = _faces(0)
  codes = np.zeros((len(images), 2), np.float32)
  for i, image in enumerate(images):
    codes[i, 1] = np.argmin(np.abs(patterns - image).mean(axis=(1, 2, 3)))
  return codes


def test_score_groups_oracle_and_mean_face():
  calibration = evaluation.Calibration("azimuth", 0, [-90.0, 90.0],
                                       [-1.0, 1.0])
  truth = np.round(_faces(0) * 255) / 255

  def oracle_decode(codes):
    return truth[codes[:, 1].astype(int)]

  def mean_decode(codes):
    return np.repeat(truth.mean(axis=0, keepdims=True), len(codes), axis=0)

  oracle = identity_retrieval.score_groups(
      _identity_code, oracle_decode, _trials(), {"azimuth": calibration})
  assert oracle["azimuth"]["top1"] == 1.0
  assert oracle["azimuth"]["top1_within_45_degrees"] == 1.0
  assert oracle["azimuth"]["by_delta"]["delta_degrees"] == [20.0, 50.0, 60.0]
  assert oracle["azimuth"]["by_delta"]["trials"] == [2, 1, 1]
  mean = identity_retrieval.score_groups(
      _identity_code, mean_decode, _trials(), {"azimuth": calibration})
  assert mean["azimuth"]["top1"] == pytest.approx(1 / G)
  # Factors without a calibration are not scored.
  assert identity_retrieval.score_groups(_identity_code, oracle_decode,
                                         _trials(), {}) == {}


def test_novel_view_hits_sets_the_calibrated_value():
  seen = []

  def decode(codes):
    seen.append(codes.copy())
    return _faces(0)

  identity_retrieval.novel_view_hits(
      lambda images: np.ones((len(images), 3)), decode, _faces(30),
      _faces(0), latent=2, target_value=-0.25)
  np.testing.assert_array_equal(seen[0][:, 2], -0.25)
  np.testing.assert_array_equal(seen[0][:, :2], 1.0)


def test_accuracy_by_delta_headline_and_errors():
  hits = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], bool)
  result = identity_retrieval.accuracy_by_delta([-45.0, 45.0, 90.0], hits)
  assert result["by_delta"]["delta_degrees"] == [45.0, 90.0]
  assert result["by_delta"]["top1"] == pytest.approx([0.5, 0.0])
  assert result["top1_within_45_degrees"] == pytest.approx(0.5)
  assert result["top1"] == pytest.approx(1 / 3)
  assert identity_retrieval.accuracy_by_delta(
      [90.0], hits[:1])["top1_within_45_degrees"] is None
  with pytest.raises(ValueError, match="one delta per trial"):
    identity_retrieval.accuracy_by_delta([1.0], hits)
  with pytest.raises(ValueError, match="equal-shaped batches"):
    identity_retrieval.nearest_truths(np.zeros((2, 4)), np.zeros((3, 4)))
