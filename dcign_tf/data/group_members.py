"""Groups cut to M of their members for training batches.

A batch of one group of 20 shows the decoder one face per step in azimuth,
elevation and light groups; K groups of M = 20 / K members cost the same
step and show it K faces, each still a group in which one factor varies.
"""

import tensorflow as tf

from dcign_tf.data import factors


def check_members_per_group(members_per_group, group_size: int) -> int:
  """M, the members of each group kept in training batches (0: all)."""
  if (isinstance(members_per_group, bool) or
      int(members_per_group) != members_per_group or
      not (members_per_group == 0 or
           factors.MIN_GROUP_SIZE <= members_per_group <= group_size)):
    raise ValueError(
        f"members_per_group must be 0 (whole groups) or an integer in "
        f"[{factors.MIN_GROUP_SIZE}, group_size={group_size}], got "
        f"{members_per_group!r}.")
  return int(members_per_group)


def keep_members(group: dict, members: int, seed, index) -> dict:
  """`members` members of one group (a dict of per-member tensors and its
  scalar group type), chosen at random from (seed, index) alone, in their
  stored order."""
  count = tf.shape(group["images"])[0]
  keys = tf.random.stateless_uniform(
      [count], seed=tf.stack([tf.cast(seed, tf.int64),
                              tf.cast(index, tf.int64)]))
  chosen = tf.sort(tf.argsort(keys)[:members])
  return {key: value if key == "group_type" else tf.gather(value, chosen)
          for key, value in group.items()}
