"""`chairs`: the rendered 3D chairs of Aubry et al. (CVPR 2014) for DC-IGN.

The second dataset of the DC-IGN paper (Kulkarni et al., 2015) is not
rendered by us but read from `rendered_chairs.tar`, which its authors
distribute only from their page, so TFDS cannot download it: the user
places the tar, or its extracted `rendered_chairs/` folder, in the manual
dir (see `chairs_files.MANUAL_INSTRUCTIONS`). Whichever is there is read in
place; the
tar is streamed member by member and never extracted to disk.

Each example is one render with its labels, not a group: groups of the
paper's kind (azimuth varies, or everything but azimuth varies) are
selected afterwards from the labels, e.g. by `labelled.LabelledGroups`
with the factors `azimuth_class`, `elevation_class` and `chair`.

Images follow the paper, which converted the renders to grayscale,
centre-cropped them and resized them to 150x150: transparent pixels are
composited onto white, the image is converted to ITU-R BT.601 luma, its
central square of side `crop_fraction` x min(height, width) is kept, and
that square is resized to `image_size` (see `chairs_files.render_to_array`).

Train and test hold different chairs, so the test split measures how the
model does on chairs it has never seen (see `split_chairs`).

Why errors are checked early: a full build decodes about 86,000 PNGs, so a
missing source is reported by `download_and_prepare` before TFDS creates
anything under `data_dir`, and a bad render fails the build inside TFDS's
temporary folder, which TFDS deletes, so nothing half-built can be read.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple
from typing import Union

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from dcign_tf.data import chairs_files
from dcign_tf.data import manual_builder

SPLITS = ("train", "test")
DEFAULT_IMAGE_SIZE = 150
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
# About 150 of the 1,393 chairs for testing, as in the paper.
DEFAULT_TEST_FRACTION = 150 / 1393



@dataclasses.dataclass(eq=False)
class ChairsConfig(tfds.core.BuilderConfig):
  """How to process the renders. Build one with `make_config`, which
  validates it and names it uniquely."""

  image_size: int = DEFAULT_IMAGE_SIZE
  crop_fraction: float = chairs_files.DEFAULT_CROP_FRACTION
  test_fraction: float = DEFAULT_TEST_FRACTION


def _check_fraction(name: str, value: Any, allow_one: bool) -> float:
  """`value` as a float in (0, 1] or (0, 1), or a ValueError naming it."""
  allowed = "(0, 1]" if allow_one else "(0, 1)"
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, float, np.integer, np.floating)):
    raise ValueError(f"{name} must be a number in {allowed}, got {value!r}.")
  number = float(value)
  inside = 0.0 < number < 1.0 or (allow_one and number == 1.0)
  if not inside:  # Also rejects NaN, which fails every comparison.
    raise ValueError(f"{name} must be a number in {allowed}, got {value!r}.")
  return number


def _check_image_size(value: Any) -> int:
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, np.integer)) or not (
          MIN_IMAGE_SIZE <= value <= MAX_IMAGE_SIZE):
    raise ValueError(f"image_size must be an integer in [{MIN_IMAGE_SIZE}, "
                     f"{MAX_IMAGE_SIZE}], got {value!r}.")
  return int(value)


def make_config(image_size: int = DEFAULT_IMAGE_SIZE,
                crop_fraction: float = chairs_files.DEFAULT_CROP_FRACTION,
                test_fraction: float = DEFAULT_TEST_FRACTION
               ) -> ChairsConfig:
  """A validated config whose name encodes everything that decides the data.

  TFDS finds prepared data by config name, so two configs that would store
  different records must never share one: the default crop and split at S
  px is named "{S}px", anything else "{S}px_" plus a hash of its settings.

  Args:
    image_size: side of the stored square images, 32 to 256.
    crop_fraction: side of the central square kept, as a fraction of the
      render's shorter side, in (0, 1].
    test_fraction: expected fraction of chairs in the test split, in (0, 1).

  Raises:
    ValueError: naming the first value out of range.
  """
  image_size = _check_image_size(image_size)
  crop_fraction = _check_fraction("crop_fraction", crop_fraction, True)
  test_fraction = _check_fraction("test_fraction", test_fraction, False)
  settings = dict(image_size=image_size, crop_fraction=crop_fraction,
                  test_fraction=test_fraction)
  name = f"{image_size}px"
  if (crop_fraction, test_fraction) != (chairs_files.DEFAULT_CROP_FRACTION,
                                        DEFAULT_TEST_FRACTION):
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    name += "_" + digest.hexdigest()[:10]
  return ChairsConfig(name=name, description=json.dumps(settings,
                                                        sort_keys=True),
                      **settings)


def split_chairs(chair_names: Sequence[str],
                 test_fraction: float = DEFAULT_TEST_FRACTION
                ) -> Dict[str, Tuple[str, ...]]:
  """Chair names per split: {"train": sorted names, "test": sorted names}.

  A chair is in test when int(md5(name as UTF-8), 16) % 1000 <
  test_fraction * 1000. Why a hash: the split of a chair depends on its
  name alone, not on which other chairs are present or in what order, so
  it is the same on every machine and for every subset of the data.

  Tiny datasets can leave a split empty, which TFDS cannot write; then, with
  two or more chairs, the chair with the smallest (bucket, name) moves to
  an empty test split, or the one with the largest to an empty train split.

  Raises:
    ValueError: for fewer than two chairs, which cannot give two splits,
      or a bad test_fraction.
  """
  test_fraction = _check_fraction("test_fraction", test_fraction, False)
  names = sorted(set(chair_names))
  if len(names) < 2:
    raise ValueError(f"Only {len(names)} chair(s) with renders were found "
                     f"({', '.join(names) or 'none'}); allowed: at least 2, "
                     "so that train and test hold different chairs.")
  return manual_builder.split_by_name(names, test_fraction)


class Chairs(manual_builder.ManualDirBuilder):
  """Rendered 3D chairs (Aubry et al., 2014) for DC-IGN (Kulkarni et al.,
  2015), one example per render."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Grayscale, centre-cropped renders, split by "
                            "chair."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = chairs_files.MANUAL_INSTRUCTIONS
  BUILDER_CONFIGS = [make_config(150), make_config(64)]
  DEFAULT_BUILDER_CONFIG_NAME = "150px"

  def check_raw(self, manual_dir: str) -> chairs_files.RawSource:
    return chairs_files.check_manual_dir(manual_dir)

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(
                shape=(size, size, 1), dtype=np.uint8, encoding_format="png",
                doc="Grayscale render, centre-cropped, on white."),
            "chair": tfds.features.Scalar(
                np.int64, doc="Index of the chair among all chairs with "
                "renders, sorted by name (same in train and test)."),
            "chair_name": tfds.features.Text(doc="The chair's folder name."),
            "azimuth": tfds.features.Scalar(
                np.float32, doc="Azimuth (theta) in degrees, from the name."),
            "elevation": tfds.features.Scalar(
                np.float32, doc="Elevation (pitch) in degrees."),
            "azimuth_class": tfds.features.Scalar(
                np.int64, doc="round(azimuth / (360 / 31)) % 31."),
            "elevation_class": tfds.features.Scalar(
                np.int64, doc="Index of the elevation among the dataset's "
                "distinct elevations, ascending (0 = lower)."),
            "filename": tfds.features.Text(
                doc="rendered_chairs/<chair>/renders/<file>.png"),
        }),
        supervised_keys=None,
        homepage=chairs_files.HOMEPAGE,
        citation="""\
@inproceedings{aubry2014seeing,
  title={Seeing 3D chairs: exemplar part-based 2D-3D alignment using a
         large dataset of CAD models},
  author={Aubry, Mathieu and Maturana, Daniel and Efros, Alexei A. and
          Russell, Bryan C. and Sivic, Josef},
  booktitle={CVPR},
  year={2014}
}""",
    )

  def _split_generators(self, dl_manager):
    # Checked again: TFDS may reach here without our download_and_prepare
    # (e.g. from a subclass), and the folder may have changed meanwhile.
    source = chairs_files.check_manual_dir(self.raw_dir(dl_manager))
    index = chairs_files.index_renders(source)
    chairs = split_chairs(list(index.chair_labels),
                          self.builder_config.test_fraction)
    for split in SPLITS:
      logging.info("%s: %d chairs.", split, len(chairs[split]))
    return {split: self._generate_examples(source, index, set(chairs[split]))
            for split in SPLITS}

  def _generate_examples(self, source: chairs_files.RawSource,
                         index: chairs_files.RenderIndex,
                         chair_names: set) -> Iterator[Tuple[str, dict]]:
    """(filename, example) for every render of `chair_names`."""
    for render, data in chairs_files.read_renders(source, index, chair_names):
      yield render.filename, self._example(render, data, index)

  def _example(self, render: chairs_files.Render, data: bytes,
               index: chairs_files.RenderIndex) -> dict:
    config = self.builder_config
    return {
        "image": chairs_files.render_to_array(
            data, render.filename, config.image_size, config.crop_fraction),
        "chair": index.chair_labels[render.chair_name],
        "chair_name": render.chair_name,
        "azimuth": np.float32(render.azimuth),
        "elevation": np.float32(render.elevation),
        "azimuth_class": chairs_files.azimuth_class(render.azimuth),
        "elevation_class": index.elevation_labels[render.elevation],
        "filename": render.filename,
    }


def builder(config: Union[ChairsConfig, Mapping[str, Any], None] = None,
            data_dir: Optional[str] = None,
            manual_dir: Optional[Union[str, os.PathLike]] = None) -> Chairs:
  """The builder of `config` (prepare it with `download_and_prepare`).

  Args:
    config: a `make_config` result, or its keyword arguments as a mapping;
      None for the paper's settings at 150 px.
    data_dir: where TFDS stores prepared data (TFDS's default if None).
    manual_dir: where `rendered_chairs.tar` or `rendered_chairs/` is; if
      None, `<data_dir>/downloads/manual` (see
      chairs_files.MANUAL_INSTRUCTIONS).

  The raw data are not looked for here, since a builder also serves to read
  data prepared earlier; call `chairs_files.check_manual_dir` on the builder
  to check
  them before preparing (`download_and_prepare` checks them first too).

  Raises:
    ValueError: for bad settings, or a config whose name does not encode
      its settings (it could then collide with other prepared data).
  """
  config = manual_builder.resolve_config(
      config, make_config, ChairsConfig,
      lambda config: (config.image_size, config.crop_fraction,
                      config.test_fraction),
      Chairs)
  return Chairs(config=config, data_dir=data_dir, manual_dir=manual_dir)
