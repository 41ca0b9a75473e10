"""One distributed DC-IGN training step, and the input sharding it expects.

Under any tf.distribute strategy a global batch of K groups is split into
R shares of K / R whole groups, share r for replica r
(`replica_id_in_sync_group`); each input pipeline (one per worker) yields
its local replicas' shares in order (`pipeline.Sharding`). With the
model's posterior noise keyed by (step, group's place in the global
batch), R replicas make the same update as one device.

`StepRunner` builds the step once: the replica function computes the
gradients (optionally compiled with XLA; no variable changes inside it),
then applies them through the optimizer, which sums them over replicas.
It returns the batch's loss terms averaged over replicas, and whether any
worker asked to stop (a pre-emption signal seen by one worker reaches all,
so they save the same checkpoint together).
"""

import tensorflow as tf

from dcign_tf.data import pipeline


def input_sharding(context: tf.distribute.InputContext) -> pipeline.Sharding:
  """The replicas an input pipeline feeds: worker w of W feeds replicas
  w * L ... w * L + L - 1, its L = R / W local ones."""
  replicas = context.num_replicas_in_sync
  local = replicas // context.num_input_pipelines
  first = context.input_pipeline_id * local
  return pipeline.Sharding(replicas, tuple(range(first, first + local)))


class StepRunner:
  """Runs training steps of `model` under `strategy`.

  Args:
    model: a compiled `model.DCIGN` built inside `strategy.scope()`.
    strategy: the tf.distribute strategy.
    jit_compile: compile each replica's forward and backward pass with XLA.

  Call `runner(iterator, stop)` with an iterator over a distributed dataset
  and a float (1.0: this worker wants to stop); it returns a dict of
  scalar loss terms and "stop" (> 0 when any worker asked).
  """

  def __init__(self, model, strategy: tf.distribute.Strategy,
               jit_compile: bool = False):
    self.model = model
    self.strategy = strategy
    gradients = model.compute_gradients
    if jit_compile:
      gradients = tf.function(gradients, jit_compile=True)

    def replica_step(data, stop):
      noise = model.posterior_noise(model.batch_images(data),
                                    model.network.latent_size)
      grads, values = gradients(data, noise)
      model.apply_step_gradients(grads, values)
      # An identity per replica, so the flags can be summed over replicas.
      return {**values, "stop": tf.identity(stop)}

    @tf.function
    def step(iterator, stop):
      values = strategy.run(replica_step, args=(next(iterator), stop))
      reduced = {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value,
                                       axis=None)
                 for name, value in values.items() if name != "stop"}
      reduced["stop"] = strategy.reduce(tf.distribute.ReduceOp.SUM,
                                        values["stop"], axis=None)
      return reduced

    self._step = step

  def __call__(self, iterator, stop: float = 0.0) -> dict:
    return self._step(iterator, tf.constant(stop, tf.float32))
