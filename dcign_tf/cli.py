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


def run(main):
  """app.run(main), turning a ValueError (our validation errors) into
  'error: <message>' on stderr and exit status 2; any other error prints its
  traceback and exits with status 1."""

  def checked_main(argv):
    try:
      return main(argv)
    except ValueError as error:
      print(f"error: {error}", file=sys.stderr)
      exit_now(2)
    except SystemExit:
      raise
    except BaseException:  # pylint: disable=broad-except
      traceback.print_exc()
      exit_now(1)

  app.run(checked_main)
