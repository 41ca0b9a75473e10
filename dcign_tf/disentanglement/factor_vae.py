"""The FactorVAE score (Kim & Mnih 2018): a majority-vote classifier of the
fixed factor from the least-varying code, as disentanglement_lib computes it."""

import numpy as np

from dcign_tf.disentanglement import grid as grid_lib


def prune_dims(variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
  """Mask of code dimensions whose standard deviation is >= threshold.

  Dimensions below it are taken to have collapsed to the prior; their
  near-zero variance would otherwise win every argmin vote.
  """
  return np.sqrt(np.asarray(variances, np.float64)) >= threshold


def factor_vae_votes(grid: grid_lib.FactorGrid, rng: np.random.Generator,
                     batch_size: int, num_points: int,
                     global_variances: np.ndarray,
                     active: np.ndarray) -> np.ndarray:
  """[num_factors, num_codes] counts of (fixed factor, argmin code) votes.

  Each vote: a factor k uniform over factors; batch_size grid points
  uniform except factor k, which all share the first point's value; the
  vote goes to the active code dimension with the smallest
  variance (ddof=1) over the batch relative to its global variance.
  """
  votes = np.zeros((grid.num_factors, grid.num_codes), np.int64)
  active_dims = np.flatnonzero(active)
  for count in grid_lib.chunks(num_points):
    fixed = rng.integers(0, grid.num_factors, count)
    factors = grid.sample_factors(count * batch_size, rng).reshape(
        count, batch_size, grid.num_factors)
    points = np.arange(count)
    factors[points, :, fixed] = factors[points, :1, fixed]
    codes = grid.codes_of(factors)[:, :, active_dims]
    relative = codes.var(axis=1, ddof=1) / global_variances[active_dims]
    np.add.at(votes, (fixed, active_dims[np.argmin(relative, axis=1)]), 1)
  return votes


def majority_vote_classifier(votes: np.ndarray) -> np.ndarray:
  """[num_codes] factor most often voted for each code (ties: lowest)."""
  return np.argmax(votes, axis=0)


def vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
  """Fraction of votes whose factor is the one the classifier gives."""
  correct = votes[classifier, np.arange(votes.shape[1])].sum()
  return float(correct / votes.sum())


def factor_vae_score(grid: grid_lib.FactorGrid, rng: np.random.Generator,
                     batch_size: int = 64, num_train: int = 10000,
                     num_eval: int = 5000,
                     num_variance_estimate: int = 10000,
                     prune_threshold: float = 0.05) -> dict:
  """FactorVAE metric (Kim & Mnih 2018), as disentanglement_lib.

  Matches `evaluation/metrics/factor_vae.py` with its study config
  (batch_size=64, num_train=10000, num_eval=5000,
  num_variance_estimate=10000, prune_dims.threshold=0.05).

  Global variance of each code dimension (ddof=1) over
  num_variance_estimate uniform points; dimensions with standard deviation
  below prune_threshold are inactive. Each of num_train votes fixes one
  random factor over a batch of batch_size points and votes (that factor,
  the active code with the smallest batch variance / global variance).
  The classifier maps each code to the factor it got most training votes
  for (factor 0 for codes without votes); train and eval accuracy are the
  fractions of training votes and of num_eval fresh votes that it gets
  right. 1: fixing a factor always silences one dedicated code; chance is
  about 1/num_factors.

  Args:
    grid: codes on the factor grid.
    rng: source of all sampled points.
    batch_size: points per vote.
    num_train: votes the classifier is built from.
    num_eval: fresh votes it is evaluated on.
    num_variance_estimate: points for the global variances.
    prune_threshold: minimum standard deviation of an active dimension.

  Returns:
    {"train_accuracy", "eval_accuracy": floats, "num_active_dims": int,
     "active_dims": [indices]}, plus "note" when no dimension is active
     (then both accuracies are 0, as in disentanglement_lib).
  """
  if batch_size < 2:
    raise ValueError(f"batch_size must be >= 2 to have a batch variance, "
                     f"got {batch_size}.")
  _, codes = grid.sample(num_variance_estimate, rng)
  global_variances = codes.var(axis=0, ddof=1)
  active = prune_dims(global_variances, prune_threshold)
  scores = {"train_accuracy": 0.0, "eval_accuracy": 0.0,
            "num_active_dims": int(active.sum()),
            "active_dims": np.flatnonzero(active).tolist()}
  if not active.any():
    scores["note"] = (f"no code dimension has standard deviation >= "
                      f"{prune_threshold}; accuracies set to 0.")
    return scores
  train_votes = factor_vae_votes(grid, rng, batch_size, num_train,
                                 global_variances, active)
  classifier = majority_vote_classifier(train_votes)
  eval_votes = factor_vae_votes(grid, rng, batch_size, num_eval,
                                global_variances, active)
  scores["train_accuracy"] = vote_accuracy(train_votes, classifier)
  scores["eval_accuracy"] = vote_accuracy(eval_votes, classifier)
  return scores
