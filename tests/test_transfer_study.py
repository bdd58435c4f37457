import json
import os

import keras
import numpy as np
import pytest

from keras_course import data, experiments, transfer
from keras_course.cli.main import main
from keras_course.experiments.transfer_experiment import METHODS, summarize


@pytest.fixture(scope="module")
def tiny_backbone(built_once):
    """A narrow resnet8 pretrained for one epoch on 600 Fashion-MNIST images of classes 0-4, saved like the real one
    (the real one is a resnet20; resnet8 traces in 60% of its time, and the study's steps are the point)."""

    def pretrain(root):
        argv = ["pretrain", "--model", "resnet8", "--dataset", "fashion_mnist", "--classes", "0,1,2,3,4", "--epochs",
                "1", "--limit", "600", "--option", "width=0.25", "--bn-momentum", "0.9", "--name", "tiny", "--save-to",
                str(root / "saved"), "--run-dir", str(root / "run"), "--quiet"]
        assert main(argv) == 0

    return built_once("transfer_study_backbone", pretrain) / "saved"


def test_pretrain_writes_a_manifest_with_classes_and_the_command(tiny_backbone, monkeypatch):
    manifest = json.loads((tiny_backbone / "tiny" / "manifest.json").read_text())
    assert manifest["config"]["classes"] == [0, 1, 2, 3, 4] and manifest["config"]["bn_momentum"] == 0.9
    assert manifest["dataset"]["classes"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    assert manifest["command"].startswith("keras-course pretrain --model resnet8") and len(manifest["weights_sha256"]) == 64
    monkeypatch.setenv("KERAS_COURSE_SAVED_MODELS", str(tiny_backbone))
    assert "tiny" in transfer.project_models()


def test_project_backbone_is_the_saved_network_up_to_its_features(tiny_backbone, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_SAVED_MODELS", str(tiny_backbone))
    saved = keras.models.load_model(tiny_backbone / "tiny" / "model.keras")
    model = transfer.build_classifier("resnet8", 5, weights="project:tiny")
    assert model.input_shape == (None, 28, 28, 1) and model.get_layer("backbone_preprocessing").mode == "none"
    x = np.random.default_rng(0).uniform(0, 255, size=(3, 28, 28, 1)).astype("float32")
    expected = keras.Model(saved.inputs, saved.get_layer("predictions").input).predict(x, verbose=0)
    np.testing.assert_allclose(transfer.features_model(model).predict(x, verbose=0), expected, atol=1e-5)
    with pytest.raises(ValueError, match="holds a resnet8"):
        transfer.build_classifier("ResNet50", 5, weights="project:tiny")


def test_transfer_study_compares_three_methods_and_writes_its_outputs(tiny_backbone, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_COURSE_SAVED_MODELS", str(tiny_backbone))
    result = experiments.transfer_study("tiny", target_classes=[5, 6, 7, 8, 9], labels_per_class=(4,), seeds=(0,),
                                        head_epochs=1, fine_tune_epochs=1, out_dir=str(tmp_path), progress=None)
    assert [(r["seed"], r["method"]) for r in result["rows"]] == [(0, m) for m in METHODS]
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in result["rows"])
    assert result["settings"]["test_size"] == 5000
    frozen = next(r["test_accuracy"] for r in result["rows"] if r["method"] == "frozen")
    assert result["summary"]["4"]["frozen"] == {"mean": pytest.approx(frozen), "std": 0.0, "n": 1}
    assert "| 4 |" in (tmp_path / "study.md").read_text()
    assert os.path.getsize(tmp_path / "study.png") > 10_000


def test_the_study_summary_is_the_mean_and_sample_spread_over_seeds():
    rows = [{"labels_per_class": n, "method": m, "seed": seed, "test_accuracy": 0.5 + 0.1 * seed + 0.01 * n}
            for n in (4, 16) for m in METHODS for seed in (0, 1, 2)]
    summary = summarize(rows)
    assert list(summary) == ["4", "16"] and set(summary["4"]) == set(METHODS)
    assert summary["16"]["frozen"] == {"mean": pytest.approx(0.76), "std": pytest.approx(0.1), "n": 3}


def test_transfer_study_rejects_target_classes_the_backbone_has_seen(tiny_backbone, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_SAVED_MODELS", str(tiny_backbone))
    with pytest.raises(ValueError, match="shared: \\[4\\]"):
        experiments.transfer_study("tiny", target_classes=[4, 5])


def test_class_subsets_are_relabelled_in_the_order_given():
    train, _, test, info = data.load("digits", classes=[7, 3], seed=0)
    _, y = data.to_numpy(test)
    assert info.class_names == ["7", "3"] and info.num_classes == 2 and set(np.unique(y)) == {0, 1}
    full_train, _, full_test, _ = data.load("digits", seed=0)
    x_full, y_full = data.to_numpy(full_test)
    x_sub, y_sub = data.to_numpy(test)
    np.testing.assert_array_equal(x_sub, x_full[np.isin(y_full, [7, 3])])
    np.testing.assert_array_equal(y_sub, np.where(y_full[np.isin(y_full, [7, 3])] == 7, 0, 1))


@pytest.mark.parametrize("classes", [[], [1, 1], [10], [-1], "0,1", [True]])
def test_bad_class_subsets_are_named(classes):
    with pytest.raises(ValueError, match="classes"):
        data.load("digits", classes=classes)


def test_per_class_subset_draws_exactly_n_of_each_class():
    y = np.repeat(np.arange(3), 10)
    x = np.arange(30)
    xs, ys = data.per_class_subset(x, y, 4, seed=1)
    assert np.bincount(ys).tolist() == [4, 4, 4] and np.array_equal(y[xs], ys)
    again, _ = data.per_class_subset(x, y, 4, seed=1)
    assert np.array_equal(xs, again)
    with pytest.raises(ValueError, match="per_class=11"):
        data.per_class_subset(x, y, 11)
