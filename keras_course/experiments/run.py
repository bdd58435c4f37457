"""A training run in a run directory: train (or resume), evaluate, plot, save and export.

Layout of a finished run directory: config.json, history.csv, logs/ (TensorBoard), best.weights.h5,
model.keras, saved_model/, learning_curves.png, confusion_matrix.png (classification), metrics.json (written
last). While a run is unfinished, backup/ holds what resuming needs. `export_run` adds export/ (every serving
format and export_report.json).
"""

import contextlib
import hashlib
import json
import os
import shutil
import time

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from keras_course import data, export, models, training, viz
from keras_course.experiments.config import RunConfig

CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"


class RunDirectoryError(ValueError):
    """The run directory holds something that this run must not overwrite or resume."""


def _write_json(path, payload):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, default=_jsonable)
    os.replace(tmp, path)


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def build_model(config, train, info):
    """The registry model for `config` with the task's head and normalisation inside."""
    settings = config.transfer_settings()
    if settings is not None:
        from keras_course import transfer

        return transfer.build_classifier(
            config.model, models.head_options(info.task, info.num_classes)["num_classes"], weights=settings["weights"],
            input_shape=info.input_shape, dropout=settings["dropout"], resize=settings["resize"],
            options=settings["options"],
        )
    options = dict(models.head_options(info.task, info.num_classes))
    options["normalization"] = data.normalization_for(train, info)
    options.update(config.model_options)
    model = models.build(config.model, input_shape=info.input_shape, **options)
    if config.bn_momentum is not None:
        models.set_batch_norm_momentum(model, config.bn_momentum)
    return model


def changed_settings(run_dir, config):
    """The names of the settings in which the run saved in `run_dir` differs from `config` (sorted; [] if none)."""
    with open(os.path.join(run_dir, CONFIG)) as f:
        saved = json.loads(json.dumps(RunConfig.with_defaults(json.load(f)), default=_jsonable))
    wanted = json.loads(json.dumps(config.to_dict(), default=_jsonable))
    return sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))


def _check_run_dir(run_dir, config, overwrite):
    """Decide whether `run_dir` is new, resumable (same config) or finished; never clobber a different run."""
    if not os.path.exists(run_dir):
        return "new"
    if not os.path.isdir(run_dir):
        raise RunDirectoryError(f"--run-dir {run_dir!r} exists and is not a folder. Choose another path.")
    if overwrite:
        shutil.rmtree(run_dir)
        return "new"
    config_path = os.path.join(run_dir, CONFIG)
    if not os.listdir(run_dir):
        return "new"
    if not os.path.exists(config_path):
        raise RunDirectoryError(f"--run-dir {run_dir!r} is not empty and holds no {CONFIG}. Choose an empty or new folder.")
    changed = changed_settings(run_dir, config)
    if changed:
        raise RunDirectoryError(
            f"--run-dir {run_dir!r} holds a run with other settings ({', '.join(changed)}). Use a new --run-dir, or "
            "--overwrite to start over."
        )
    if os.path.exists(os.path.join(run_dir, METRICS)):
        raise RunDirectoryError(f"--run-dir {run_dir!r} holds a finished run. Use `evaluate`, a new --run-dir, or --overwrite.")
    return "resume"


def _truncate_history(run_dir, epochs_done):
    """Keep the history rows of finished epochs only (a kill can land between the CSV row and the backup)."""
    path = os.path.join(run_dir, HISTORY)
    if not os.path.exists(path):
        return
    with open(path) as f:
        lines = f.read().splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line and int(line.split(",", 1)[0]) < epochs_done]
    with open(path, "w") as f:
        f.write("\n".join(kept) + ("\n" if kept else ""))


class _EpochSeconds(keras.callbacks.Callback):
    """Adds the wall-clock seconds of each epoch to the logs, so history.csv adds up across resumed sessions."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def train(config, run_dir, *, overwrite=False, verbose=1):
    """Train `config` in `run_dir`, resuming when the same run was interrupted; returns the metrics dict.

    Everything is validated (names, numbers, dataset presence, input size) before `run_dir` is created. Under
    `config.strategy="multiworker"` every worker calls this with the same arguments; only the chief writes
    `run_dir` and gets the metrics, the others return {"chief": False, ...} (see training.distribute).
    """
    if not isinstance(config, RunConfig):
        config = RunConfig.from_dict(config)
    config.validate()
    run_dir = os.fspath(run_dir)
    strategy = training.make_strategy(config.strategy)  # first: a multi-worker cluster connects at start-up
    train_ds, val_ds, test_ds, info = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                                                limit=config.limit, data_dir=config.data_dir, classes=config.classes,
                                                image_size=config.image_size)
    if config.augment not in (None, "none", []) and not info.is_image:
        raise ValueError(f"`augment` applies to image datasets; {config.dataset!r} is not one. Received: augment={config.augment!r}")
    training.set_seed(config.seed, deterministic_ops=config.deterministic_ops)
    with strategy.scope(), training.dtype_policy(config.precision):
        model = build_model(config, train_ds, info)
    if strategy.num_replicas_in_sync > 1:
        training.set_batch_norm_synchronized(model)
    work_dir = training.worker_dir(run_dir, strategy)
    state = _check_run_dir(work_dir, config, overwrite)
    os.makedirs(work_dir, exist_ok=True)
    if state == "new":
        _write_json(os.path.join(work_dir, CONFIG), config.to_dict())
    _truncate_history(work_dir, training.resume_epoch(work_dir))
    try:
        return _fit_and_finish(config, work_dir, model, (train_ds, val_ds, test_ds), info, verbose, strategy)
    except (training.NaNLossError, ValueError):
        if state == "new":  # a run that failed on bad settings or data leaves nothing half-written behind
            shutil.rmtree(work_dir, ignore_errors=True)
        raise


def _fit_and_finish(config, run_dir, model, splits, info, verbose, strategy):
    train_ds, val_ds, test_ds = splits
    clock = data.EpochClock()
    train_pipe = data.make_pipeline(train_ds, batch_size=config.batch_size, training=True, augment=config.augment,
                                    seed=config.seed, clock=clock)
    val_pipe = data.make_pipeline(val_ds, batch_size=max(256, config.batch_size))
    steps_per_epoch = int(train_pipe.cardinality()) if int(train_pipe.cardinality()) > 0 else None
    total_steps = steps_per_epoch * config.epochs if steps_per_epoch else None
    compile_options = dict(task=info.task, optimizer=config.optimizer, weight_decay=config.weight_decay,
                           label_smoothing=config.label_smoothing, jit_compile=config.jit_compile)
    if strategy.num_replicas_in_sync > 1:  # several steps per call fail in a distributed fit (keras-team/keras#19246)
        compile_options["steps_per_execution"] = 1
    settings = config.transfer_settings()
    with strategy.scope():
        training.compile_model(
            model, lr=config.lr, schedule=config.schedule, total_steps=total_steps,
            warmup_steps=(steps_per_epoch or 0) * config.warmup_epochs, **compile_options,
        )
    # A transfer run changes what trains between its two phases, which an exact resume cannot replay: it
    # restarts instead of resuming.
    callbacks = [_EpochSeconds()] + training.make_callbacks(run_dir, patience=config.patience, clock=clock,
                                                             plateau=config.schedule == "plateau",
                                                             resume=settings is None)
    patch = training.multiworker_fit_patch() if training.is_multiworker(strategy) else contextlib.nullcontext()
    with patch:
        model.fit(train_pipe, validation_data=val_pipe, epochs=config.epochs, callbacks=callbacks, verbose=verbose,
                  shuffle=False)
        if settings is not None and settings["fine_tune_epochs"]:
            from keras_course import transfer

            transfer.freezing.set_unfrozen(model, stages=settings["unfreeze_stages"])
            with strategy.scope():
                training.compile_model(model, lr=settings["fine_tune_lr"], **compile_options)
            model.fit(train_pipe, validation_data=val_pipe, initial_epoch=config.epochs,
                      epochs=config.epochs + settings["fine_tune_epochs"], callbacks=callbacks, verbose=verbose,
                      shuffle=False)
    replicas = strategy.num_replicas_in_sync
    digest = weights_digest(model)
    if not training.is_chief(strategy):
        shutil.rmtree(run_dir, ignore_errors=True)  # this worker's own folder; the chief writes the run
        return {"chief": False, "replicas": replicas, "weights_sha256": digest}
    early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    training.set_batch_norm_synchronized(model, False)  # saved as plain batch norm; the traced step keeps its own
    model.save(os.path.join(run_dir, "model.keras"))  # with the optimizer's state, to train on from
    model = _single_device_copy(model, compile_options) if replicas > 1 else model
    export.export_saved_model(model, os.path.join(run_dir, "saved_model"))
    history = viz.read_history(os.path.join(run_dir, HISTORY))
    metrics = evaluate_model(model, test_ds, info, run_dir, batch_size=max(256, config.batch_size))
    val_key = "val_accuracy" if "val_accuracy" in history else "val_loss"
    best_epoch = int(np.nanargmax(history[val_key]) if val_key == "val_accuracy" else np.nanargmin(history[val_key]))
    if early is not None and early.best_epoch is not None and settings is None:
        best_epoch = int(early.best_epoch)  # early stopping put back this epoch's weights (lowest val_loss)
    metrics.update(
        epochs_run=len(history["loss"]),
        best_epoch=best_epoch + 1,
        stopped_early=bool(early and early.stopped_epoch),
        train_seconds=round(float(np.nansum(history.get("epoch_seconds", [0.0]))), 2),
        params=int(model.count_params()),
        replicas=replicas,
        weights_sha256=digest,
        precision=training.resolve_precision(config.precision),
        dataset=info.to_dict(),
    )
    viz.learning_curves(history, os.path.join(run_dir, "learning_curves.png"), best_epoch=best_epoch,
                        stopped_epoch=early.stopped_epoch if early else None,
                        title=f"{config.model} on {config.dataset}")
    shutil.rmtree(os.path.join(run_dir, training.callbacks.BACKUP_DIR), ignore_errors=True)
    _write_json(os.path.join(run_dir, METRICS), metrics)  # last: its presence means the run finished
    return metrics


def weights_digest(model):
    """SHA-256 of the model's weights in order, as float32 bytes: equal on every worker of a synchronous run."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _single_device_copy(model, compile_options):
    """The trained model outside the distribution strategy: what is exported for serving and what the chief
    evaluates alone (a multi-worker model would wait for the other workers at every step)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    training.compile_model(copy, **{**compile_options, "steps_per_execution": training.DEFAULT_STEPS_PER_EXECUTION})
    return copy


def evaluate_model(model, test_ds, info, run_dir=None, *, batch_size=256):
    """Test-set loss and metrics; for classification also per-class precision, recall, F1 and the confusion matrix."""
    pipe = data.make_pipeline(test_ds, batch_size=batch_size)
    results = model.evaluate(pipe, verbose=0, return_dict=True)
    metrics = {f"test_{k}": float(v) for k, v in results.items()}
    if info.task == "regression":
        return metrics
    _, y_true = data.to_numpy(test_ds)
    probabilities = model.predict(pipe, verbose=0)
    y_pred = (probabilities[:, 0] > 0.5).astype(int) if probabilities.shape[1] == 1 else probabilities.argmax(axis=1)
    labels = list(range(info.num_classes))
    report = classification_report(y_true, y_pred, labels=labels, target_names=info.class_names, output_dict=True,
                                   zero_division=0)
    metrics["per_class"] = {name: {k: float(report[name][k]) for k in ("precision", "recall", "f1-score", "support")}
                            for name in info.class_names}
    metrics["macro_avg"] = {k: float(report["macro avg"][k]) for k in ("precision", "recall", "f1-score")}
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    metrics["confusion_matrix"] = matrix.tolist()
    if run_dir:
        viz.confusion_matrix_plot(matrix, info.class_names, os.path.join(run_dir, "confusion_matrix.png"))
    return metrics


def load_run(run_dir):
    """The config and metrics of a finished run directory."""
    run_dir = os.fspath(run_dir)
    for name in (CONFIG, METRICS, "model.keras"):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise RunDirectoryError(f"--run-dir {run_dir!r} has no {name}: it is not a finished run. Train it first.")
    with open(os.path.join(run_dir, CONFIG)) as f:
        config = RunConfig.from_dict(json.load(f))
    with open(os.path.join(run_dir, METRICS)) as f:
        metrics = json.load(f)
    return config, metrics


def evaluate(run_dir):
    """Re-evaluate a finished run's saved model on its test split; returns the metrics (classification report too)."""
    config, _ = load_run(run_dir)
    _, _, test_ds, info = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                                    limit=config.limit, data_dir=config.data_dir, classes=config.classes,
                                    image_size=config.image_size)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    return evaluate_model(model, test_ds, info), info


def export_run(run_dir, formats=export.FORMATS, *, calibration_examples=1000, verbose=False):
    """Export a finished run's model to RUN_DIR/export/ in `formats`, checked on the run's own test split.

    The int8 model is calibrated on the first `calibration_examples` of the run's training split. Returns the report.
    """
    config, _ = load_run(run_dir)
    formats = export.check_formats(formats)
    train_ds, _, test_ds, info = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                                           limit=config.limit, data_dir=config.data_dir, classes=config.classes,
                                           image_size=config.image_size)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"), safe_mode=True)
    representative, _ = data.to_numpy(train_ds.take(calibration_examples))
    test_data = data.to_numpy(test_ds) if info.task != "regression" else None
    return export.export(model, os.path.join(run_dir, "export"), formats=formats, representative_data=representative,
                         class_names=info.class_names, test_data=test_data, verbose=verbose)
