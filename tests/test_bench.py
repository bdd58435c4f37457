import json

import pytest

from bench.__main__ import main


def test_demo_benchmark_runs_quick_and_writes_json(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert main(["demo", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["quick"] is True and 0.0 <= result["test_accuracy"] <= 1.0 and result["train_seconds"] > 0
    assert "test_accuracy" in capsys.readouterr().out


def test_zoo_benchmark_runs_quick_for_a_chosen_model(tmp_path, capsys):
    out = tmp_path / "zoo.json"
    assert main(["zoo", "--quick", "--models", "lenet5_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["lenet5_bn"]
    assert list(result["models"]) == ["lenet5_bn"] and result["budget"]["limit"] == 600
    assert row["params"] > 0 and 0.0 <= row["test_accuracy"] <= 1.0 and row["full_epoch_seconds"] > row["seconds_per_epoch"]
    assert "lenet5_bn" in capsys.readouterr().out


def test_roofline_quick_reports_percent_of_gemm(tmp_path):
    out = tmp_path / "roofline.json"
    assert main(["roofline", "--quick", "--models", "cnn4_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["cnn4_bn"]
    assert result["gemm_gflops"] > 1 and row["img_per_s"] > 0
    # 3 x the forward FLOPs TF's profiler counts for cnn4_bn at 28x28x1 (about 20 MFLOP)
    assert 0.05 < row["train_gflops"] < 0.07
    assert row["pct_of_gemm"] == pytest.approx(100 * row["img_per_s"] * row["train_gflops"] / result["gemm_gflops"],
                                               rel=0.01)
    assert result["peak_rss_mb"] > 100


def test_overheads_quick_measures_every_setting(tmp_path):
    out = tmp_path / "overheads.json"
    assert main(["overheads", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["steps_per_execution"]) == {"mlp", "lenet5"}
    for rates in result["steps_per_execution"].values():
        assert set(rates) == {"1", "8", "32"} and min(rates.values()) > 0
    for row in result["xla"].values():
        assert row["on"] > 0 and row["off"] > 0
    assert result["defaults"]["jit_compile"] is False  # no GPU here: XLA off by default


def test_pipeline_quick_compares_three_pipelines(tmp_path):
    out = tmp_path / "pipeline.json"
    assert main(["pipeline", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("fashion_mnist", "synthetic_32x32x3"):
        row = result["datasets"][name]
        assert set(row["pipelines"]) == {"batched", "per_example", "numpy"} and row["train_img_per_s"] > 0
        for p in row["pipelines"].values():
            assert p["ratio_to_training"] == pytest.approx(p["img_per_s"] / row["train_img_per_s"], rel=0.02)


def test_time_to_accuracy_quick_records_each_epoch(tmp_path):
    out = tmp_path / "tta.json"
    assert main(["time_to_accuracy", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["epochs"] == 1 and set(result["seconds_to"]) == {"0.92", "0.93"} and list(result["runs"]) == ["all"]
    (epoch,) = result["runs"]["all"]["per_epoch"]
    assert 0.0 <= result["test_accuracy"] == epoch["test_accuracy"] <= 1.0 and epoch["train_seconds"] > 0


def test_vs_keras_apps_quick_compares_parameters_and_speed(tmp_path):
    out = tmp_path / "apps.json"
    assert main(["vs_keras_apps", "--quick", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["models"]["resnet50"]
    assert row["params"] == row["keras_params"] > 23_000_000
    assert row["ratio"] == pytest.approx(row["img_per_s"] / row["keras_img_per_s"], rel=0.01)


def test_batchnorm_quick_times_both_layers_on_the_same_model(tmp_path):
    out = tmp_path / "bn.json"
    assert main(["batchnorm", "--quick", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["models"]["cnn4_bn"]
    assert row["fused_img_per_s"] > 0 and row["keras_img_per_s"] > 0
    assert row["ratio"] == pytest.approx(row["fused_img_per_s"] / row["keras_img_per_s"], rel=0.01)
