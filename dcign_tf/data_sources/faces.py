"""The built-in faces: groups rendered from a face model, live or prepared."""

import os
from typing import Optional

from dcign_tf.data import factors
from dcign_tf.data import faces_dataset
from dcign_tf.data import groups
from dcign_tf.data import pipeline
from dcign_tf.data import render_pool
from dcign_tf.data_sources import base

@base.register
class RenderedFaces(base.DataSource):
  """The built-in faces: groups rendered from a face model (the built-in
  head or the user's), live or prepared as the `dcign_faces` dataset."""

  name = "faces"
  rendered = True
  factor_names = factors.FACTORS + ("identity",)
  designated = factors.FACTORS

  def check(self):
    super().check()
    config = self.config
    factors.check_ratio_against_ranges(factors.parse_ratio(config.ratio),
                                       config.ranges)
    # Loaded now (and cached), so that a face model that cannot be read is
    # refused before the run writes anything.
    self.group_source().model()
    if config.circular_factors:
      raise ValueError("circular_factors applies to labelled sources; the "
                       "faces' factors do not wrap.")
    if config.grid_identities < 2 or config.grid_bins < 2:
      raise ValueError("The factor grid needs grid_identities >= 2 and "
                       f"grid_bins >= 2, got {config.grid_identities} and "
                       f"{config.grid_bins}.")

  def group_source(self) -> groups.GroupSource:
    config = self.config
    return groups.GroupSource(face_model=config.face_model,
                              image_size=config.image_size,
                              group_size=config.group_size,
                              ranges=config.ranges, seed=config.data_seed)

  def dataset_builder(self):
    """The `dcign_faces` TFDS builder of these settings."""
    config = self.config
    dataset_config = faces_dataset.make_config(
        image_size=config.image_size, group_size=config.group_size,
        train_groups_per_type=config.train_groups_per_type,
        test_groups_per_type=config.test_groups_per_type,
        face_model=config.face_model, ranges=config.ranges,
        seed=config.data_seed)
    return faces_dataset.builder(dataset_config, config.data_dir,
                                 num_workers=config.workers or None)

  def range_warmup(self) -> Optional[pipeline.RangeWarmup]:
    config = self.config
    if not config.range_warmup_steps:
      return None
    return pipeline.RangeWarmup(config.warmup_ranges or config.ranges,
                                config.range_warmup_steps)

  def train_dataset(self, first_step=0, sharding=pipeline.Sharding()):
    config = self.config
    if config.data == "prepared":
      builder = self.dataset_builder()
      if not builder.is_prepared():
        builder.download_and_prepare()
      return pipeline.prepared_dataset(builder, "train", config.ratio,
                                       config.groups_per_batch,
                                       seed=config.seed,
                                       first_step=first_step,
                                       sharding=sharding,
                                       members_per_group=(
                                           config.members_per_group))
    workers = config.workers or max(1, (os.cpu_count() or 2) // 2)
    return pipeline.live_dataset(self.group_source(), config.ratio,
                                 config.groups_per_batch, seed=config.seed,
                                 num_workers=workers,
                                 range_warmup=self.range_warmup(),
                                 first_step=first_step,
                                 reuse=config.live_reuse, sharding=sharding)

  def evaluation_groups(self, groups_per_type, seed=0, split="test",
                        progress=None):
    # Rendered whether the training data is live or prepared: a GroupSource
    # decides every pixel of a group, so these are the prepared split's
    # groups. The seed is the data's own (data_seed); test groups carry
    # their foreground coverage, which the foreground scores need.
    del seed
    with render_pool.worker_pool(self.config.workers or None) as pool:
      return groups.render_groups(self.group_source(), split,
                                  groups_per_type, pool, progress,
                                  with_coverage=split == "test")

  def record(self) -> dict:
    config = self.config
    return {"face_model": config.face_model, "image_size": config.image_size,
            "group_size": config.group_size,
            "ranges": config.ranges.to_dict(), "data_seed": config.data_seed}
