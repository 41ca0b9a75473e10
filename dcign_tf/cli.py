"""Runs a binary's main so that bad input ends in one clear line, not a trace."""

import os
import sys
import traceback

from absl import app


def exit_now(status: int):
  # A tf.data iterator still referenced by the error's traceback would make a
  # normal interpreter shutdown wait forever on its worker threads; the
  # message is out, so leave without tearing those down.
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def call(main, argv) -> int:
  """Runs main(argv) and returns the exit status `run` gives it: 0, or 2
  after printing 'error: <message>' for a ValueError (our validation
  errors), or 1 after printing the traceback of any other error."""
  try:
    main(argv)
    return 0
  except ValueError as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  except SystemExit:
    raise
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    return 1


def run(main):
  """app.run(main), ending the process with `call`'s exit status."""

  def checked_main(argv):
    status = call(main, argv)
    if status:
      exit_now(status)

  app.run(checked_main)
