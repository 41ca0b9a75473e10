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


def test_clustered_standard_error_closed_forms():
  # Equal clusters: the standard error of the cluster means.
  rng = np.random.default_rng(0)
  values = rng.uniform(size=(6, 4))
  clusters = np.repeat(np.arange(6), 4)
  means = values.mean(axis=1)
  assert identity_retrieval.clustered_standard_error(
      values.reshape(-1), clusters) == pytest.approx(
          means.std(ddof=1) / np.sqrt(6))
  # Unequal clusters by hand: mean 2/3; residual sums 2 - 4/3 = 2/3 and
  # 0 - 2/3 = -2/3; sqrt(2 * 8/9) / 3 = 4/9.
  assert identity_retrieval.clustered_standard_error(
      [1.0, 1.0, 0.0], ["a", "a", "b"]) == pytest.approx(4 / 9)
  # Identical clusters have no spread; one cluster has no estimate.
  assert identity_retrieval.clustered_standard_error(
      [1.0, 0.0, 1.0, 0.0], [0, 0, 1, 1]) == pytest.approx(0.0)
  assert identity_retrieval.clustered_standard_error([1.0, 0.0],
                                                     [3, 3]) is None
  with pytest.raises(ValueError, match="equal length"):
    identity_retrieval.clustered_standard_error([1.0], [0, 1])


def test_accuracy_by_delta_standard_error_uses_groups_within_45():
  hits = np.array([[1, 1], [1, 1], [0, 0], [0, 1]], bool)
  # The 90-degree trial (group 1) is outside the headline: the headline
  # is over group 0's two hits and group 1's miss, mean 2/3.
  result = identity_retrieval.accuracy_by_delta(
      [10.0, -30.0, 45.0, 90.0], hits, groups=[0, 0, 1, 1])
  assert result["groups"] == 2
  assert result["top1_within_45_degrees"] == pytest.approx(2 / 3)
  assert result["top1_within_45_degrees_standard_error"] == pytest.approx(
      4 / 9)
  assert "groups" not in identity_retrieval.accuracy_by_delta([10.0],
                                                              hits[:1])
  with pytest.raises(ValueError, match="one group per trial"):
    identity_retrieval.accuracy_by_delta([10.0], hits[:1], groups=[0, 1])


def test_score_groups_standard_error_is_over_groups():
  calibration = evaluation.Calibration("azimuth", 0, [-90.0, 90.0],
                                       [-1.0, 1.0])
  truth = np.round(_faces(0) * 255) / 255
  calls = []

  def decode_first_group_only(codes):
    # Four trials a group: the first group's re-renders are the truth,
    # the second's the mean face (chance, 1/G).
    calls.append(1)
    if len(calls) <= 4:
      return truth[codes[:, 1].astype(int)]
    return np.repeat(truth.mean(axis=0, keepdims=True), len(codes), axis=0)

  scores = identity_retrieval.score_groups(
      _identity_code, decode_first_group_only, _trials() + _trials(),
      {"azimuth": calibration})["azimuth"]
  # Within 45 degrees: -20 and 20 in each group; group means 1 and 1/G.
  assert scores["groups"] == 2
  assert scores["top1_within_45_degrees"] == pytest.approx((1 + 1 / G) / 2)
  assert scores["top1_within_45_degrees_standard_error"] == pytest.approx(
      (1 - 1 / G) / 2)
