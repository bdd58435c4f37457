import math
import os
import shutil

import keras
import numpy as np
import pytest

from interruption import Interrupted, StopAt
from keras_course import data, models, training


def _tiny_model(task="multiclass"):
    num = {"multiclass": 3, "binary": 1, "regression": 1}[task]
    act = {"multiclass": "softmax", "binary": "sigmoid", "regression": None}[task]
    return models.build("mlp", input_shape=(4,), num_classes=num, hidden=(8,), classifier_activation=act)


def _xy(n=64, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (np.abs(x[:, 0] * 3).astype(int) % classes).astype("int32")


@pytest.mark.parametrize("optimizer", training.OPTIMIZERS)
def test_every_optimizer_compiles_and_steps(optimizer):
    model = training.compile_model(_tiny_model(), optimizer=optimizer)
    before = [w.numpy().copy() for w in model.trainable_weights]
    x, y = _xy()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, model.trainable_weights))
    assert math.isclose(float(model.optimizer.learning_rate), training.DEFAULT_LR[optimizer], rel_tol=1e-6)


@pytest.mark.parametrize("schedule", training.SCHEDULES)
def test_every_schedule_compiles_and_steps(schedule):
    model = training.compile_model(_tiny_model(), schedule=schedule, lr=0.1, total_steps=40)
    x, y = _xy()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def _values(schedule, steps=100):
    return np.array([float(schedule(s)) for s in range(steps + 1)])


def test_schedule_shapes():
    step = _values(training.make_schedule("step", 1.0, total_steps=100))
    assert step[10] == 1.0 and math.isclose(step[60], 0.1, rel_tol=1e-6) and math.isclose(step[90], 0.01, rel_tol=1e-5)
    cosine = _values(training.make_schedule("cosine", 1.0, total_steps=100, warmup_steps=10))
    assert cosine[0] == 0.0 and math.isclose(cosine[10], 1.0, rel_tol=1e-5) and cosine[100] < 1e-3
    exponential = _values(training.make_schedule("exponential", 1.0, total_steps=100))
    assert math.isclose(exponential[100], 0.01, rel_tol=1e-4) and np.all(np.diff(exponential) < 0)
    one_cycle = _values(training.make_schedule("one_cycle", 1.0, total_steps=100))
    assert math.isclose(one_cycle[0], 1 / 25, rel_tol=1e-5) and one_cycle.argmax() == 30 and one_cycle[100] < 1e-4
    assert training.make_schedule("constant", 0.5) == 0.5


def test_one_cycle_round_trips_through_config():
    schedule = training.OneCycle(0.3, 200)
    clone = training.OneCycle.from_config(schedule.get_config())
    assert float(clone(50)) == pytest.approx(float(schedule(50)))


@pytest.mark.parametrize("kwargs, argument", [
    ({"optimizer": "adamm"}, "optimizer"), ({"schedule": "cosinus"}, "schedule"), ({"lr": 0}, "lr"),
    ({"lr": -1e-3}, "lr"), ({"schedule": "cosine"}, "total_steps"), ({"momentum": 1.5}, "momentum"),
    ({"jit_compile": "yes"}, "jit_compile"), ({"label_smoothing": 1.0}, "label_smoothing"),
])
def test_bad_compile_arguments_are_named(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        training.compile_model(_tiny_model(), **kwargs)


@pytest.mark.parametrize("task, loss, metrics", [
    ("multiclass", "sparse_categorical_crossentropy", {"accuracy"}),
    ("binary", "binary_crossentropy", {"accuracy", "auc"}),
    ("regression", "mean_squared_error", {"mae", "mse"}),
])
def test_loss_and_metrics_follow_the_task(task, loss, metrics):
    model = _tiny_model(task)
    assert training.infer_task(model) == task
    training.compile_model(model)
    x, y = _xy(classes=2 if task == "binary" else 3)
    logs = model.evaluate(x, y.astype("float32") if task == "regression" else y, verbose=0, return_dict=True)
    assert model.loss.name == loss
    assert metrics <= set(logs)


def test_top5_accuracy_when_more_than_five_classes():
    model = models.build("mlp", input_shape=(4,), num_classes=10)
    training.compile_model(model)
    x = np.zeros((4, 4), "float32")
    assert "top5_accuracy" in model.evaluate(x, np.zeros(4, "int32"), verbose=0, return_dict=True)


def test_label_smoothing_raises_the_loss_of_confident_predictions():
    loss = training.compile.SparseCategoricalCrossentropyWithSmoothing(0.1)
    y_pred = np.array([[0.98, 0.01, 0.01]], "float32")
    smoothed = float(loss(np.array([0]), y_pred))
    plain = float(keras.losses.SparseCategoricalCrossentropy()(np.array([0]), y_pred))
    assert smoothed > plain


def test_jit_auto_is_off_without_a_gpu():
    assert training.resolve_jit("auto") is False or training.compile.gpu_available()


def test_early_stopping_stops_and_restores_best(tmp_path):
    model = training.compile_model(_tiny_model(), lr=1e-3)
    x, y = _xy()
    callbacks = training.make_callbacks(str(tmp_path), patience=2, monitor="loss", tensorboard=False)
    # a loss that cannot improve after the first epoch: learning rate 0, and the same batches each epoch (shuffled
    # ones sum the same loss in another order, and a last-bit decrease counts as an improvement)
    model.optimizer.learning_rate.assign(0.0)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=callbacks, shuffle=False)
    assert len(history.history["loss"]) == 3
    assert os.path.exists(tmp_path / "history.csv") and os.path.exists(tmp_path / "best.weights.h5")


def test_nan_loss_says_where_and_what_to_do():
    model = training.compile_model(_tiny_model("regression"), optimizer="sgd", lr=1e12)
    x, _ = _xy()
    y = (x[:, :1] * 1e3).astype("float32")
    with pytest.raises(training.NaNLossError, match=r"epoch 1, step \d+.*Lower the learning rate"):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[training.StopOnNaN()])


def _resumable_run(run_dir, epochs=5, interrupt_at=None, extra_state=True):
    """Images, shuffling, augmentation, dropout and early stopping: everything random a resume must restore."""
    training.set_seed(7)
    train, val, _, info = data.load("x_vs_o", limit=300, seed=7)
    clock = data.EpochClock()
    pipe = data.make_pipeline(train, batch_size=32, training=True, augment="light", seed=7, clock=clock)
    model = models.build("lenet5_bn", input_shape=info.input_shape, num_classes=2, dropout=0.5)
    training.compile_model(model, schedule="cosine", total_steps=epochs * int(pipe.cardinality()))
    callbacks = training.make_callbacks(run_dir, patience=10, clock=clock, tensorboard=False)
    if not extra_state:  # what plain BackupAndRestore gives: weights and epoch only
        callbacks[-1] = keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup"), delete_checkpoint=False)
    if interrupt_at is not None:
        callbacks.insert(0, StopAt(interrupt_at))
    try:
        model.fit(pipe, validation_data=data.make_pipeline(val, batch_size=64), epochs=epochs, callbacks=callbacks,
                  verbose=0, shuffle=False)
    except Interrupted:
        return None
    return [w.numpy() for w in model.weights]


@pytest.fixture(scope="module")
def reference(built_once):
    """The weights of `_resumable_run` uninterrupted, computed once for the tests that resume it."""
    folder = built_once("training_uninterrupted_resumable_run",
                        lambda root: np.savez(root / "weights.npz", *_resumable_run(str(root / "run"))))
    with np.load(folder / "weights.npz") as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def test_interrupted_run_resumes_to_identical_weights(tmp_path, reference):
    assert _resumable_run(str(tmp_path / "resumed"), interrupt_at=2) is None
    assert training.resume_epoch(str(tmp_path / "resumed")) == 2
    resumed = _resumable_run(str(tmp_path / "resumed"))
    assert max(float(np.abs(a - b).max()) for a, b in zip(reference, resumed)) == 0.0


def test_a_kill_while_a_backup_is_written_resumes_from_the_last_complete_one(tmp_path, reference):
    run_dir = str(tmp_path / "resumed")
    assert _resumable_run(run_dir, interrupt_at=2) is None
    backup = os.path.join(run_dir, "backup")
    assert sorted(os.listdir(backup)) == ["epoch_2", "training_metadata.json"]
    # what a kill leaves mid-write: the next epoch's folder half written, and one complete but not yet pointed to
    os.makedirs(os.path.join(backup, "epoch_3.tmp"))
    with open(os.path.join(backup, "epoch_3.tmp", "latest.weights.h5"), "wb") as f:
        f.write(b"half a file")
    shutil.copytree(os.path.join(backup, "epoch_2"), os.path.join(backup, "epoch_3"))
    assert training.resume_epoch(run_dir) == 2
    resumed = _resumable_run(run_dir)
    assert max(float(np.abs(a - b).max()) for a, b in zip(reference, resumed)) == 0.0


@pytest.mark.slow  # 6 s: a control experiment on Keras's own callback, not a check of ours
def test_plain_backup_and_restore_is_not_enough(tmp_path, reference):
    """The control for the test above: without the saved random state the resumed weights differ."""
    assert _resumable_run(str(tmp_path / "plain"), interrupt_at=2, extra_state=False) is None
    resumed = _resumable_run(str(tmp_path / "plain"), extra_state=False)
    assert max(float(np.abs(a - b).max()) for a, b in zip(reference, resumed)) > 0.0


def test_set_seed_validates():
    with pytest.raises(ValueError, match="seed"):
        training.set_seed("1")


def test_logits_head_is_trained_from_logits():
    model = models.build("mlp", input_shape=(4,), num_classes=3, classifier_activation=None)
    assert training.infer_task(model) == "multiclass"
    training.compile_model(model)
    assert model.loss.get_config()["from_logits"] is True
    x, y = _xy()
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])


def test_plateau_schedule_lowers_the_learning_rate(tmp_path):
    model = _tiny_model()
    model.trainable = False  # the loss cannot improve, so the plateau callback must act
    training.compile_model(model, schedule="plateau", lr=0.01)
    callbacks = training.make_callbacks(str(tmp_path), plateau=True, monitor="loss", tensorboard=False)
    x, y = _xy()
    model.fit(x, y, epochs=4, verbose=0, callbacks=callbacks)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)


def test_layer_statistics_show_vanishing_gradients_in_a_deep_sigmoid_net():
    x = np.random.default_rng(0).normal(size=(64, 16)).astype("float32")
    y = np.arange(64) % 4
    ratios = {}
    for activation, initializer in (("sigmoid", "glorot_normal"), ("relu", "he_normal")):
        training.set_seed(0)
        model = models.build("mlp", input_shape=(16,), num_classes=4, hidden=[32] * 10, activation=activation,
                             initializer=initializer)
        with pytest.raises(ValueError, match="compiled model"):
            training.layer_statistics(model, x, y)
        training.compile_model(model, task="multiclass")
        rows = training.layer_statistics(model, x, y)
        assert [r["layer"] for r in rows] == [f"dense_{i}" for i in range(1, 11)] + ["predictions"]
        assert all(r["activation_std"] > 0 and r["gradient_std"] >= 0 for r in rows)
        ratios[activation] = rows[0]["gradient_std"] / rows[-2]["gradient_std"]
    # sigmoid' <= 1/4 per layer: 10 layers shrink the gradient by orders of magnitude; ReLU + He keeps it
    assert ratios["sigmoid"] < 1e-3 and 0.1 < ratios["relu"] < 10
