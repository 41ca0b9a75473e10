"""Tests for dcign_tf.cli: exit statuses and what a failed run prints."""

import pytest

from dcign_tf import cli


def _raises(error):
  def main(argv):
    del argv
    raise error
  return main


def test_call_returns_zero_and_prints_nothing_for_a_clean_run(capsys):
  assert cli.call(lambda argv: None, ["binary"]) == 0
  assert capsys.readouterr().err == ""


def test_a_validation_error_is_one_line_and_status_2(capsys):
  assert cli.call(_raises(ValueError("--x=3 must be below 2.")), []) == 2
  assert capsys.readouterr().err == "error: --x=3 must be below 2.\n"


def test_any_other_error_prints_its_traceback_and_status_1(capsys):
  assert cli.call(_raises(KeyError("lost")), []) == 1
  err = capsys.readouterr().err
  assert err.startswith("Traceback") and "KeyError: 'lost'" in err


def test_system_exit_passes_through():
  with pytest.raises(SystemExit):
    cli.call(_raises(SystemExit(0)), [])
