import json

from bench.__main__ import main


def test_demo_benchmark_runs_quick_and_writes_json(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert main(["demo", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["quick"] is True and 0.0 <= result["test_accuracy"] <= 1.0 and result["train_seconds"] > 0
    assert "test_accuracy" in capsys.readouterr().out
