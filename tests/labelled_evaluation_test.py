"""Tests for dcign_tf.labelled_evaluation."""

import dataclasses

import numpy as np

from dcign_tf import labelled_evaluation
from dcign_tf.data import label_grid


class _Images:
  """A labelled source stand-in: image k is filled with the value k."""

  def image_rows(self, rows):
    return np.broadcast_to(np.asarray(rows, np.uint8)[:, None, None, None],
                           (len(rows), 2, 2, 1)).copy()


def test_grid_codes_follow_the_grid_rows(monkeypatch):
  labels = np.array([(a, b) for b in range(3) for a in range(4)])
  grid, _ = label_grid.index(labels, ("a", "b"))
  monkeypatch.setattr(labelled_evaluation, "ENCODE_BATCH", 5)
  seen = []
  codes = labelled_evaluation.grid_codes(
      lambda images: images[:, 0, 0, :] * 255.0, _Images(), grid,
      seen.append)
  assert codes.shape == (4, 3, 1) and sum(seen) == 12
  np.testing.assert_allclose(codes[..., 0], grid.rows)


@dataclasses.dataclass
class _Sizes:
  metric_train: int = 400
  metric_test: int = 200
  metric_batch: int = 16
  variance_estimate: int = 400
  seed: int = 0


def test_a_code_that_is_the_factors_scores_as_disentangled():
  sizes = (5, 6)
  a, b = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
  noise = np.random.default_rng(0).normal(size=sizes)
  perfect = np.stack([a, b, noise], axis=-1)
  scores = labelled_evaluation.grid_metrics(perfect, ("a", "b"), _Sizes())
  assert scores["factor_sizes"] == [5, 6]
  assert scores["dci"]["disentanglement"] > 0.9
  assert scores["factor_vae"]["eval_accuracy"] > 0.9
  mixed = np.stack([a + b, a - b, noise], axis=-1)
  assert labelled_evaluation.grid_metrics(
      mixed, ("a", "b"), _Sizes())["mig"]["mig"] < scores["mig"]["mig"]


class _Rendering:
  """A model whose one latent is the image's brightness: it re-renders an
  image at any brightness exactly."""

  def encode(self, images):
    return images.mean(axis=(1, 2, 3))[:, None]

  def decode(self, codes):
    return np.broadcast_to(codes[:, :1, None, None],
                           (len(codes), 2, 2, 1)).astype(np.float32)


def test_novel_views_of_a_perfect_renderer_cost_nothing():
  from dcign_tf.data import factors  # pylint: disable=import-outside-toplevel
  labels = np.tile(np.arange(4.0), 3)  # 3 azimuth groups of 4 values.

  def groups(labels):
    return {"images": np.broadcast_to((labels / 10)[:, None, None, None],
                                      (len(labels), 2, 2, 1)).astype(
                                          np.float32),
            "group_type": np.full(len(labels),
                                  int(factors.GroupType.AZIMUTH)),
            "group_id": np.repeat(np.arange(len(labels) // 4), 4),
            "azimuth": labels}

  novel, fitted = labelled_evaluation.novel_views(
      _Rendering(), groups(labels), groups(labels), {"azimuth": 0}, 2)
  assert set(novel) == {"azimuth"} and fitted["azimuth"].latent == 0
  # 3 groups x 2 sources x 3 other members.
  assert novel["azimuth"]["pairs"] == 18
  assert novel["azimuth"]["mean_error"] < 1e-12


def test_retrieval_trials_show_the_same_objects_at_another_value(
    dsprites_npz):
  from dcign_tf.data import labelled  # pylint: disable=import-outside-toplevel
  from dcign_tf.data import labelled_source  # pylint: disable=import-outside-toplevel
  from dcign_tf.data import npz_files  # pylint: disable=import-outside-toplevel
  images, labels, names = npz_files.load_npz(dsprites_npz)
  designated = ("orientation", "position_x")
  groups = labelled.LabelledGroups(labels, names, designated, group_size=3)
  data = labelled_source.LabelledSource("npz", names, designated, images,
                                        groups, images, groups)
  found = labelled_evaluation.retrieval_groups(data, 3, seed=0)
  assert len(found) == 3
  row_of = {tuple(row): i for i, row in enumerate(labels.tolist())}
  for group in found:
    assert {t["factor"] for t in group["trials"]} == {"azimuth", "elevation"}
    targets = group["targets"]
    for trial in group["trials"]:
      column = names.index(designated[("azimuth", "elevation").index(
          trial["factor"])])
      assert trial["delta"] != 0 and len(trial["sources"]) == len(targets)
      # Each source is its target's object with only that factor moved.
      for source, target in zip(trial["sources"], targets):
        target_labels = labels[[i for i, image in enumerate(images)
                                if np.array_equal(image, target)][0]]
        moved = target_labels.copy()
        moved[column] += int(trial["delta"])
        np.testing.assert_array_equal(source, images[row_of[tuple(moved)]])
