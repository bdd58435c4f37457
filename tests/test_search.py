import csv
import json
import os
import sys

import pytest

from keras_course import data, experiments, training
from keras_course.cli.main import main
from keras_course.experiments.search import default_space, parse_space

search_mod = sys.modules["keras_course.experiments.search"]  # the module (experiments.search is the function)
BASE = experiments.RunConfig(model="mlp", dataset="digits", epochs=2, batch_size=64, model_options={"hidden": [32]})
SPACE = {"lr": "log:1e-3:1e-1", "batch_size": [32, 64], "hidden": [[16], [32, 16]], "dropout": "float:0:0.3"}


@pytest.mark.parametrize("spec, expected", [
    ("log:1e-4:1e-1", {"type": "float", "low": 1e-4, "high": 0.1, "sampling": "log"}),
    ("float:0:0.5", {"type": "float", "low": 0.0, "high": 0.5, "sampling": "linear"}),
    ("int:1:4", {"type": "int", "low": 1, "high": 4, "step": 1}),
    ("int:16:64:16", {"type": "int", "low": 16, "high": 64, "step": 16}),
    ("64,128,256", {"choice": [64, 128, 256]}),
    ("0,0.2", {"choice": [0.0, 0.2]}),
    ("none,light", {"choice": ["none", "light"]}),
    ([[16], [32, 16]], {"choice": [[16], [32, 16]]}),
])
def test_space_specs_parse(spec, expected):
    assert parse_space({"x": spec}) == {"x": expected}


@pytest.mark.parametrize("entry, message", [
    ("lr", "NAME=SPEC"),
    ("lr=log:0:1", "not a valid range"),
    ("lr=log:1e-1:1e-3", "not a valid range"),
    ("width=int:1", "not a valid range"),
    ("augment=none,1", "mixes kinds"),
])
def test_bad_space_entries_are_one_line_errors(entry, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_space([entry])
    assert "\n" not in str(error.value)


def test_the_default_space_includes_only_the_options_the_builder_has():
    mlp = default_space(BASE, (64,), 10)
    assert set(mlp) == {"lr", "batch_size", "weight_decay", "dropout"}  # an mlp has no width, tabular data no augment
    assert mlp["lr"] == {"type": "float", "low": 1e-4, "high": 1e-2, "sampling": "log"}  # a decade around adam's 1e-3
    cnn = default_space(experiments.RunConfig(model="cnn4_bn", dataset="digits"), (8, 8, 1), 10)
    assert set(cnn) == {"lr", "batch_size", "weight_decay", "augment", "width", "dropout"}


@pytest.mark.parametrize("space, message", [
    ({"epochs": [1, 2]}, "fixed for the whole search"),
    ({"width": [1.0, 2.0]}, "has no option 'width'"),
    ({"optimizer": ["adam", "adamm"]}, "Unknown optimizer"),
    ({}, "empty"),
    ({"augment": [["flip"], ["flip", "grayscale"]]}, "'grayscale' changes colours"),  # digits are grayscale
])
def test_a_space_that_would_fail_in_trials_is_refused_before_any(space, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        experiments.search(BASE, tmp_path / "s", space=space)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
def test_each_tuner_writes_its_table_and_a_best_config_that_train_accepts(tuner, tmp_path, capsys):
    result = experiments.search(BASE, tmp_path / "s", space=SPACE, tuner=tuner, max_trials=3)
    for name in ("search.json", "trials.csv", "trials.md", "best_config.json", "trial_seconds.json"):
        assert (tmp_path / "s" / name).is_file(), name
    assert os.listdir(tmp_path / "s" / "logs"), "no TensorBoard logs"
    with open(tmp_path / "s" / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.rows) >= 2 and all(r["status"] == "COMPLETED" for r in rows)
    if tuner != "hyperband":
        assert len(rows) == 3
    scores = [float(r["val_accuracy"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    for row in result.rows:
        assert 1e-3 <= row["lr"] <= 1e-1 and row["batch_size"] in (32, 64) and row["hidden"] in ([16], [32, 16])
        assert 0 <= row["dropout"] <= 0.3 and row["seconds"] > 0 and 1 <= row["best_epoch"] <= row["epochs"] <= 2
    best = json.loads((tmp_path / "s" / "best_config.json").read_text())
    assert best["lr"] == result.best["lr"] and best["model_options"]["hidden"] == result.best["hidden"]
    assert best["epochs"] == BASE.epochs and best["batch_size"] == result.best["batch_size"]

    assert main(["train", "--config", str(tmp_path / "s" / "best_config.json"), "--epochs", "1", "--quiet",
                 "--run-dir", str(tmp_path / "run")]) == 0
    trained = json.loads((tmp_path / "run" / "config.json").read_text())
    # the command line overrides the file, setting by setting; the run records the policy "auto" stood for
    assert trained == {**best, "epochs": 1, "precision": training.resolve_precision(best["precision"])}
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_random_draws_are_reproducible_and_spread_out(tmp_path):
    space = {"lr": "log:1e-4:1e-1", "label_smoothing": [0.0, 0.1]}
    first = experiments.search(BASE, tmp_path / "a", space=space, max_trials=4)
    second = experiments.search(BASE, tmp_path / "b", space=space, max_trials=4)
    rates = sorted(row["lr"] for row in first.rows)
    assert rates == sorted(row["lr"] for row in second.rows)
    # keras-tuner's own draws from consecutive seeds repeat themselves (two trials 0.1% apart was what we saw)
    assert all(b / a > 1.05 for a, b in zip(rates, rates[1:])), rates


def test_a_search_resumes_adds_trials_refuses_other_settings_and_overwrite_starts_over(tmp_path):
    run_dir = tmp_path / "s"
    experiments.search(BASE, run_dir, space=SPACE, max_trials=2)
    seconds = json.loads((run_dir / "trial_seconds.json").read_text())
    assert len(seconds) == 2
    again = experiments.search(BASE, run_dir, space=SPACE, max_trials=2)  # nothing left to do
    assert json.loads((run_dir / "trial_seconds.json").read_text()) == seconds and len(again.rows) == 2
    more = experiments.search(BASE, run_dir, space=SPACE, max_trials=3)
    grown = json.loads((run_dir / "trial_seconds.json").read_text())
    assert len(more.rows) == 3 and {k: grown[k] for k in seconds} == seconds  # the first two did not train again
    with pytest.raises(experiments.RunDirectoryError, match="other settings.*space"):
        experiments.search(BASE, run_dir, space={"lr": "log:1e-3:1e-2"}, max_trials=3)
    fresh = experiments.search(BASE, run_dir, space={"lr": "log:1e-3:1e-2"}, max_trials=1, overwrite=True)
    assert len(fresh.rows) == 1 and len(json.loads((run_dir / "trial_seconds.json").read_text())) == 1


def test_without_tensorboard_the_search_stops_at_once_with_the_fix(monkeypatch, tmp_path):
    real = search_mod.importlib.util.find_spec
    monkeypatch.setattr(search_mod.importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ImportError, match="pip install tensorboard"):
        experiments.search(BASE, tmp_path / "s", space=SPACE)
    assert not (tmp_path / "s").exists()


def test_when_every_trial_fails_the_search_raises_with_the_reason(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("pipeline exploded")

    monkeypatch.setattr(data, "make_pipeline", broken)  # the data module every pipeline of the engine uses
    with pytest.raises(experiments.SearchFailedError, match="pipeline exploded"):
        experiments.search(BASE, tmp_path / "s", space=SPACE, max_trials=5)


def test_cli_search_prints_the_table_and_the_train_command(tmp_path, capsys):
    code = main(["search", "--model", "mlp", "--dataset", "digits", "--epochs", "1", "--option", "hidden=[16]",
                 "--max-trials", "2", "--space", "lr=log:1e-3:1e-1", "--space", "dropout=0,0.2", "--quiet",
                 "--run-dir", str(tmp_path / "s")])
    out = capsys.readouterr().out
    assert code == 0 and "| trial | status | lr | dropout |" in out
    assert f"keras-course train --config {tmp_path / 's' / 'best_config.json'}" in out


@pytest.mark.parametrize("argv, message", [
    (["search", "--model", "mlp", "--dataset", "digits", "--space", "lr"], "NAME=SPEC"),
    (["search", "--model", "mlp", "--dataset", "digits", "--tuner", "grid"], "Unknown tuner 'grid'"),
    (["train", "--dataset", "digits"], "--model is required"),
    (["train", "--config", "no/such/config.json"], "cannot be read"),
])
def test_cli_bad_search_and_config_arguments_are_one_line(argv, message, tmp_path, capsys):
    assert main(argv + ["--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()
