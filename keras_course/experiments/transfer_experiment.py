"""The offline transfer experiment: a backbone pretrained on some classes learns other classes from a few labels.

For each labels-per-class budget and seed, three ways to learn the target classes are compared on the full
target test split: (a) the same architecture from scratch, (b) the pretrained backbone frozen with a new head,
(c) that head, then the whole backbone fine-tuned at a low learning rate (BatchNorm frozen).
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from keras_course import data, models, training, transfer, viz
from keras_course._checks import check_positive

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

METHODS = ("scratch", "frozen", "fine_tuned")
LABELS = {"scratch": "(a) from scratch", "frozen": "(b) frozen backbone + new head", "fine_tuned": "(c) head, then fine-tune"}


def _dataset(x, y, batch_size, seed):
    return (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def _scratch_model(manifest, num_classes):
    config = manifest["config"]
    model = models.build(manifest["model"], input_shape=tuple(manifest["dataset"]["input_shape"]), num_classes=num_classes,
                         classifier_activation="softmax", normalization="rescale", **config.get("model_options", {}))
    if config.get("bn_momentum") is not None:
        models.set_batch_norm_momentum(model, config["bn_momentum"])
    return model


def transfer_study(project: str, *, target_classes: Sequence[int], labels_per_class: Sequence[int] = (20, 100),
                   seeds: Sequence[int] = (0, 1, 2), head_epochs: int = 30, fine_tune_epochs: int = 30,
                   batch_size: int = 32, head_lr: float = 1e-3, fine_tune_lr: float = 1e-4, scratch_lr: float = 1e-3,
                   out_dir: str | os.PathLike | None = None, progress: Callable[[str], None] = print) -> dict:
    """Run the comparison; returns {"rows": [...], "summary": {...}, "settings": {...}}.

    Args:
        project: name of a model in saved_models/ (made by `keras-course pretrain`); its dataset is the source.
        target_classes: class indices of the same dataset to learn (relabelled 0..k-1), e.g. [5, 6, 7, 8, 9].
        labels_per_class: labelled training images per target class, one study per value.
        seeds: each seed draws its own labelled subset and initialisation.
        head_epochs, fine_tune_epochs: epochs of (b) (= head_epochs) and of (c)'s two phases; (a) trains for
            head_epochs + fine_tune_epochs, the same number of passes as (c).
        out_dir: where study.json, study.md and study.png go (None: nowhere).
    """
    manifest = transfer.read_manifest(project)
    for argument, value in (("head_epochs", head_epochs), ("fine_tune_epochs", fine_tune_epochs), ("batch_size", batch_size)):
        check_positive(argument, value, integer=True)
    for n in labels_per_class:
        check_positive("labels_per_class", n, integer=True)
    source_classes = manifest["config"].get("classes")
    overlap = sorted(set(source_classes or []) & set(target_classes))
    if overlap:
        raise ValueError(f"`target_classes` must differ from the backbone's source classes {source_classes}. Received: "
                         f"target_classes={list(target_classes)} (shared: {overlap})")
    pool, _, test, info = data.load(manifest["dataset"]["name"], classes=list(target_classes), seed=0)
    x_pool, y_pool = data.to_numpy(pool)
    test_ds = test.batch(512)
    settings = dict(project=project, source=manifest["dataset"]["name"], source_classes=source_classes,
                    target_classes=list(target_classes), target_class_names=info.class_names,
                    labels_per_class=list(labels_per_class), seeds=list(seeds), head_epochs=head_epochs,
                    fine_tune_epochs=fine_tune_epochs, batch_size=batch_size, head_lr=head_lr, fine_tune_lr=fine_tune_lr,
                    scratch_lr=scratch_lr, test_size=info.sizes["test"])
    rows = []
    for n in labels_per_class:
        for seed in seeds:
            x, y = data.per_class_subset(x_pool, y_pool, n, seed=seed)
            train = _dataset(x, y, batch_size, seed)
            for method in METHODS:
                training.set_seed(seed)
                start = time.perf_counter()
                if method == "scratch":
                    model = _scratch_model(manifest, info.num_classes)
                    phases = [training.Phase("train", head_epochs + fine_tune_epochs, lr=scratch_lr)]
                else:
                    model = transfer.build_classifier(manifest["model"], info.num_classes, weights=f"project:{project}")
                    phases = transfer.fine_tune_phases(head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs,
                                                       head_lr=head_lr, fine_tune_lr=fine_tune_lr)
                    phases = phases[:1] if method == "frozen" else phases
                training.fit_phases(model, phases, train)
                seconds = time.perf_counter() - start
                accuracy = float(model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"])
                rows.append(dict(labels_per_class=n, seed=seed, method=method, test_accuracy=accuracy, seconds=seconds))
                if progress:
                    progress(f"{n:>4} labels/class  seed {seed}  {LABELS[method]:<32} test accuracy {accuracy:.4f} "
                             f"({seconds:.0f} s)")
    result = {"settings": settings, "rows": rows, "summary": summarize(rows)}
    if out_dir:
        write_study(result, out_dir)
    return result


def summarize(rows):
    """{labels_per_class: {method: {"mean", "std", "n"}}} (std over seeds, ddof=0 when one seed)."""
    summary = {}
    for n in sorted({r["labels_per_class"] for r in rows}):
        summary[str(n)] = {}
        for method in METHODS:
            values = [r["test_accuracy"] for r in rows if r["labels_per_class"] == n and r["method"] == method]
            summary[str(n)][method] = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1 if len(values) > 1 else 0)),
                                       "n": len(values)}
    return summary


def markdown_table(result: dict) -> str:
    lines = ["| labels per class | " + " | ".join(LABELS[m] for m in METHODS) + " |",
             "|---:|" + "---:|" * len(METHODS)]
    for n, by_method in result["summary"].items():
        cells = [f"{by_method[m]['mean']:.3f} ± {by_method[m]['std']:.3f}" for m in METHODS]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_study(result, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "study.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(out_dir, "study.md"), "w") as f:
        f.write(markdown_table(result) + "\n")
    s = result["settings"]
    groups = [f"{n} labels/class" for n in result["summary"]]
    series = {LABELS[m]: ([v[m]["mean"] for v in result["summary"].values()], [v[m]["std"] for v in result["summary"].values()])
              for m in METHODS}
    viz.grouped_bars(groups, series, os.path.join(out_dir, "study.png"), ylabel="test accuracy (target classes)",
                     title=f"Transfer from {s['project']} to classes {s['target_classes']}\n{_over_seeds(len(s['seeds']))}")


def _over_seeds(n):
    return "one seed" if n == 1 else f"mean ± std over {n} seeds"
