"""What a finished run leaves: the saved model, the test evaluation, the best epoch, metrics.json and the plots."""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import TYPE_CHECKING

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from keras_course import data, export, training, viz
from keras_course.experiments.engine import VAL_BATCH
from keras_course.experiments.run_dir import HISTORY, METRICS, write_json

if TYPE_CHECKING:
    import tensorflow as tf

    from keras_course.data.info import DatasetInfo

__all__ = ["ENCODER", "best_epoch", "evaluate_model", "finish_run", "finish_ssl_run", "weights_digest"]

ENCODER = "encoder.keras"  # what a self-supervised run keeps: the encoder alone


def weights_digest(model):
    """SHA-256 of the model's weights in order, as float32 bytes: equal on every worker of a synchronous run."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()


def evaluate_model(model: keras.Model, test_ds: tf.data.Dataset, info: DatasetInfo,
                   run_dir: str | os.PathLike | None = None, *, batch_size: int = VAL_BATCH) -> dict:
    """Test-set loss and metrics; for classification also per-class precision, recall, F1 and the confusion matrix
    (drawn into RUN_DIR/confusion_matrix.png when `run_dir` is given)."""
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


def best_epoch(history, early=None):
    """The 0-based epoch the saved model stands for: `early` stopping's restored epoch (lowest val_loss) when
    given, otherwise the best validation accuracy (or lowest val_loss); the last epoch without validation."""
    if early is not None and early.best_epoch is not None:
        return int(early.best_epoch)
    if "val_accuracy" in history:
        return int(np.nanargmax(history["val_accuracy"]))
    if "val_loss" in history:
        return int(np.nanargmin(history["val_loss"]))
    return len(history["loss"]) - 1


def _single_device_copy(model, options):
    """The trained model outside the distribution strategy: what is exported for serving and what the chief
    evaluates alone (a multi-worker model would wait for the other workers at every step)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    training.compile_model(copy, **{**options, "steps_per_execution": training.DEFAULT_STEPS_PER_EXECUTION})
    return copy


def finish_run(config, run_dir, model, test_ds, info, *, callbacks, strategy, options):
    """Save, export, evaluate and plot a trained run; metrics.json last. Returns the metrics (on a worker that is
    not the chief: {"chief": False, ...}, and its own folder is removed)."""
    replicas = strategy.num_replicas_in_sync
    digest = weights_digest(model)
    if not training.is_chief(strategy):
        shutil.rmtree(run_dir, ignore_errors=True)  # this worker's own folder; the chief writes the run
        return {"chief": False, "replicas": replicas, "weights_sha256": digest}
    early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    training.set_batch_norm_synchronized(model, False)  # saved as plain batch norm; the traced step keeps its own
    model.save(os.path.join(run_dir, "model.keras"))  # with the optimizer's state, to train on from
    model = _single_device_copy(model, options) if replicas > 1 else model
    export.export_saved_model(model, os.path.join(run_dir, "saved_model"))
    history_path = os.path.join(run_dir, HISTORY)
    history = viz.read_history(history_path) if os.path.exists(history_path) else {}
    trained = "loss" in history  # a compression that only quantizes trains nothing
    metrics = evaluate_model(model, test_ds, info, run_dir, batch_size=max(VAL_BATCH, config.batch_size))
    # a transfer run is scored by its best validation epoch over both phases, early stopping or not
    best = best_epoch(history, early if config.transfer is None else None) if trained else None
    metrics.update(
        epochs_run=len(history.get("loss", ())),
        best_epoch=None if best is None else best + 1,
        stopped_early=bool(early and early.stopped_epoch),
        out_of_time=_out_of_time(callbacks),
        train_seconds=round(float(np.nansum(history.get("epoch_seconds", [0.0]))), 2),
        params=int(model.count_params()),
        replicas=replicas,
        weights_sha256=digest,
        precision=config.precision,  # `train` resolved "auto"
        dataset=info.to_dict(),
    )
    if trained:
        viz.learning_curves(history, os.path.join(run_dir, "learning_curves.png"),
                            best_epoch=best if "val_loss" in history else None,
                            stopped_epoch=early.stopped_epoch if early else None,
                            title=f"{config.model} on {config.dataset}")
    shutil.rmtree(os.path.join(run_dir, training.callbacks.BACKUP_DIR), ignore_errors=True)
    write_json(os.path.join(run_dir, METRICS), metrics)  # last: its presence means the run finished
    return metrics


def _out_of_time(callbacks):
    """Whether the run's time budget (`minutes`) ended it before its planned epochs."""
    return any(isinstance(c, training.TimeBudget) and c.exhausted for c in callbacks)


def finish_ssl_run(config, run_dir, model, reference, test_ds, info, *, strategy, callbacks=()):
    """Save a self-supervised run (model.keras: the whole model, to train on from; encoder.keras: what is kept)
    and its kNN accuracy on the test split against the monitor's `reference` (images, labels; None for unlabelled
    images: no accuracy); metrics.json last."""
    from keras_course import ssl

    digest = weights_digest(model)
    if not training.is_chief(strategy):
        shutil.rmtree(run_dir, ignore_errors=True)
        return {"chief": False, "replicas": strategy.num_replicas_in_sync, "weights_sha256": digest}
    model.save(os.path.join(run_dir, "model.keras"))
    model.encoder.save(os.path.join(run_dir, ENCODER))
    history = viz.read_history(os.path.join(run_dir, HISTORY))
    metrics = {
        "ssl": config.ssl,
        "test_knn_accuracy": None if reference is None else ssl.knn_accuracy(model.encoder, reference,
                                                                             data.to_numpy(test_ds)),
        "knn_accuracy": [float(a) for a in history.get("knn_accuracy", ())],
        "knn_reference_images": 0 if reference is None else int(len(reference[0])),
        "epochs_run": len(history.get("loss", ())),
        "out_of_time": _out_of_time(callbacks),
        "train_seconds": round(float(np.nansum(history.get("epoch_seconds", [0.0]))), 2),
        "params": int(model.encoder.count_params()),
        "features": int(model.encoder.output_shape[-1]),
        "replicas": strategy.num_replicas_in_sync,
        "weights_sha256": digest,
        "precision": config.precision,
        "dataset": info.to_dict(),
    }
    viz.learning_curves(history, os.path.join(run_dir, "learning_curves.png"),
                        title=f"{config.ssl} {config.model} on {config.dataset}"
                        + (" (kNN accuracy: the monitor's)" if reference is not None else " (unlabelled)"))
    shutil.rmtree(os.path.join(run_dir, training.callbacks.BACKUP_DIR), ignore_errors=True)
    write_json(os.path.join(run_dir, METRICS), metrics)  # last: its presence means the run finished
    return metrics
