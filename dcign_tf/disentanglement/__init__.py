"""Disentanglement metrics of disentanglement_lib, on a factor grid of codes.

The field's standard scores (MIG, DCI, SAP, FactorVAE, BetaVAE) with the
definitions, default sample sizes and default classifiers of
google-research/disentanglement_lib (`disentanglement_lib/evaluation/
metrics/*.py` and the `unsupervised_study_v1` metric configs).

disentanglement_lib samples observations from a ground-truth simulator and
encodes them. Here the representation of every combination of factor values
has been computed beforehand: a `FactorGrid` holds codes of shape
[*factor_sizes, num_codes], and "encoding an observation with factors f" is
the lookup codes[f]. Factor values are grid indices, so every factor is
discrete (continuous factors were binned by the caller).

Arrays here are sample-major: codes [count, num_codes], factors
[count, num_factors] (disentanglement_lib transposes both). All randomness
comes from the `np.random.Generator` passed in, so a seed fixes the result.

Each metric has its module (`mig`, `dci`, `sap`, `factor_vae`, `beta_vae`);
`all_metrics` computes those asked for into one JSON-serialisable dict.
"""

from typing import Sequence

import numpy as np

from dcign_tf.disentanglement import beta_vae
from dcign_tf.disentanglement import dci
from dcign_tf.disentanglement import factor_vae
from dcign_tf.disentanglement import grid as grid_lib
from dcign_tf.disentanglement import mig
from dcign_tf.disentanglement import sap

FactorGrid = grid_lib.FactorGrid
METRIC_NAMES = ("mig", "dci", "sap", "factor_vae", "beta_vae")


def all_metrics(grid: FactorGrid, rng: np.random.Generator,
                num_train: int = 10000, num_test: int = 5000,
                batch_size: int = 64, num_variance_estimate: int = 10000,
                num_bins: int = 20, continuous_factors: bool = False,
                include: Sequence[str] = METRIC_NAMES) -> dict:
  """Every metric in `include`, as one JSON-serialisable nested dict.

  Each metric draws from its own child of `rng` (Generator.spawn), so a
  metric's value does not depend on which others are computed. num_test
  is also the FactorVAE and BetaVAE num_eval.

  Args:
    grid: codes on the factor grid.
    rng: parent of the metrics' generators.
    num_train: training points (votes for FactorVAE) of every metric.
    num_test: test / evaluation points of every metric.
    batch_size: batch of FactorVAE and BetaVAE.
    num_variance_estimate: FactorVAE's points for global variances.
    num_bins: MIG's histogram bins.
    continuous_factors: SAP's scoring (see `sap`).
    include: names from METRIC_NAMES; DCI is by far the slowest.

  Returns:
    {metric name: that metric's dict with plain Python numbers and lists},
    plus "factor_names" and "factor_sizes".
  """
  unknown = sorted(set(include) - set(METRIC_NAMES))
  if unknown:
    raise ValueError(f"unknown metrics {unknown}; choose from {METRIC_NAMES}.")
  rngs = dict(zip(METRIC_NAMES, rng.spawn(len(METRIC_NAMES))))
  compute = {
      "mig": lambda r: mig.mig(grid, r, num_train, num_bins),
      "dci": lambda r: dci.dci(grid, r, num_train, num_test),
      "sap": lambda r: sap.sap(grid, r, num_train, num_test,
                               continuous_factors),
      "factor_vae": lambda r: factor_vae.factor_vae_score(
          grid, r, batch_size, num_train, num_test, num_variance_estimate),
      "beta_vae": lambda r: beta_vae.beta_vae_score(
          grid, r, batch_size, num_train, num_test),
  }
  results = {name: grid_lib.plain(compute[name](rngs[name]))
             for name in METRIC_NAMES if name in include}
  results["factor_names"] = grid_lib.plain(grid.factor_names)
  results["factor_sizes"] = list(grid.factor_sizes)
  return results
