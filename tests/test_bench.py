import json

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
