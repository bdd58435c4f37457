"""Lab T5 (cats vs dogs, with tensorflow-datasets' mock data and a weights file written here) and the offline
transfer experiment (its quick run is its notebook's, in test_labs.py)."""

import os

import keras
import pytest
import tensorflow_datasets as tfds

from keras_course import labs

APPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps")
LAB5 = os.path.join(APPS, "lab5_transfer_cats_dogs.py")


@pytest.fixture
def mock_cats_vs_dogs(tmp_path):
    """A tfds folder that looks prepared, with tfds's mock data standing in for the real images."""
    root = tmp_path / "tfds"
    (root / "cats_vs_dogs" / "4.0.1").mkdir(parents=True)
    (root / "cats_vs_dogs" / "4.0.1" / "dataset_info.json").write_text("{}")
    with tfds.testing.mock_data(num_examples=30, policy=tfds.testing.MockPolicy.USE_CODE):
        yield root


# -m slow, as the other labs' script runs: the lab's own backbone (ResNet50) traces its two phases and exports in
# about 50 s on 2 cores, VGG16 in 12 s. By default: the lab's one-line stops below, its notebook offline
# (test_labs), its calls into the library against their signatures, and a local weights file of a keras.applications
# backbone (test_transfer, test_transfer_cli)
@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["VGG16", "ResNet50"])
def test_lab5_code_path_on_mock_data_with_a_local_weights_file(mock_cats_vs_dogs, tmp_path, backbone):
    weights = str(tmp_path / f"{backbone}_notop.weights.h5")
    getattr(keras.applications, backbone)(weights=None, include_top=False, input_shape=(64, 64, 3),
                                          pooling="avg").save_weights(weights)
    result = labs.run(LAB5, "--quick", "--out", str(tmp_path / "out"), "--weights", weights, "--data-dir",
                      str(mock_cats_vs_dogs), "--backbone", backbone)["RESULT"]
    assert result and 0.0 <= result["test_accuracy"] <= 1.0
    run_dir = tmp_path / "out" / "lab5_transfer_cats_dogs"
    assert os.path.exists(run_dir / "metrics.json") and os.path.exists(run_dir / "saved_model")


def test_lab5_without_data_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    with pytest.raises(SystemExit) as stopped:
        labs.run(LAB5, "--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path / "empty"))
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "prepare cats_vs_dogs" in err and "transfer_fashion.py" in err


def test_lab5_without_weights_says_so_in_one_line(mock_cats_vs_dogs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    with pytest.raises(SystemExit) as stopped:
        labs.run(LAB5, "--quick", "--out", str(tmp_path), "--data-dir", str(mock_cats_vs_dogs))
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in err


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 2026-11-28: from scratch wins at 20 labels/class (see README, "
                   "Transfer learning): features of clothing classes 0-4 do not carry to shoes and bags")
def test_transfer_fashion_pretrained_beats_scratch_by_ten_points_at_20_labels(tmp_path):
    result = labs.run(os.path.join(APPS, "transfer_fashion.py"), "--out", str(tmp_path))["RESULT"]
    assert result["frozen@20"] >= result["scratch@20"] + 0.10
    assert result["fine_tuned@20"] >= result["scratch@20"] + 0.10
