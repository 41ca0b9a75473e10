"""The optimisers and learning-rate schedules a run can ask for."""

import keras

OPTIMIZERS = ("paper", "adam", "rmsprop")
LEARNING_RATE_SCHEDULES = ("constant", "cosine", "warmup_cosine")
# The cosine schedule ends at this share of the peak learning rate.
COSINE_FINAL_SHARE = 0.05
# warmup_cosine rises linearly from 0 over this share of the steps: a
# higher peak rate then does not throw the decoder onto one mean face in
# the first steps.
WARMUP_SHARE = 0.05


def learning_rate_schedule(learning_rate: float, schedule: str = "constant",
                           steps: int = 1):
  """The learning rate, constant or decayed along a half cosine from
  `learning_rate` at step 0 to COSINE_FINAL_SHARE of it at `steps` (a
  function of the optimizer's step, so a resumed run continues it);
  warmup_cosine first rises linearly from 0 to `learning_rate` over
  WARMUP_SHARE of the steps, then decays over the rest."""
  if schedule == "constant":
    return learning_rate
  if schedule == "cosine":
    return keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=max(1, steps), alpha=COSINE_FINAL_SHARE)
  if schedule == "warmup_cosine":
    warmup = max(1, int(round(WARMUP_SHARE * steps)))
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, steps - warmup), alpha=COSINE_FINAL_SHARE,
        warmup_target=learning_rate, warmup_steps=warmup)
  raise ValueError(f"Unknown learning rate schedule {schedule!r}; allowed: "
                   f"{', '.join(LEARNING_RATE_SCHEDULES)}.")


def make_optimizer(name: str, learning_rate):
  """'paper' is the original code's update: Adam with beta2 0.99, eps 1e-8
  (the paper calls it rmsprop). `learning_rate` may be a schedule."""
  if name == "paper":
    return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.99,
                                 epsilon=1e-8)
  if name == "adam":
    return keras.optimizers.Adam(learning_rate)
  if name == "rmsprop":
    return keras.optimizers.RMSprop(learning_rate)
  raise ValueError(f"Unknown optimizer {name!r}; allowed: "
                   f"{', '.join(OPTIMIZERS)}.")
