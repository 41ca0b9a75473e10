"""The data a run trains on: one small class per source, in a registry.

A run's `dataset` setting names its source: the built-in rendered faces
(with the built-in head or any face model), or a labelled dataset the user
has. Each source knows its factors, its splits, which latents its factors
take, whether it has a rendered factor grid (for DCI and MIG), how to build
training batches and evaluation groups, and what an export records so the
images can be drawn again without the model dir. The task, the trainer, the
evaluator and the exports reach data only through `source_for(config)`, so
no code elsewhere asks which dataset a run uses.

`config` is a `train_config.TrainConfig` (or anything with its fields); a
source reads only its data settings.

  faces      rendered groups (`groups`, `pipeline`, `faces_dataset`), live
             or prepared; factors azimuth, elevation, light, identity
  npz        any .npz in the dSprites layout (`npz_files.load_npz`), factor
             names from the file or given; its test split holds out whole
             combinations of the intrinsic factors (`held_out`)
  chairs     the 3D chairs of Aubry et al. (`chairs_dataset`), prepared from
             the manual-download folder; split by chair
  objects    a folder of OBJ meshes (`objects_dataset`), rendered at a grid
             of azimuths, elevations and lights; split by object
  smallnorb, shapes3d, dsprites
             TFDS's own builders (`tfds_sources`), prepared offline from the
             original files; smallNORB has its own test split (by
             instance), Shapes3D and dSprites are held out like npz
"""

# The package's names, and the registration of every source (importing
# the modules registers their classes).
from dcign_tf.data_sources.base import DataSource
from dcign_tf.data_sources.base import names
from dcign_tf.data_sources.base import register
from dcign_tf.data_sources.base import REGISTRY
from dcign_tf.data_sources.base import RENDERING_ONLY
from dcign_tf.data_sources.base import source_for
from dcign_tf.data_sources.faces import RenderedFaces
from dcign_tf.data_sources.labelled import LabelledDataSource

__all__ = ["DataSource", "LabelledDataSource", "REGISTRY", "RENDERING_ONLY",
           "RenderedFaces", "names", "register", "source_for"]
