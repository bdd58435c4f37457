"""Project 1's study in one call: several architectures trained under one budget, one table, one Pareto plot.

Every model trains with the same data, epochs, optimizer, schedule, augmentation and seeds (one normal run
directory per model and seed, DIR/<label>/seed<k>); a finished run is read back instead of retrained, so an
interrupted comparison resumes where it stopped (an unfinished run resumes exactly, as `train` does). A model
whose default layout is too big for the images (an ImageNet stem on 28 px) gets its small-image stem.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import time
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from keras_course import data, models, viz
from keras_course._checks import check_positive
from keras_course.experiments import engine
from keras_course.experiments.config import RunConfig
from keras_course.experiments.run import train
from keras_course.experiments.run_dir import METRICS, RunDirectoryError, changed_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

COLUMNS = ("model", "params", "flops_per_image", "train_seconds_per_epoch", "inference_ms_per_image",
           "best_val_accuracy", "test_accuracy_mean", "test_accuracy_std", "seeds")
INFERENCE_BATCH = 256


def parse_models(spec: str) -> list[tuple[str, dict]]:
    """'resnet20,vgg11_bn:stem=small' -> [("resnet20", {}), ("vgg11_bn", {"stem": "small"})]."""
    if isinstance(spec, str):
        spec = [part for part in spec.split(",") if part.strip()]
    parsed = []
    for entry in spec:
        name, _, options = entry.strip().partition(":")
        values = {}
        for pair in filter(None, options.split(";")):
            key, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"Model options look like name:key=value;key=value. Received: {entry!r}")
            try:
                values[key] = json.loads(value)
            except json.JSONDecodeError:
                values[key] = value
        models.get_builder(name)  # unknown names fail here, with the closest one suggested
        parsed.append((name, values))
    if len(parsed) < 1 or len({_label(n, o) for n, o in parsed}) != len(parsed):
        raise ValueError(f"`models` needs at least one model, each once. Received: {spec!r}")
    return parsed


def _label(name, options):
    return name + "".join(f"_{k}-{v}" for k, v in sorted(options.items()))


def _fitting_options(name, options, info):
    """`options`, plus stem="small" when the model's default layout cannot take images this small."""
    if "stem" in options:
        return options
    try:
        models.build(name, input_shape=info.input_shape, num_classes=info.num_classes, **options)
        return options
    except ValueError as too_small:
        small = {**options, "stem": "small"}
        try:
            models.build(name, input_shape=info.input_shape, num_classes=info.num_classes, **small)
        except (TypeError, ValueError):
            raise too_small from None
        return small


def _inference_ms(model, x):
    """Milliseconds per image of Keras inference at batch INFERENCE_BATCH: median of 3 calls after a warm-up."""
    batch = x[:INFERENCE_BATCH]
    model.predict_on_batch(batch)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / len(batch)


def compare(model_names: str | Sequence[str], dataset: str, *, run_dir: str | os.PathLike, epochs: int = 10,
            seeds: int = 1, verbose: int = 0, **settings) -> list[dict]:
    """Train every model in `model_names` (names, or "name:key=value;..." with builder options) on `dataset` under
    one budget, `seeds` times each; write DIR/compare.csv, DIR/compare.md, DIR/pareto.png and DIR/curves.png (every
    model's learning curves on shared axes, the seeds' range shaded); return the rows
    (COLUMNS: parameters, forward FLOPs per image, training seconds per epoch (the first, which also traces the
    graph, left out when there are more), Keras inference milliseconds per image at batch 256, best validation
    accuracy, test accuracy mean and standard deviation over the seeds).

    `settings` are RunConfig fields shared by every run (batch_size, optimizer, lr, schedule, augment, limit,
    bn_momentum, ...); run k uses seed settings.get("seed", 0) + k.
    """
    parsed = parse_models(model_names)
    check_positive("seeds", seeds, integer=True)
    base_seed = settings.pop("seed", 0)
    probe = engine.as_config(RunConfig(model=parsed[0][0], dataset=dataset, epochs=epochs, seed=base_seed, **settings))
    if probe.ssl is not None:
        raise ValueError(f"compare ranks classifiers by test accuracy; ssl={probe.ssl!r} pretrains encoders, which "
                         "have none. Compare the classifiers built on them instead.")
    _, _, test_ds, info = engine.load_splits(probe)  # every shared setting checked before anything runs
    if info.task == "regression":
        raise ValueError(f"compare ranks classifiers by test accuracy; {dataset!r} is a regression dataset.")
    plan = [(name, _fitting_options(name, options, info)) for name, options in parsed]
    x_test, _ = data.to_numpy(test_ds.take(INFERENCE_BATCH))
    rows = []
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # several models in one process: TF's retracing notices are expected, not news
    try:
        for name, options in plan:
            rows.append(_study(name, options, dataset, epochs, seeds, base_seed, settings, run_dir, x_test, verbose))
    finally:
        logger.setLevel(level)
    _write_tables(rows, run_dir, dataset, epochs)
    budget = f"{dataset}: {epochs} epoch{'s' if epochs > 1 else ''}, {seeds} seed{'s' if seeds > 1 else ''}"
    viz.pareto_plot(rows, os.path.join(run_dir, "pareto.png"), epochs=epochs, title=budget)
    histories = {row["model"]: [viz.read_history(os.path.join(run_dir, row["model"], f"seed{base_seed + k}", "history.csv"))
                                for k in range(seeds)] for row in rows}
    viz.runs_curves(histories, os.path.join(run_dir, "curves.png"), title=f"Learning curves, {budget}")
    return rows


def _study(name, options, dataset, epochs, seeds, base_seed, settings, run_dir, x_test, verbose):
    """One model's row: its runs (trained, or read back when finished) summarised."""
    import keras

    label = _label(name, options)
    accuracies, best_vals, epoch_seconds = [], [], []
    for k in range(seeds):
        config = RunConfig(model=name, dataset=dataset, epochs=epochs, seed=base_seed + k, model_options=options,
                           **settings)
        seed_dir = os.path.join(run_dir, label, f"seed{base_seed + k}")
        if os.path.exists(os.path.join(seed_dir, METRICS)):
            _check_same_settings(seed_dir, config)
            with open(os.path.join(seed_dir, METRICS)) as f:
                metrics = json.load(f)
        else:
            metrics = train(config, seed_dir, verbose=verbose)
        history = viz.read_history(os.path.join(seed_dir, "history.csv"))
        accuracies.append(metrics.get("test_accuracy", float("nan")))
        best_vals.append(float(np.nanmax(history["val_accuracy"])) if "val_accuracy" in history else float("nan"))
        seconds = history.get("epoch_seconds", np.array([np.nan]))
        # the first epoch also traces the graph; later ones, when there are any, give the steady rate
        epoch_seconds.append(float(np.mean(seconds[1:] if len(seconds) > 1 else seconds)))
    model = keras.models.load_model(os.path.join(run_dir, label, f"seed{base_seed}", "model.keras"))
    row = {
        "model": label, "params": int(model.count_params()), "flops_per_image": int(models.flops_per_image(model)),
        "train_seconds_per_epoch": round(float(np.mean(epoch_seconds)), 3),
        "inference_ms_per_image": round(_inference_ms(model, x_test), 4),
        "best_val_accuracy": round(float(np.mean(best_vals)), 4),
        "test_accuracy_mean": round(float(np.mean(accuracies)), 4),
        "test_accuracy_std": round(float(np.std(accuracies, ddof=1)) if seeds > 1 else 0.0, 4),
        "seeds": seeds,
    }
    keras.backend.clear_session()
    return row


def _check_same_settings(seed_dir, config):
    """A finished run is reused only if it was trained with these very settings."""
    changed = changed_settings(seed_dir, config)
    if changed:
        raise RunDirectoryError(f"run_dir={seed_dir!r} holds a finished run with other settings "
                                f"({', '.join(changed)}). Use a new `run_dir` for a new comparison.")


def _write_tables(rows, run_dir, dataset, epochs):
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "compare.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    front = viz.pareto_front([r["params"] for r in rows], [r["test_accuracy_mean"] for r in rows])
    lines = [f"Comparison on {dataset}, {epochs} epochs each, same data, schedule and seeds "
             "(* on the Pareto front of parameters against test accuracy)", "",
             "| model | parameters | MFLOPs/image | s/epoch | inference ms/image | best val acc | test acc |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row, on_front in zip(rows, front):
        spread = f" ± {row['test_accuracy_std']:.4f}" if row["seeds"] > 1 else ""
        lines.append(f"| {row['model']}{' *' if on_front else ''} | {row['params']:,} | {row['flops_per_image'] / 1e6:.3g} | "
                     f"{row['train_seconds_per_epoch']:.3g} | {row['inference_ms_per_image']:.3g} | "
                     f"{row['best_val_accuracy']:.4f} | {row['test_accuracy_mean']:.4f}{spread} |")
    with open(os.path.join(run_dir, "compare.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
