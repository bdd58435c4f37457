"""The training engine: phases, resume across phases, and the commands recorded in saved_models/ replayed."""

import json
import os
import shlex
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_course.models  # noqa: F401  (registers the project's layers, for load_model in this process)
from interruption import Interrupted, StopAt
from keras_course import experiments, models, training
from keras_course.cli import arguments
from keras_course.cli.main import DEMO, _parser, main
from kill_and_resume import cli, kill_and_resume

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFESTS = sorted(os.path.join(ROOT, "saved_models", name, "manifest.json")
                   for name in os.listdir(os.path.join(ROOT, "saved_models"))
                   if os.path.exists(os.path.join(ROOT, "saved_models", name, "manifest.json")))
# a transfer run of a narrow resnet8 backbone on 32 px Fashion-MNIST: 1 head epoch, then 2 of fine-tuning (resnet8:
# its three stages, one block each, trace in 60% of resnet20's time, and the phases are the point)
TRANSFER = experiments.RunConfig(model="resnet8", dataset="fashion_mnist", epochs=1, batch_size=64, lr=3e-3,
                                 limit=400, seed=1, schedule="constant", augment="light", image_size=None,
                                 transfer=dict(weights=None, fine_tune_epochs=2, fine_tune_lr=1e-3, unfreeze_stages=1,
                                               dropout=0.2, resize=32, options={"width": 0.25}))


def _epochs_in_history(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return [int(line.split(",")[0]) for line in f.read().splitlines()[1:]]


def _toy(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def _two_layer_model():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", name="body")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head")(hidden))


def test_fit_phases_sets_what_trains_compiles_each_phase_and_numbers_epochs_across():
    model = _two_layer_model()
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append((epoch, len(self.model.trainable_weights), float(self.model.optimizer.learning_rate)))

    def body_frozen(m):
        m.get_layer("body").trainable = False

    def all_train(m):
        m.get_layer("body").trainable = True

    phases = [training.Phase("head", 2, lr=0.1, trains=body_frozen, callbacks=[Record()]),
              training.Phase("all", 0, lr=0.5),  # trains nothing, still compiles
              training.Phase("all", 3, lr=0.01, optimizer="sgd", trains=all_train)]
    x, y = _toy()
    histories = training.fit_phases(model, phases, (x, y), callbacks=[])
    assert [len(h.get("loss", [])) for h in histories] == [2, 0, 3]
    assert seen == [(0, 2, pytest.approx(0.1)), (1, 2, pytest.approx(0.1))]  # the phase's own callback, its phase only
    assert type(model.optimizer).__name__ == "SGD" and len(model.trainable_weights) == 4
    assert training.phase_starts(phases, 5) == [5, 7, 7]
    with pytest.raises(ValueError, match="epochs"):
        training.Phase("bad", -1)
    with pytest.raises(ValueError, match="phases"):
        training.fit_phases(model, [], x)


def _run_with_an_early_stopped_first_phase(backup_dir):
    """Two phases on the toy task; the first is ended by early stopping (validation labels are the training
    labels flipped, so validation loss rises from the first epoch on). Returns (model, histories)."""
    keras.utils.set_random_seed(0)
    model = _two_layer_model()
    x, y = _toy()
    train, val = (tf.data.Dataset.from_tensor_slices((x, labels)).batch(16) for labels in (y, 1 - y))  # no shuffle
    stop = keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    phases = [training.Phase("first", 6, lr=0.05, callbacks=[stop]), training.Phase("second", 2, lr=0.01)]
    backup = training.ExactBackupAndRestore(str(backup_dir), peers=[stop])
    histories = training.fit_phases(model, phases, train, val, callbacks=[backup], optimizer="sgd")
    return model, histories


def test_a_phase_stopped_early_and_killed_before_its_end_backup_resumes_in_the_next_phase(tmp_path, monkeypatch):
    reference, histories = _run_with_an_early_stopped_first_phase(tmp_path / "reference")
    assert len(histories[0]["loss"]) < 6 and len(histories[1]["loss"]) == 2  # early stopping did end phase one

    def killed(self):  # the process dies after the epoch that stopped, before the phase's own end backup
        raise Interrupted("killed")

    monkeypatch.setattr(training.ExactBackupAndRestore, "finish_phase", killed)
    with pytest.raises(Interrupted):
        _run_with_an_early_stopped_first_phase(tmp_path / "run")
    with open(tmp_path / "run" / "training_metadata.json") as f:
        position = json.load(f)
    assert (position["phase"], position["phase_done"], position["stopped"]) == (0, False, True)
    monkeypatch.undo()
    resumed, histories = _run_with_an_early_stopped_first_phase(tmp_path / "run")
    assert "loss" not in histories[0] and len(histories[1]["loss"]) == 2  # phase one is not trained again
    for a, b in zip(resumed.weights, reference.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


class _FiveSecondEpochs:
    """A stand-in for the time module of training.callbacks: every epoch lasts exactly five seconds."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 5.0  # each call five seconds after the one before: an epoch's begin and end are five apart
        return self.now


def _budgeted_phases(backup_dir, *extra):
    """Phases of 2, 3 and 2 epochs under a 15-second budget of five-second epochs; returns each phase's epochs."""
    keras.utils.set_random_seed(0)
    budget = training.TimeBudget(minutes=0.25)
    backup = training.ExactBackupAndRestore(str(backup_dir), peers=[budget])
    phases = [training.Phase(name, epochs, lr=0.05) for name, epochs in (("a", 2), ("b", 3), ("c", 2))]
    histories = training.fit_phases(_two_layer_model(), phases, _toy(), callbacks=[*extra, budget, backup],
                                    optimizer="sgd")
    return [len(h.get("loss", [])) for h in histories], budget


def test_a_time_budget_stops_inside_a_phase_starts_no_later_one_and_counts_across_a_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(training.callbacks, "time", _FiveSecondEpochs())
    # 5 s, 10 s, then 15 s: another five-second epoch would overrun 15 s, so phase b stops after one and c never runs
    epochs, budget = _budgeted_phases(tmp_path / "whole")
    assert epochs == [2, 1, 0] and budget.exhausted and budget.spent == 15
    with pytest.raises(Interrupted):  # killed as phase b begins, 10 s spent
        _budgeted_phases(tmp_path / "resumed", StopAt(2))
    epochs, budget = _budgeted_phases(tmp_path / "resumed")
    assert epochs == [0, 1, 0] and budget.spent == 15  # the 10 s before the kill still count
    with pytest.raises(ValueError, match="minutes"):
        training.TimeBudget(minutes=0)


def test_a_run_out_of_minutes_ends_after_its_first_epoch_and_says_so(tmp_path, capsys):
    config = experiments.RunConfig(model="mlp", dataset="xor", epochs=4, minutes=1e-6)
    metrics = experiments.train(config, tmp_path / "run", verbose=0)
    assert metrics["epochs_run"] == 1 and metrics["out_of_time"]
    assert main(["train", "--model", "mlp", "--dataset", "xor", "--epochs", "4", "--minutes", "1e-6",
                 "--run-dir", str(tmp_path / "cli")]) == 0
    assert "--minutes 1e-06 budget ran out" in capsys.readouterr().out
    relaxed = experiments.train(experiments.RunConfig(model="mlp", dataset="xor", epochs=2, minutes=60),
                                tmp_path / "relaxed", verbose=0)
    assert relaxed["epochs_run"] == 2 and not relaxed["out_of_time"]
    for bad in (0, -1, "5", float("nan")):
        with pytest.raises(ValueError, match="minutes"):
            experiments.RunConfig(model="mlp", dataset="xor", minutes=bad).validate()
    with pytest.raises(ValueError, match="minutes=5.*epochs"):
        experiments.search(experiments.RunConfig(model="mlp", dataset="xor", minutes=5), tmp_path / "search")
    assert main(["train", "--model", "mlp", "--dataset", "xor", "--minutes", "0", "--run-dir", str(tmp_path / "x")]) == 2
    assert "--minutes" in capsys.readouterr().err and not os.path.exists(tmp_path / "x")


def test_a_transfer_run_is_the_head_then_the_fine_tuning_of_transfer_itself():
    head, tune = experiments.phases_for(TRANSFER)
    assert (head.name, head.epochs, head.lr, tune.name, tune.epochs, tune.lr) == ("head", 1, 3e-3, "fine_tune", 2, 1e-3)
    no_tuning = experiments.RunConfig(**{**TRANSFER.to_dict(), "transfer": {**TRANSFER.transfer, "fine_tune_epochs": 0}})
    assert [p.name for p in experiments.phases_for(no_tuning)] == ["head"]
    plain = experiments.RunConfig(model="mlp", dataset="digits", epochs=4, warmup_epochs=1)
    (phase,) = experiments.phases_for(plain, initial_epoch=1)
    assert (phase.epochs, phase.warmup_epochs, phase.schedule) == (3, 0, "cosine")


@pytest.fixture(scope="module")
def uninterrupted(built_once):
    root = built_once("engine_uninterrupted_transfer", lambda root: experiments.train(TRANSFER, root / "run", verbose=0))
    with open(root / "run" / "metrics.json") as f:
        return json.load(f)


def test_a_transfer_run_interrupted_between_its_phases_resumes_to_the_same_weights(tmp_path, monkeypatch,
                                                                                  uninterrupted):
    original = training.make_callbacks

    def interrupting(*args, **kwargs):
        return [StopAt(1)] + original(*args, **kwargs)

    monkeypatch.setattr(training, "make_callbacks", interrupting)
    with pytest.raises(Interrupted):
        experiments.train(TRANSFER, tmp_path / "run", verbose=0)
    with open(tmp_path / "run" / "backup" / "training_metadata.json") as f:
        position = json.load(f)
    assert (position["phase"], position["phase_done"]) == (0, True)  # the end of the head phase, marked done
    monkeypatch.setattr(training, "make_callbacks", original)
    resumed = experiments.train(TRANSFER, tmp_path / "run", verbose=0)
    assert resumed["epochs_run"] == 3 and _epochs_in_history(tmp_path / "run") == list(range(3))
    assert resumed["weights_sha256"] == uninterrupted["weights_sha256"]
    assert resumed["test_accuracy"] == uninterrupted["test_accuracy"]


# TRANSFER as the transfer command's flags (the command's own default validation split is 0.2)
TRANSFER_FLAGS = ["transfer", "--data", "fashion_mnist", "--backbone", "resnet8", "--weights", "none", "--option",
                  "width=0.25", "--resize", "32", "--limit", "400", "--val-fraction", "0.1", "--epochs", "1", "--lr",
                  "3e-3", "--schedule", "constant", "--augment", "light", "--fine-tune-epochs", "2", "--fine-tune-lr",
                  "1e-3", "--unfreeze-stages", "1", "--dropout", "0.2", "--batch-size", "64", "--seed", "1", "--quiet"]


def test_kill_9_in_the_fine_tuning_phase_then_the_same_command_resumes_there(tmp_path, uninterrupted):
    """The real thing for a two-phase run with augmentation: SIGKILL during fine-tuning, rerun the same command,
    end with the weights of the uninterrupted run (made in this process from the same settings)."""
    killed = kill_and_resume(TRANSFER_FLAGS, tmp_path / "killed",
                             lambda position: position.get("phase") == 1 and position["epoch"] >= 2)
    with open(killed / "config.json") as f:
        assert json.load(f) == {**TRANSFER.to_dict(), "precision": training.resolve_precision("auto")}
    with open(killed / "metrics.json") as f:
        resumed = json.load(f)
    assert _epochs_in_history(killed) == list(range(3)) and resumed["epochs_run"] == 3
    assert resumed["weights_sha256"] == uninterrupted["weights_sha256"]


def _manifest_argv(manifest):
    argv = shlex.split(manifest["command"])
    assert argv[0] == "keras-course"
    return argv[1:]


@pytest.mark.parametrize("path", MANIFESTS, ids=[os.path.basename(os.path.dirname(p)) for p in MANIFESTS])
def test_the_command_of_each_saved_model_still_makes_its_config_and_runs_at_tiny_size(path, tmp_path):
    with open(path) as f:
        manifest = json.load(f)
    argv = _manifest_argv(manifest)
    args = _parser().parse_args(argv)
    if argv[0] == "demo":
        config = experiments.RunConfig(**{**DEMO, "precision": args.precision})
    else:
        config = arguments.config_from_args(args)
    (tmp_path / "saved_run").mkdir()  # the comparison a resumed run makes, against the config the model recorded
    (tmp_path / "saved_run" / "config.json").write_text(json.dumps(manifest["config"]))
    ignored = {"epochs", "limit"} if argv[0] == "demo" else set()  # the demo records the epochs it was run with
    assert set(experiments.run_dir.changed_settings(str(tmp_path / "saved_run"), config)) <= ignored
    tiny = ["--epochs", "1", "--limit", "200", "--run-dir", str(tmp_path / "run")]
    if argv[0] != "demo":
        tiny += ["--quiet", "--batch-size", "64"]
    assert main(argv + tiny + ["--save-to", str(tmp_path / "saved")]) == 0
    assert os.path.exists(tmp_path / "saved")


def test_every_run_setting_has_a_train_flag_and_reaches_the_config():
    values = {"model": "resnet20", "dataset": "cifar10", "epochs": 3, "batch_size": 16, "optimizer": "sgd", "lr": 0.5,
              "schedule": "step", "warmup_epochs": 1, "weight_decay": 1e-4, "label_smoothing": 0.1,
              "augment": ["flip", "rotate:0.1"], "val_fraction": 0.2, "seed": 7, "patience": 2, "limit": 99,
              "classes": [0, 3], "data_dir": "/d", "model_options": {"width": 0.5}, "image_size": [20, 24],
              "bn_momentum": 0.9, "jit_compile": False, "deterministic_ops": True, "precision": "float32",
              "strategy": "mirrored", "ssl": "simsiam", "minutes": 2.5}
    transfer = {"weights": None, "fine_tune_epochs": 2, "fine_tune_lr": 1e-4, "unfreeze_stages": 1, "dropout": 0.3,
                "resize": 64}
    argv = ["train", "--model", "resnet20", "--dataset", "cifar10", "--epochs", "3", "--batch-size", "16", "--optimizer",
            "sgd", "--lr", "0.5", "--schedule", "step", "--warmup-epochs", "1", "--weight-decay", "1e-4",
            "--label-smoothing", "0.1", "--augment", "flip,rotate:0.1", "--val-fraction", "0.2", "--seed", "7",
            "--patience", "2", "--limit", "99", "--classes", "0,3", "--data-dir", "/d", "--option", "width=0.5",
            "--image-size", "20,24", "--bn-momentum", "0.9", "--jit", "off", "--deterministic", "--precision",
            "float32", "--strategy", "mirrored", "--minutes", "2.5", "--ssl", "simsiam"]
    config = arguments.config_from_args(_parser().parse_args(argv))
    assert {k: v for k, v in config.to_dict().items() if k != "transfer"} == values
    assert set(values) | {"transfer"} == {f for f in config.to_dict()}  # every field was set from a flag
    nested = ["--weights", "none", "--fine-tune-epochs", "2", "--fine-tune-lr", "1e-4", "--unfreeze-stages", "1",
              "--head-dropout", "0.3", "--resize", "64"]
    config = arguments.config_from_args(_parser().parse_args(argv[:-2] + nested))
    assert config.transfer == {**transfer, "options": {"width": 0.5}} and config.model_options == {}


def test_transfer_takes_trains_flags_with_its_own_defaults_and_keeps_its_old_spelling():
    config = arguments.config_from_args(_parser().parse_args(
        ["transfer", "--data", "digits", "--backbone", "resnet20", "--dropout", "0.4", "--option", "width=0.25"]),
        defaults=__import__("keras_course.cli.main", fromlist=["x"]).TRANSFER_COMMAND, transfer=True)
    assert (config.dataset, config.model, config.epochs, config.lr, config.batch_size, config.augment,
            config.val_fraction, config.schedule) == ("digits", "resnet20", 5, 1e-3, 32, "light", 0.2, "constant")
    assert config.transfer == dict(weights="imagenet", fine_tune_epochs=0, fine_tune_lr=1e-5, unfreeze_stages=None,
                                   dropout=0.4, options={"width": 0.25})


def test_library_errors_speak_python_and_the_command_line_speaks_flags(tmp_path, capsys):
    config = experiments.RunConfig(model="mlp", dataset="xor", epochs=1)
    experiments.train(config, tmp_path / "run", verbose=0)
    with pytest.raises(experiments.RunDirectoryError) as error:
        experiments.train(config, tmp_path / "run", verbose=0)
    assert "run_dir=" in str(error.value) and "overwrite=True" in str(error.value) and "--" not in str(error.value)
    with pytest.raises(experiments.RunDirectoryError, match=r"other settings \(epochs\).*overwrite=True"):
        experiments.train(experiments.RunConfig(model="mlp", dataset="xor", epochs=2), tmp_path / "run", verbose=0)
    assert main(["train", "--model", "mlp", "--dataset", "xor", "--epochs", "2", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--run-dir" in err and "--overwrite" in err and "run_dir=" not in err and "overwrite=True" not in err


def test_a_bad_input_prints_exactly_one_line_and_no_tensorflow_start_up_lines():
    """TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL; the command line keeps them for --verbose."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_COURSE_VERBOSE")}
    bad = ["train", "--model", "lenet5_bn", "--dataset", "fashion_mnist", "--option", "no_such_option=1"]
    result = subprocess.run(cli(*bad), env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "no option 'no_such_option'" in result.stderr and "width" in result.stderr
    verbose = subprocess.run(cli(*bad, "--verbose"), env=env, capture_output=True, text=True)
    assert verbose.returncode == 2 and len(verbose.stderr.strip().splitlines()) > 1  # TensorFlow's own lines too


def test_registry_natural_order_exclude_input_tensor_and_unknown_options():
    assert models.list_models("resnet*", exclude="*_*") == ["resnet8", "resnet14", "resnet18", "resnet20", "resnet32",
                                                            "resnet34", "resnet44", "resnet50", "resnet56", "resnet101",
                                                            "resnet110", "resnet152"]
    assert models.list_models("*resnet1*", exclude="resnet*") == ["preact_resnet18", "preact_resnet101",
                                                                  "preact_resnet152"]
    model = models.build("resnet50", input_tensor=keras.Input((64, 64, 3)), num_classes=5, weights=None)
    assert model.output_shape == (None, 5)
    with pytest.raises(ValueError, match=r"no option 'no_such_option'.*Its options: width, dropout"):
        models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10, no_such_option=1)
    with pytest.raises(ValueError, match="Did you mean 'width'"):
        models.build("resnet20", input_shape=(32, 32, 3), num_classes=10, widht=2)
    with pytest.raises(ValueError, match="needs `input_shape`"):
        models.build("mlp", num_classes=2)
    with pytest.raises(ValueError, match="no option 'depth'"):
        experiments.RunConfig(model="cnn4_bn", dataset="digits", model_options={"depth": 3}).validate()


@pytest.mark.parametrize("name", models.list_models())
def test_every_registered_builder_has_a_signature_with_its_options(name):
    import inspect

    parameters = inspect.signature(models.get_builder(name)).parameters
    assert "num_classes" in parameters and "input_shape" in parameters
    assert not any(p.kind == p.VAR_KEYWORD for p in parameters.values())


def test_the_engine_is_the_only_path_that_loads_and_fits():
    """Indicators of one training path: data loaded in one place, model.fit called in few, no flags in messages."""
    import re

    root = os.path.join(ROOT, "keras_course")
    loads, fits, flags = [], [], []
    flag = re.compile(r"--(run-dir|overwrite|epochs|model|dataset|space|max-trials|tuner|seed|config|limit|"
                      r"batch-size|lr)\b")
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    where = f"{relative}:{number}"
                    if relative.startswith("experiments") and "data.load(" in line:
                        loads.append(where)
                    if relative.startswith("experiments") and ".fit(" in line:
                        fits.append(where)
                    if not relative.startswith("cli") and flag.search(line):
                        flags.append(where)
    assert len(loads) <= 2, loads
    assert len(fits) <= 3, fits
    assert flags == []


def test_the_readmes_engine_example_runs():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    block = readme.split("**One engine.**", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert "epochs=3, limit=5000" in block
    namespace = {}
    exec(block.replace("epochs=3, limit=5000", "epochs=1, limit=300"), namespace)
    assert namespace["model"].optimizer.iterations.numpy() == len(namespace["train_ds"])
