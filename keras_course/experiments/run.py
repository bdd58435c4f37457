"""A training run in a run directory: train (or resume), evaluate, plot, save and export.

Layout of a finished run directory: config.json, history.csv, logs/ (TensorBoard), best.weights.h5,
model.keras, saved_model/, learning_curves.png, confusion_matrix.png (classification), metrics.json (written
last). While a run is unfinished, backup/ holds what resuming needs, in whichever phase the run was.
`export_run` adds export/ (every serving format and export_report.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from typing import TYPE_CHECKING

import keras

from keras_course import data, export, training
from keras_course.experiments import engine, report
from keras_course.experiments.run_dir import load_run, prepare_run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keras_course.experiments.config import RunConfig

__all__ = ["evaluate", "export_run", "train"]


def train(config: RunConfig, run_dir: str | os.PathLike, *, overwrite: bool = False, verbose: int = 1) -> dict:
    """Train `config` in `run_dir`, resuming when the same run was interrupted; returns the metrics dict.

    Everything is validated (names, numbers, dataset presence, input size) before `run_dir` is created. A run
    interrupted in any phase (a transfer run's fine-tuning too) resumes there and ends with the weights of an
    uninterrupted run. Under `config.strategy="multiworker"` every worker calls this with the same arguments;
    only the chief writes `run_dir` and gets the metrics, the others return {"chief": False, ...}.
    """
    config = engine.as_config(config)
    # config.json records the policy "auto" stood for on this machine: its settings reproduce the model anywhere
    config = dataclasses.replace(config, precision=training.resolve_precision(config.precision))
    run_dir = os.fspath(run_dir)
    strategy = training.make_strategy(config.strategy)  # first: a multi-worker cluster connects at start-up
    train_ds, val_ds, test_ds, info = engine.load_splits(config)
    training.set_seed(config.seed, deterministic_ops=config.deterministic_ops)
    with strategy.scope(), training.dtype_policy(config.precision):
        model = engine.build_for(config, train_ds, info)
    if strategy.num_replicas_in_sync > 1:
        training.set_batch_norm_synchronized(model)
    work_dir = training.worker_dir(run_dir, strategy)
    state = prepare_run(work_dir, config, overwrite=overwrite, resume_epoch=training.resume_epoch)
    try:
        clock = data.EpochClock()
        train_pipe, val_pipe = engine.pipelines(config, train_ds, val_ds, clock=clock, info=info)
        monitors, knn = [], None
        if config.ssl is not None:  # before the logger: it adds knn_accuracy to each epoch's logs
            from keras_course import ssl

            knn = engine.knn_sets(train_ds, val_ds, info)
            if knn is not None:
                monitors.append(ssl.KNNMonitor(model.encoder, *knn, k=engine.KNN_NEIGHBOURS))
        callbacks = [training.EpochSeconds(), *monitors] + training.make_callbacks(
            work_dir, patience=config.patience, clock=clock, plateau=config.schedule == "plateau",
            checkpoint=val_pipe is not None, minutes=config.minutes)
        options = engine.compile_options(config, info, replicas=strategy.num_replicas_in_sync)
        multiworker = training.multiworker_fit_patch() if training.is_multiworker(strategy) else contextlib.nullcontext()
        with multiworker:
            training.fit_phases(model, engine.phases_for(config), train_pipe, val_pipe, callbacks=callbacks,
                                verbose=verbose, scope=strategy.scope, **options)
        if config.ssl is not None:
            return report.finish_ssl_run(config, work_dir, model, knn and knn[0], test_ds, info, strategy=strategy,
                                         callbacks=callbacks)
        return report.finish_run(config, work_dir, model, test_ds, info, callbacks=callbacks, strategy=strategy,
                                 options=options)
    except (training.NaNLossError, ValueError):
        if state == "new":  # a run that failed on bad settings or data leaves nothing half-written behind
            shutil.rmtree(work_dir, ignore_errors=True)
        raise


def evaluate(run_dir: str | os.PathLike) -> tuple:
    """Re-evaluate a finished run's saved model on its test split; returns (metrics, dataset info)."""
    config, _ = load_run(run_dir)
    _, _, test_ds, info = engine.load_splits(config)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    return report.evaluate_model(model, test_ds, info), info


def export_run(run_dir: str | os.PathLike, formats: str | Sequence[str] = export.FORMATS, *,
               calibration_examples: int = 1000, verbose: bool = False) -> dict:
    """Export a finished run's model to RUN_DIR/export/ in `formats`, checked on the run's own test split.

    The int8 model is calibrated on the first `calibration_examples` of the run's training split. Returns the report.
    """
    config, _ = load_run(run_dir)
    formats = export.check_formats(formats)
    train_ds, _, test_ds, info = engine.load_splits(config)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"), safe_mode=True)
    representative, _ = data.to_numpy(train_ds.take(calibration_examples))
    test_data = data.to_numpy(test_ds) if info.task != "regression" else None
    return export.export(model, os.path.join(run_dir, "export"), formats=formats, representative_data=representative,
                         class_names=info.class_names, test_data=test_data, verbose=verbose)
