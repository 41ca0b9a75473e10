"""Runs a binary's main so that bad input ends in one clear line, not a trace."""

import sys

from absl import app


def run(main):
  """app.run(main), turning a ValueError (our validation errors) into
  'error: <message>' on stderr and exit status 2."""

  def checked_main(argv):
    try:
      return main(argv)
    except ValueError as error:
      print(f"error: {error}", file=sys.stderr)
      sys.exit(2)

  app.run(checked_main)
