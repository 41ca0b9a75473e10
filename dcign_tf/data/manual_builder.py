"""What the TFDS builders over a user's own files share.

The 3D chairs (`chairs_dataset`) and the OBJ objects (`objects_dataset`)
cannot be downloaded: a user puts the files in a manual dir, and the
builder reads them from there. `ManualDirBuilder` holds the plumbing both
need: where the manual dir is, a check of its contents before TFDS writes
anything, and never falling back to TFDS's bucket of the same name.
`split_by_name` assigns items (chairs, objects) to train and test by a hash
of their names, so a split does not depend on what else is in the folder.
"""

import dataclasses
import hashlib
import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple
from typing import Union

import tensorflow_datasets as tfds

SPLIT_BUCKETS = 1000
PathLike = Union[str, os.PathLike]


class ManualDirBuilder(tfds.core.GeneratorBasedBuilder,
                       skip_registration=True):
  """A TFDS builder whose raw data are files in a manual dir.

  Subclasses define `check_raw(manual_dir)`, a cheap check that raises a
  ValueError naming what is missing, and read the dir that
  `raw_dir(dl_manager)` gives in `_split_generators`.
  """

  def __init__(self, *, manual_dir: Optional[PathLike] = None, **kwargs):
    """Args: manual_dir: where the raw files are (see the subclass's
    MANUAL_DOWNLOAD_INSTRUCTIONS); None for TFDS's default."""
    super().__init__(**kwargs)
    self._given_manual_dir = (None if manual_dir is None
                              else os.path.expanduser(os.fspath(manual_dir)))
    # Pickled builders are rebuilt from _original_state, so it must carry
    # the manual dir too.
    self._original_state["manual_dir"] = self._given_manual_dir
    self._prepare_manual_dir = None

  def check_raw(self, manual_dir: str) -> Any:
    """Raises ValueError unless `manual_dir` holds the raw data."""
    raise NotImplementedError

  def manual_dir_path(self, download_dir: Optional[str] = None,
                      download_config: Optional[
                          tfds.download.DownloadConfig] = None) -> str:
    """The manual dir `download_and_prepare` reads, with these arguments.

    `download_config.manual_dir` wins, then the builder's `manual_dir`,
    then TFDS's default, `<download_dir>/manual` with download_dir
    defaulting to `<data_dir>/downloads`.
    """
    if download_config is not None and download_config.manual_dir:
      return os.path.expanduser(os.fspath(download_config.manual_dir))
    if self._given_manual_dir:
      return self._given_manual_dir
    downloads = download_dir or os.path.join(os.fspath(self.data_dir_root),
                                             "downloads")
    return os.path.join(os.path.expanduser(os.fspath(downloads)), "manual")

  def check_manual_dir(self, download_dir: Optional[str] = None,
                       download_config: Optional[
                           tfds.download.DownloadConfig] = None) -> Any:
    """`check_raw` of `manual_dir_path(...)`: a cheap check to run before
    `download_and_prepare`."""
    return self.check_raw(self.manual_dir_path(download_dir,
                                               download_config))

  def download_and_prepare(self, *, download_dir: Optional[str] = None,
                           download_config: Optional[
                               tfds.download.DownloadConfig] = None,
                           **kwargs) -> None:
    """TFDS's `download_and_prepare`, after checking the raw data are there.

    Raises:
      ValueError: from `check_raw`, before anything is written under
        `data_dir`, when the data still have to be prepared; or what
        generation raises (TFDS then keeps nothing).
    """
    download_config = download_config or tfds.download.DownloadConfig()
    manual_dir = self.manual_dir_path(download_dir, download_config)
    # TFDS would fetch a dataset of the same name from its GCS bucket
    # instead of building ours; these must always come from the user's files.
    download_config = dataclasses.replace(
        download_config, manual_dir=manual_dir, try_download_gcs=False)
    mode = tfds.download.GenerateMode(download_config.download_mode)
    reused = self.data_path.exists() and not mode.overwrite_dataset
    if mode != tfds.download.GenerateMode.UPDATE_DATASET_INFO and not reused:
      self.check_raw(manual_dir)
    self._prepare_manual_dir = manual_dir
    try:
      super().download_and_prepare(download_dir=download_dir,
                                   download_config=download_config, **kwargs)
    finally:
      self._prepare_manual_dir = None

  def raw_dir(self, dl_manager) -> str:
    """The manual dir being prepared from, for `_split_generators`."""
    return self._prepare_manual_dir or os.fspath(dl_manager.manual_dir)


def split_bucket(name: str) -> int:
  """int(md5(name as UTF-8), 16) % SPLIT_BUCKETS."""
  digest = hashlib.md5(name.encode("utf-8")).hexdigest()
  return int(digest, 16) % SPLIT_BUCKETS


def split_by_name(names: Sequence[str], test_fraction: float
                 ) -> Dict[str, Tuple[str, ...]]:
  """{"train": sorted names, "test": sorted names} for two or more names.

  A name is in test when `split_bucket(name) < test_fraction * 1000`. Why a
  hash: an item's split depends on its name alone, not on which other items
  are present or in what order, so it is the same on every machine and for
  every subset of the data. Neither split is left empty (TFDS cannot write
  one): the name with the smallest (bucket, name) moves to an empty test
  split, the one with the largest to an empty train split.
  """
  names = sorted(set(names))
  if len(names) < 2:
    raise ValueError(f"split_by_name needs at least 2 names, got {names}.")
  buckets = {name: split_bucket(name) for name in names}
  threshold = test_fraction * SPLIT_BUCKETS
  test = [name for name in names if buckets[name] < threshold]
  train = [name for name in names if buckets[name] >= threshold]
  by_bucket = sorted(names, key=lambda name: (buckets[name], name))
  if not test:
    test, train = [by_bucket[0]], by_bucket[1:]
  elif not train:
    train, test = [by_bucket[-1]], by_bucket[:-1]
  return {"train": tuple(sorted(train)), "test": tuple(sorted(test))}


def resolve_config(config: Any, make_config: Callable[..., Any],
                   config_class: type, settings: Callable[[Any], tuple],
                   builder_class: type) -> Any:
  """The config (or preset name) to build `builder_class` with.

  Args:
    config: a `make_config` result, its keyword arguments as a mapping, or
      None for `make_config()`'s defaults.
    make_config: the module's config factory, which validates settings and
      names the config after them.
    config_class: the configs' class.
    settings: a config -> the positional arguments of `make_config` that
      rebuild it.
    builder_class: the builder, whose BUILDER_CONFIGS are the presets.

  Raises:
    ValueError: for bad settings, or a config whose name does not encode
      its settings (it could then collide with other prepared data).
  """
  if config is None:
    config = make_config()
  elif isinstance(config, Mapping):
    config = make_config(**config)
  elif isinstance(config, config_class):
    canonical = make_config(*settings(config))
    if config.name != canonical.name:
      raise ValueError(f"Config name {config.name!r} does not encode its "
                       f"settings; allowed: {canonical.name!r}, as built by "
                       f"{make_config.__module__}.make_config.")
    config = canonical
  else:
    raise ValueError(f"config must be a {config_class.__name__}, a mapping "
                     f"of make_config arguments or None, got {config!r}.")
  # TFDS refuses a config object that shares a predefined config's name, so
  # the presets are asked for by name.
  if config.name in {preset.name for preset in builder_class.BUILDER_CONFIGS}:
    return config.name
  return config
