"""Two DC-IGN training steps on each labelled source, from fixture files in
the sources' real formats: a dSprites-layout .npz and a 3D-chairs folder
prepared through its TFDS builder."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras
from dcign_tf import configs
from dcign_tf import model as model_lib
from dcign_tf import training
from dcign_tf.data import chairs_dataset
from dcign_tf.data import factors
from dcign_tf.data import labelled
from dcign_tf.data import npz_files
from dcign_tf.data import pipeline

NETWORK = configs.preset("small", image_size=32, latent_size=6)


def _two_steps(images, groups_of_labels, weights, slots, factor_latents):
  strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
  with strategy.scope():
    model = model_lib.DCIGN(NETWORK, factor_latents=factor_latents, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.build_for_images()
    model.optimizer.build(model.trainable_variables)
  before = [v.numpy() for v in model.trainable_variables]
  dataset = pipeline.labelled_dataset(images, groups_of_labels, weights,
                                      groups_per_batch=2, seed=0, slots=slots)
  batch = next(iter(dataset))
  runner = training.StepRunner(model, strategy)
  iterator = iter(strategy.experimental_distribute_dataset(dataset))
  losses = [float(runner(iterator)["loss"]) for _ in range(2)]
  assert all(np.isfinite(losses))
  assert int(model.optimizer.iterations.numpy()) == 2
  assert any(np.abs(a - b.numpy()).max() > 0
             for a, b in zip(before, model.trainable_variables))
  return batch


def test_two_steps_on_a_dsprites_layout_npz(dsprites_npz):
  images, labels, names = npz_files.load_npz(dsprites_npz)
  groups_of_labels = labelled.LabelledGroups(
      labels, names, designated=("orientation", "position_x"), group_size=3)
  batch = _two_steps(images, groups_of_labels, [1, 1, 1],
                     slots=("azimuth", "elevation"),
                     factor_latents={"azimuth": [0], "elevation": [1]})
  assert batch["images"].shape == (2, 3, 32, 32, 1)
  assert float(tf.reduce_max(batch["images"])) == 1.0
  for types, group_labels in zip(batch["group_type"].numpy(),
                                 batch["labels"].numpy()):
    varying = {names[f] for f in range(6)
               if len(set(group_labels[:, f])) > 1}
    expected = {int(factors.GroupType.AZIMUTH): {"orientation"},
                int(factors.GroupType.ELEVATION): {"position_x"},
                int(factors.GroupType.INTRINSIC): {"shape"}}[int(types)]
    assert varying == expected


def _write_chairs(folder):
  for chair in range(3):
    renders = folder / "rendered_chairs" / f"chair{chair:02d}" / "renders"
    renders.mkdir(parents=True)
    for azimuth in (0, 11, 22, 33):
      for pitch in (20, 30):
        pixels = np.full((40, 40, 3), 255, np.uint8)
        pixels[10:30, 10 + azimuth // 11 * 3:20 + azimuth // 11 * 3] = (
            40 * chair)
        Image.fromarray(pixels).save(
            renders / f"image_000_p{pitch:03d}_t{azimuth:03d}_r096.png")


def test_two_steps_on_3d_chairs_through_its_builder(tmp_path):
  _write_chairs(tmp_path / "manual")
  builder = chairs_dataset.builder(
      {"image_size": 32}, data_dir=str(tmp_path / "tfds"),
      manual_dir=str(tmp_path / "manual"))
  builder.download_and_prepare()
  records = list(builder.as_dataset(split="train").as_numpy_iterator())
  images = np.stack([r["image"] for r in records])
  labels = np.array([(r["chair"], r["azimuth_class"], r["elevation_class"])
                     for r in records])
  # The paper's chairs: z1 = azimuth, every other latent intrinsic.
  groups_of_labels = labelled.LabelledGroups(
      labels, ("chair", "azimuth", "elevation"), designated=("azimuth",),
      group_size=4)
  with pytest.raises(ValueError, match="need one distinct model slot"):
    pipeline.labelled_dataset(images, groups_of_labels, [1, 1],
                              slots=("pose",))
  batch = _two_steps(images, groups_of_labels, [1, 1], slots=None,
                     factor_latents={"azimuth": [0]})
  assert batch["images"].shape == (2, 4, 32, 32, 1)


def test_labelled_streams_resume_and_shard_like_the_full_one():
  labels = np.array([(a, b) for a in range(4) for b in range(3)])
  images = (np.arange(len(labels), dtype=np.uint8)[:, None, None, None]
            * np.ones((1, 8, 8, 1), np.uint8))
  groups_of_labels = labelled.LabelledGroups(labels, ("azimuth", "identity"),
                                             designated=("azimuth",),
                                             group_size=2)

  def first(count, **kwargs):
    return [b["images"].numpy() for b in pipeline.labelled_dataset(
        images, groups_of_labels, [1, 1], groups_per_batch=2, seed=4,
        **kwargs).take(count)]

  full = first(4)
  np.testing.assert_array_equal(first(1, first_step=3)[0], full[3])
  shares = first(2, sharding=pipeline.Sharding(2, (0, 1)))
  np.testing.assert_array_equal(np.concatenate(shares), full[0])
