import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_course import models
from keras_course.cli.main import main


@pytest.fixture
def mixed_folder(tmp_path):
    """Two classes of PNG and JPEG files in grayscale, RGB and RGBA, of several sizes."""
    rng = np.random.default_rng(0)
    root = tmp_path / "parts"
    for name, level in (("screw", 200), ("nut", 50)):
        (root / name).mkdir(parents=True)
        for i in range(8):
            size = (20 + 3 * i, 24 + 2 * i)
            pixels = np.clip(rng.normal(level, 25, size=(*size, 4)), 0, 255).astype("uint8")
            mode, ext = [("RGB", "png"), ("L", "png"), ("RGBA", "png"), ("RGB", "jpg")][i % 4]
            image = Image.fromarray(pixels, "RGBA").convert(mode)
            image.save(root / name / f"{i}.{ext}")
    return root


@pytest.fixture
def backbone_weights(tmp_path):
    """A weights file for a narrow resnet8 backbone, as a user would bring one (the smallest with stages to unfreeze)."""
    backbone = models.build("resnet8", input_shape=(32, 32, 3), num_classes=None, include_top=False, pooling="avg",
                            width=0.25)
    path = str(tmp_path / "resnet8_notop.weights.h5")
    backbone.save_weights(path)
    return path


def _argv(folder, run_dir, weights, *extra):
    return ["transfer", "--data", f"image_folder:{folder}", "--backbone", "resnet8", "--weights", weights,
            "--option", "width=0.25", "--image-size", "32", "--epochs", "1", "--batch-size", "4", "--quiet",
            "--run-dir", str(run_dir), *extra]


def test_transfer_on_an_image_folder_writes_a_full_run_directory(mixed_folder, backbone_weights, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(_argv(mixed_folder, run_dir, backbone_weights, "--fine-tune-epochs", "1", "--unfreeze-stages", "1")) == 0
    for name in ("config.json", "history.csv", "model.keras", "saved_model", "metrics.json", "learning_curves.png",
                 "best.weights.h5"):
        assert os.path.exists(run_dir / name), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["transfer"]["fine_tune_epochs"] == 1 and config["model"] == "resnet8"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and metrics["dataset"]["class_names"] == ["nut", "screw"]
    assert "test_accuracy=" in capsys.readouterr().out
    assert main(["evaluate", "--run-dir", str(run_dir)]) == 0  # a fresh load of the saved classifier


def test_transfer_reports_a_corrupt_file_by_path_and_leaves_nothing(mixed_folder, backbone_weights, tmp_path, capsys):
    (mixed_folder / "nut" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert main(_argv(mixed_folder, tmp_path / "run", backbone_weights)) == 2
    err = capsys.readouterr().err.strip()
    assert "broken.jpg" in err and len(err.splitlines()) == 1
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("change, expected", [
    (["--backbone", "MobilenetV2"], "Did you mean 'MobileNetV2'"),
    (["--weights", "/no/such.h5"], "weights"),
    (["--fine-tune-epochs", "-1"], "--fine-tune-epochs must be an int >= 0"),
    (["--unfreeze-stages", "0"], "--unfreeze-stages"),
])
def test_transfer_bad_input_is_one_line(mixed_folder, backbone_weights, tmp_path, capsys, change, expected):
    argv = _argv(mixed_folder, tmp_path / "run", backbone_weights)
    flag, value = change
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
    assert not os.path.exists(tmp_path / "run")
