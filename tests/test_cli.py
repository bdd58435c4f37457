import json
import os
import shlex
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_course.models  # noqa: F401  (registers the project's layers, for load_model in this process)
from keras_course import export, training
from keras_course.cli.main import DEMO, main
from kill_and_resume import cli

RUN_FILES = ["config.json", "history.csv", "metrics.json", "learning_curves.png", "confusion_matrix.png",
             "model.keras", "saved_model", "logs", "best.weights.h5"]
TINY = ["--model", "lenet5_bn", "--dataset", "fashion_mnist", "--epochs", "2", "--limit", "300", "--batch-size", "64",
        "--quiet"]


def test_models_and_datasets_list(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "lenet5_bn" in out and "mlp" in out
    assert main(["models", "lenet*"]) == 0
    assert "mlp" not in capsys.readouterr().out
    assert main(["datasets"]) == 0
    assert "fashion_mnist" in capsys.readouterr().out


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runs") / "tiny")
    assert main(["train", *TINY, "--run-dir", run_dir]) == 0
    return run_dir


def test_train_writes_every_run_directory_file(finished_run):
    present = set(os.listdir(finished_run))
    assert set(RUN_FILES) <= present
    assert "backup" not in present, "a finished run keeps no resume backup"
    with open(os.path.join(finished_run, "metrics.json")) as f:
        metrics = json.load(f)
    for key in ("test_accuracy", "test_loss", "epochs_run", "train_seconds", "params", "per_class", "macro_avg"):
        assert key in metrics
    assert metrics["epochs_run"] == 2 and len(metrics["per_class"]) == 10
    assert set(metrics["per_class"]["Trouser"]) == {"precision", "recall", "f1-score", "support"}
    with open(os.path.join(finished_run, "config.json")) as f:
        assert json.load(f)["model"] == "lenet5_bn"


def test_saved_model_takes_raw_pixels(finished_run):
    import tensorflow as tf

    model = export.inference_model(keras.models.load_model(os.path.join(finished_run, "model.keras")))  # float32
    served = tf.saved_model.load(os.path.join(finished_run, "saved_model"))
    x = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(served.serve(x).numpy(), model.predict(x, verbose=0), atol=1e-5)


def test_saved_model_serves_uint8_images_in_a_process_without_keras_course(finished_run, tmp_path):
    """TensorFlow Serving's view: `serving_default`, uint8 "images" in, "probabilities" out, no project code."""
    model = export.inference_model(keras.models.load_model(os.path.join(finished_run, "model.keras")))
    x = np.random.default_rng(1).integers(0, 256, size=(5, 28, 28, 1)).astype("uint8")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"signature = tf.saved_model.load({os.path.join(finished_run, 'saved_model')!r}).signatures['serving_default']\n"
        "spec = signature.structured_input_signature[1]['images']\n"
        "assert spec.dtype == tf.uint8 and tuple(spec.shape) == (None, 28, 28, 1), spec\n"
        f"out = signature(images=tf.constant(np.load({str(tmp_path / 'x.npy')!r})))['probabilities'].numpy()\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
        "assert 'keras_course' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    served = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(served, model.predict(x.astype("float32"), verbose=0), atol=1e-5)


def test_evaluate_prints_the_classification_report(finished_run, capsys):
    assert main(["evaluate", "--run-dir", finished_run]) == 0
    out = capsys.readouterr().out
    assert "test_accuracy=" in out and "precision" in out and "Ankle boot" in out


def test_finished_run_is_not_overwritten(finished_run, capsys):
    assert main(["train", *TINY, "--run-dir", finished_run]) == 2
    assert "finished run" in capsys.readouterr().err


def test_regression_run_reports_mse(tmp_path, capsys):
    run_dir = str(tmp_path / "sine")
    assert main(["train", "--model", "mlp", "--dataset", "sine", "--epochs", "2", "--quiet", "--run-dir", run_dir]) == 0
    assert "test_mse=" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(run_dir, "confusion_matrix.png"))
    with open(os.path.join(run_dir, "metrics.json")) as f:
        assert "test_mse" in json.load(f)


BAD_INPUTS = [
    (["--model", "lenet"], "Did you mean 'lenet5'"),
    (["--dataset", "fashion"], "dataset"),
    (["--optimizer", "adan"], "Did you mean 'adam'"),
    (["--schedule", "cosin"], "Did you mean 'cosine'"),
    (["--augment", "heavy"], "augmentation policy"),
    (["--epochs", "0"], "--epochs must be a positive integer. Received: --epochs 0"),  # the command line's words
    (["--batch-size", "-4"], "--batch-size must be a positive integer. Received: --batch-size -4"),
    (["--lr", "0"], "--lr"),
    (["--val-fraction", "1.5"], "--val-fraction must be a number in [0, 1), e.g. 0.1. Received: --val-fraction 1.5"),
    (["--val-fraction", "1"], "--val-fraction"),
    (["--dataset", "digits"], "at least 12x12"),
    (["--dataset", "image_folder:/no/such/place"], "does not exist"),
    (["--option", "width"], "KEY=VALUE"),
    (["--classes", "0,a"], "--classes"),
    (["--classes", "3,3"], "classes"),
    (["--classes", "0,10"], "classes"),
    (["--bn-momentum", "1.5"], "--bn-momentum"),
    (["--option", "widht=2"], "Did you mean 'width'"),
    (["--image-size", "12,x"], "--image-size takes comma-separated integers"),
]


@pytest.mark.parametrize("change, expected", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_no_run_dir(change, expected, tmp_path, capsys):
    args = dict(zip(TINY[0:-1:2], TINY[1::2]))
    args.update(zip(change[0::2], change[1::2]))
    argv = ["train", "--quiet", "--run-dir", str(tmp_path / "run")] + [t for kv in args.items() for t in kv]
    argv = [a for a in argv if a != "--quiet"] + ["--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
    assert not os.path.exists(tmp_path / "run")


def test_missing_dataset_offline(tmp_path, capsys, monkeypatch):
    from keras_course.data import mnist_like

    monkeypatch.setattr(mnist_like, "DEBIAN_DIRS", {"fashion_mnist": [], "mnist": []})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    assert main(["train", *TINY, "--run-dir", str(tmp_path / "run")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_image_folder_problems(tmp_path, image_folder, capsys):
    (image_folder / "dark" / "bad.png").write_bytes(b"\x89PNG broken")
    args = ["train", "--model", "mlp", "--dataset", f"image_folder:{image_folder}", "--quiet", "--run-dir",
            str(tmp_path / "run")]
    assert main(args) == 2
    assert "bad.png" in capsys.readouterr().err
    args[4] = f"image_folder:{image_folder / 'bright'}"  # images, no class folders: nothing to train a classifier on
    assert main(args) == 2
    assert "no class sub-folders" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_image_folder_trains(tmp_path, image_folder):
    run_dir = str(tmp_path / "run")
    assert main(["train", "--model", "lenet5_bn", "--dataset", f"image_folder:{image_folder}", "--epochs", "1",
                 "--augment", "light", "--batch-size", "8", "--quiet", "--run-dir", run_dir]) == 0
    assert os.path.exists(os.path.join(run_dir, "metrics.json"))


def test_nan_loss_is_reported_and_leaves_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["train", "--model", "mlp", "--dataset", "sine", "--optimizer", "sgd", "--lr", "1e12", "--schedule",
                 "constant", "--epochs", "3", "--quiet", "--run-dir", str(run_dir)])
    assert code == 2
    err = capsys.readouterr().err
    assert "epoch 1, step" in err and "Lower the learning rate" in err
    assert not run_dir.exists()


def test_other_settings_in_an_unfinished_run_dir_are_refused(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"model": "mlp"}))
    assert main(["train", *TINY, "--run-dir", str(run_dir)]) == 2
    assert "other settings" in capsys.readouterr().err


def test_demo_saves_a_model_with_a_manifest(tmp_path, capsys):
    argv = ["demo", "--epochs", "1", "--limit", "500", "--run-dir", str(tmp_path / "run"), "--save-to",
            str(tmp_path / "saved"), "--name", "tiny"]
    assert main(argv) == 0
    assert f"demo: {DEMO['model']} reached test accuracy" in capsys.readouterr().out
    with open(tmp_path / "saved" / "tiny" / "manifest.json") as f:
        manifest = json.load(f)
    for key in ("dataset", "metrics", "params", "weights_sha256", "date", "versions", "command"):
        assert key in manifest
    used = training.resolve_precision("auto")  # the command and the config name the policy "auto" stood for
    assert manifest["command"] == "keras-course " + shlex.join(argv) + f" --precision {used}"
    assert manifest["precision"] == manifest["config"]["precision"] == used
    assert os.path.exists(tmp_path / "saved" / "tiny" / "saved_model" / "saved_model.pb")
    model = keras.models.load_model(tmp_path / "saved" / "tiny" / "model.keras")
    assert model.count_params() == manifest["params"]


@pytest.mark.parametrize("precision, auto_means, epochs", [
    ("float32", "mixed_bfloat16", 5), ("mixed_bfloat16", "float32", 7), ("auto", "float32", 5),
    ("auto", "mixed_bfloat16", 7), ("auto", "mixed_float16", 7)])
def test_the_demo_trains_fewer_epochs_where_it_computes_in_float32(precision, auto_means, epochs, monkeypatch):
    """Without bfloat16 (or float16) arithmetic an epoch takes about twice as long: the demo's schedule is shorter
    there, unless --epochs says otherwise."""
    from keras_course import experiments

    monkeypatch.setattr(training.precision, "auto_precision", lambda: auto_means)
    seen = []

    def train(config, run_dir, **_):
        seen.append(config.epochs)
        raise SystemExit(0)  # stop before anything is trained or written

    monkeypatch.setattr(experiments, "train", train)
    for argv in (["demo", "--precision", precision], ["demo", "--precision", precision, "--epochs", "3"]):
        with pytest.raises(SystemExit):
            main(argv)
    assert seen == [epochs, 3]


def test_prepare_unknown_dataset(capsys):
    assert main(["datasets", "--prepare", "fashon_mnist"]) == 2
    assert "Did you mean 'fashion_mnist'" in capsys.readouterr().err


def test_deterministic_and_jit_flags_reach_the_config(tmp_path):
    # a subprocess: op determinism, once on, stays on for the whole process
    run_dir = tmp_path / "run"
    subprocess.run(cli("train", "--model", "mlp", "--dataset", "xor", "--epochs", "1", "--jit", "off",
                        "--deterministic", "--quiet", "--run-dir", str(run_dir)), check=True, capture_output=True)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["jit_compile"] is False and config["deterministic_ops"] is True
