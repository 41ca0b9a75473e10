"""Tests for dcign_tf.method_benchmark."""

import json
import os

import pytest

from dcign_tf import method_benchmark


def test_bad_requests_are_refused_before_any_work(tmp_path):
  for overrides, message in ((dict(datasets=("mnist",)), "Unknown dataset "
                              "'mnist'; allowed: faces, sprites, objects"),
                             (dict(methods=("pca",)), "Unknown method 'pca'"),
                             (dict(seeds=()), "at least one"),
                             (dict(train_steps=0), "train_steps must be")):
    config = method_benchmark.BenchmarkConfig(output_dir=str(tmp_path / "o"),
                                              **overrides)
    with pytest.raises(ValueError, match=message):
      method_benchmark.run(config)
  assert not (tmp_path / "o").exists()


def test_tables_give_mean_and_spread_over_seeds():
  config = method_benchmark.BenchmarkConfig(output_dir="", seeds=(0, 1))
  runs = [{"disentanglement": {"mig": {"mig": 0.2}, "dci": {
      "disentanglement": 0.5}}, "test_mse_per_pixel": 0.01,
           "novel_view_mean": 0.02},
          {"disentanglement": {"mig": {"mig": 0.4}, "dci": {
              "disentanglement": 0.7}}, "test_mse_per_pixel": 0.03,
           "novel_view_mean": None}]
  text = method_benchmark.tables({"sprites": {"dcign": runs}}, config)
  row = [line for line in text.splitlines() if line.startswith("| dcign")]
  # MIG, DCI-D, SAP (missing), FactorVAE (missing), test MSE, novel view.
  assert row == ["| dcign | 0.300 ± 0.100 | 0.600 ± 0.100 | – | – | "
                 "0.02000 ± 0.01000 | 0.02000 |"]
  assert text.startswith("### sprites")
  assert "2 seeds per cell; 1500 steps" in text


def test_a_finished_run_is_reused(tmp_path, monkeypatch):
  config = method_benchmark.BenchmarkConfig(output_dir=str(tmp_path),
                                            datasets=("sprites",),
                                            methods=("vae",), seeds=(3,))
  folder = tmp_path / "runs" / "sprites" / "vae_seed3"
  folder.mkdir(parents=True)
  (folder / method_benchmark.RESULT_FILE).write_text(json.dumps(
      {"test_mse_per_pixel": 0.5}))
  monkeypatch.setattr(method_benchmark.trainer, "run", None)  # Not called.
  results = method_benchmark.run(config)
  assert results == {"sprites": {"vae": [{"test_mse_per_pixel": 0.5}]}}
  text = (tmp_path / "tables.md").read_text()
  # One seed: the value without a spread.
  assert "| vae | – | – | – | – | 0.50000 | – |" in text
  assert "1 seed per cell;" in text
  assert os.path.exists(tmp_path / "results.json")
