"""val_fraction=0: train on every training example, with what watches a validation split refused in one line."""

import json
import os

import pytest

from keras_course import data, experiments, viz
from keras_course.cli.main import main

DIGITS = dict(model="mlp", dataset="digits", epochs=2, batch_size=64, val_fraction=0.0)


def test_load_with_no_validation_split_keeps_every_training_example():
    train, val, test, info = data.load("digits", val_fraction=0)
    split_train, split_val, _, split_info = data.load("digits", val_fraction=0.1)
    assert val is None and info.sizes["val"] == 0
    assert info.sizes["train"] == split_info.sizes["train"] + split_info.sizes["val"]
    assert len(data.to_numpy(train)[0]) == info.sizes["train"]


def test_a_run_without_validation_keeps_its_last_epoch(tmp_path):
    metrics = experiments.train(experiments.RunConfig(**DIGITS), tmp_path / "run", verbose=0)
    assert metrics["epochs_run"] == metrics["best_epoch"] == 2 and metrics["dataset"]["sizes"]["val"] == 0
    assert metrics["test_accuracy"] > 0.5
    history = viz.read_history(tmp_path / "run" / "history.csv")  # CSVLogger's empty "NA" val_ columns left out
    assert len(history["loss"]) == 2 and not any(column.startswith("val_") for column in history)
    assert not os.path.exists(tmp_path / "run" / "best.weights.h5")
    assert os.path.exists(tmp_path / "run" / "learning_curves.png")


@pytest.mark.parametrize("setting, message", [({"patience": 2}, "Early stopping"), ({"schedule": "plateau"}, "plateau")])
def test_what_watches_the_validation_loss_is_refused(setting, message):
    with pytest.raises(ValueError, match=f"{message}.*val_fraction=0 leaves no validation split"):
        experiments.RunConfig(**DIGITS, **setting).validate()


def test_the_command_line_says_it_in_flags(tmp_path, capsys):
    run_dir = tmp_path / "refused"
    assert main(["train", "--model", "mlp", "--dataset", "digits", "--val-fraction", "0", "--patience", "2",
                 "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--patience 2" in err and "--val-fraction 0.1" in err
    assert not run_dir.exists()


def test_search_refuses_a_run_without_validation(tmp_path):
    with pytest.raises(ValueError, match="search scores each trial on the validation split"):
        experiments.search(experiments.RunConfig(**DIGITS), tmp_path / "search", max_trials=1)
    assert not (tmp_path / "search").exists()
