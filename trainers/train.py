r"""Trains DC-IGN on grouped renders of faces.

  python -m trainers.train --flagfile=faces.flags        # the paper's setup
  python -m trainers.train --flagfile=faces_quick.flags  # a quick CPU run
  python -m trainers.train --flagfile=faces_quick.flags --training=vae \
      --model_dir=outputs/faces_quick_vae                # entangled baseline

Writes to --model_dir: checkpoints (a rerun resumes), TensorBoard logs
(scalars for every metric, image summaries), sweep_{factor}.png sheets and
metrics.json; then exports the encoder and decoder SavedModels for TF
Serving to --export_dir (default MODEL_DIR/export; --noexport skips it).
"""

import os
import sys

from absl import logging

from dcign_tf import cli
from dcign_tf import faces_evaluation
from dcign_tf import model_dir as model_dir_lib
from dcign_tf import saved_model_export
from dcign_tf import trainer
from trainers import train_flags


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  try:
    config = train_flags.config_from_flags()
    export_dir = (train_flags.EXPORT_DIR.value or
                  saved_model_export.default_export_dir(config.model_dir))
    if train_flags.EXPORT.value:  # Refused before training, not after.
      saved_model_export.check_export_dir(config.model_dir, export_dir)
    metrics = trainer.run(config,
                          allow_data_change=train_flags.ALLOW_DATA_CHANGE.value)
  except trainer.TrainingDiverged as error:
    print(f"error: {error}", file=sys.stderr)
    cli.exit_now(3)
  except trainer.TrainingPreempted as error:
    # 128 + SIGTERM, as a process killed by it would report.
    print(f"pre-empted: {error}", file=sys.stderr)
    cli.exit_now(143)
  if "sweeps" not in metrics:  # A non-chief worker: the chief reports.
    print(f"Worker done after {metrics['steps']} steps; the chief writes the "
          "results.")
    return
  print(faces_evaluation.summary_line(config.model_dir, metrics))
  print("Metrics: " +
        os.path.join(config.model_dir, model_dir_lib.METRICS_FILE))
  print("Sweeps: " + ", ".join(metrics["sweeps"]))
  if train_flags.EXPORT.value:
    paths = saved_model_export.export(
        config.model_dir, export_dir,
        calibration_groups_per_type=config.eval_groups_per_type,
        workers=config.workers)
    print(f"Exported for TF Serving: {paths['encoder']}, {paths['decoder']} "
          f"(serve with {paths['models_config']}).")


if __name__ == "__main__":
  cli.run(main)
