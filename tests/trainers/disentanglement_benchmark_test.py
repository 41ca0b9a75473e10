"""Tests for trainers.disentanglement_benchmark: a tiny benchmark end to
end, on the procedural sprites."""

from absl import flags
from absl.testing import flagsaver
import pytest

from trainers import disentanglement_benchmark

pytestmark = pytest.mark.slow


def test_tiny_benchmark_writes_one_row_per_method(tmp_path, capsys):
  flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(benchmark_dir=str(tmp_path),
                           datasets=["sprites"], methods=["dcign", "gvae"],
                           seeds=["0"], run_steps=2, metric_points=100):
    disentanglement_benchmark.main([])
  tables = (tmp_path / "tables.md").read_text()
  rows = [line for line in tables.splitlines() if line.startswith("| ")]
  assert [r.split(" | ")[0] for r in rows[1:]] == ["| dcign", "| gvae"]
  # Each row has every score: the sprites are a complete grid.
  assert "–" not in "".join(rows[1:])
  assert "### sprites" in capsys.readouterr().out
  assert (tmp_path / "runs" / "sprites" / "gvae_seed0" /
          "result.json").exists()


def test_bad_seeds_are_refused(tmp_path):
  flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(benchmark_dir=str(tmp_path), seeds=["one"]):
    with pytest.raises(ValueError, match="--seeds=one must be whole"):
      disentanglement_benchmark.main([])
