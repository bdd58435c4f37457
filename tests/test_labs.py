"""Every lab runs end to end with --quick; the full labs (slow) must reach the targets they state."""

import importlib
import os

import pytest

LABS = ["lab1_sine_regression", "lab2_binary_classification", "lab3_multiclass_classification", "logic_gates",
        "lab4_cnn"]
PLOTS = {"lab1_sine_regression": ["lab1_sine_fit.png"], "lab2_binary_classification": ["lab2_boundaries.png"],
         "lab3_multiclass_classification": ["lab3_spirals_boundaries.png"], "logic_gates": ["logic_gates.png"],
         "lab4_cnn": ["lab4_resnet20_fashion_mnist/learning_curves.png",
                      "lab4_resnet20_fashion_mnist/confusion_matrix.png",
                      *(f"lab4_resnet20_fashion_mnist/plots/{name}.png" for name in
                        ("confused_pairs", "top_losses", "first_layer_filters", "grad_cam"))]}


@pytest.mark.parametrize("lab", LABS)
def test_lab_smoke(lab, tmp_path):
    result = importlib.import_module(lab).main(["--quick", "--out", str(tmp_path)])
    assert result and all(isinstance(v, float) for v in result.values())
    for plot in PLOTS[lab]:
        assert os.path.getsize(tmp_path / plot) > 5_000  # an empty matplotlib canvas is 2-4 kB


@pytest.mark.slow
def test_lab1_reaches_noise_level(tmp_path):
    assert importlib.import_module("lab1_sine_regression").main(["--out", str(tmp_path)])["ratio"] <= 1.5


@pytest.mark.slow
def test_lab2_separates_moons_and_circles(tmp_path):
    accuracies = importlib.import_module("lab2_binary_classification").main(["--out", str(tmp_path)])
    assert min(accuracies.values()) >= 0.95


@pytest.mark.slow
def test_lab3_needs_a_hidden_layer(tmp_path):
    result = importlib.import_module("lab3_multiclass_classification").main(["--out", str(tmp_path)])
    assert result["mlp"] >= 0.95 and result["linear"] <= 0.60


@pytest.mark.slow
def test_logic_gates(tmp_path):
    acc = list(importlib.import_module("logic_gates").main(["--out", str(tmp_path)]).values())
    assert acc[0] == 1.0 and acc[1] == 1.0 and acc[2] <= 0.75 and acc[3] == 1.0


@pytest.mark.slow
def test_demo_reaches_091_in_two_minutes(tmp_path):
    import json

    from keras_course.cli.main import main

    assert main(["demo", "--run-dir", str(tmp_path / "run"), "--save-to", str(tmp_path / "saved")]) == 0
    with open(tmp_path / "saved" / "fashion_mnist_lenet5_bn" / "manifest.json") as f:
        manifest = json.load(f)
    assert manifest["metrics"]["test_accuracy"] >= 0.91
    assert manifest["train_seconds"] <= 120
