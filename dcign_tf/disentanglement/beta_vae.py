"""The BetaVAE score (Higgins et al. 2017): a linear classifier of the fixed
factor from code differences, as disentanglement_lib computes it."""

import numpy as np
from sklearn import linear_model

from dcign_tf.disentanglement import grid as grid_lib


def beta_vae_points(grid: grid_lib.FactorGrid, rng: np.random.Generator,
                    batch_size: int, num_points: int) -> tuple:
  """(features [num_points, num_codes], labels [num_points]).

  Each point: a factor k uniform over factors, two batches of batch_size
  uniform grid points in which the second batch copies factor k from the
  first pairwise; feature = mean over pairs of |code1 - code2|, label k.
  """
  features, labels = [], []
  for count in grid_lib.chunks(num_points):
    fixed = rng.integers(0, grid.num_factors, count)
    shape = (count, batch_size, grid.num_factors)
    first = grid.sample_factors(count * batch_size, rng).reshape(shape)
    second = grid.sample_factors(count * batch_size, rng).reshape(shape)
    points = np.arange(count)
    second[points, :, fixed] = first[points, :, fixed]
    difference = np.abs(grid.codes_of(first) - grid.codes_of(second))
    features.append(difference.mean(axis=1))
    labels.append(fixed)
  return np.concatenate(features), np.concatenate(labels)


def beta_vae_score(grid: grid_lib.FactorGrid, rng: np.random.Generator,
                   batch_size: int = 64, num_train: int = 10000,
                   num_eval: int = 5000) -> dict:
  """BetaVAE metric (Higgins et al. 2017), as disentanglement_lib.

  Matches `evaluation/metrics/beta_vae.py` (`compute_beta_vae_sklearn`)
  with its study config (batch_size=64, num_train=10000, num_eval=5000).

  Each point fixes one random factor k across pairs of batch_size grid
  points; its feature is the mean absolute code difference over the pairs
  and its label k. A `LogisticRegression()` with sklearn's defaults is
  fitted on num_train points; the scores are its accuracy on them and on
  num_eval fresh points. 1: the fixed factor is always recognisable from
  which code stopped changing; chance is about 1/num_factors.

  Args:
    grid: codes on the factor grid.
    rng: source of all sampled points and the classifier's seed.
    batch_size: pairs per point.
    num_train: points the classifier is fitted on.
    num_eval: fresh points it is evaluated on.

  Returns:
    {"train_accuracy", "eval_accuracy": floats}.
  """
  train_features, train_labels = beta_vae_points(grid, rng, batch_size,
                                                 num_train)
  # disentanglement_lib passes its random state; the default lbfgs solver
  # never uses it, but a seed keeps other solvers reproducible too.
  model = linear_model.LogisticRegression(
      random_state=grid_lib.sklearn_seed(rng))
  model.fit(train_features, train_labels)
  eval_features, eval_labels = beta_vae_points(grid, rng, batch_size,
                                               num_eval)
  return {"train_accuracy": float(model.score(train_features, train_labels)),
          "eval_accuracy": float(model.score(eval_features, eval_labels))}
