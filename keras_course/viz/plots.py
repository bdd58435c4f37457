"""Every drawing function returns its matplotlib Figure, already closed (scripts and tests never leak open figures;
a notebook still shows a returned figure inline), and writes it to a PNG when given a path."""

from __future__ import annotations

import csv
import os
import sys
from typing import TYPE_CHECKING

import matplotlib

if "ipykernel" not in sys.modules:  # a notebook keeps its inline backend; elsewhere no display: PNG files only
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from collections.abc import Callable, Mapping, Sequence

    import keras

    from keras_course.experiments.lr_find import LRFindResult


def _save(fig, path):
    fig.tight_layout()
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def read_history(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """history.csv (written by CSVLogger) as {column: numpy array}; missing values are NaN, and columns with no
    value at all are left out (CSVLogger adds empty "val_" columns, "NA" throughout, to a run without validation)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    history = {k: np.array([float(r[k]) if r[k] not in ("", "NA", None) else np.nan for r in rows]) for k in rows[0]}
    return {k: v for k, v in history.items() if not np.all(np.isnan(v))}


def learning_curves(history: Mapping[str, np.ndarray], path: str | os.PathLike | None = None, *, best_epoch: int | None = None,
                    stopped_epoch: int | None = None, title: str = "") -> Figure:
    """Loss and the main metric, train against validation, with the best (and early-stopping) epoch marked.

    Args:
        history: dict of arrays (a Keras History.history or `read_history`) with "loss" and optionally
            "val_loss", "accuracy"/"mae" and their "val_" twins (a self-supervised run: "knn_accuracy").
        path: PNG file to write.
        best_epoch: int (0-based) or None. Marked with a dashed line.
        stopped_epoch: int (0-based) or None. Where early stopping ended the run, marked with a dotted line.
    """
    epochs = np.asarray(history.get("epoch", np.arange(len(history["loss"])))) + 1
    metric = next((m for m in ("accuracy", "knn_accuracy", "mae", "mse", "auc") if m in history), None)
    panels = [("loss", "loss")] + ([(metric, metric)] if metric else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4))
    # the kNN monitor scores held-out images: its curve is no training figure
    legends = {"knn_accuracy": "kNN accuracy of held-out images"}
    for ax, (key, label) in zip(np.atleast_1d(axes), panels):
        ax.plot(epochs, history[key], "o-", ms=3, label=legends.get(key, f"train {label}"))
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label=f"validation {label}")
        if best_epoch is not None:
            ax.axvline(best_epoch + 1, color="green", ls="--", lw=1, label=f"best epoch ({best_epoch + 1})")
        if stopped_epoch:
            ax.axvline(stopped_epoch + 1, color="red", ls=":", lw=1, label=f"early stop ({stopped_epoch + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "Learning curves")
    return _save(fig, path)


def confusion_matrix_plot(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike | None = None, *,
                          title: str = "Confusion matrix (test set)") -> Figure:
    """Row-normalised confusion matrix (recall on the diagonal) with counts in each cell."""
    matrix = np.asarray(matrix)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    k = len(class_names)
    size = max(4.5, 0.55 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{matrix[i, j]}", ha="center", va="center", fontsize=8,
                        color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_title(title)
    return _save(fig, path)


def decision_boundary(models_and_titles: Sequence[tuple[keras.Model, str]], x: np.ndarray | None = None,
                      y: np.ndarray | None = None, path: str | os.PathLike | None = None, *, resolution: int = 300,
                      class_names: Sequence[str] | None = None) -> Figure:
    """Decision regions of one or more 2-D classifiers, with the points coloured by true class.

    Args:
        models_and_titles: list of (model, title) or (model, title, x, y). Each model maps (n, 2) inputs to
            probabilities; a panel's own x, y replace the shared ones.
        x, y: numpy arrays of points (n, 2) and integer labels (n,), drawn on panels that bring none.
        path: PNG file to write.
    """
    panels = [tuple(p) if len(p) == 4 else (p[0], p[1], x, y) for p in models_and_titles]
    all_x = np.concatenate([p[2] for p in panels])
    pad = 0.15 * (all_x.max(axis=0) - all_x.min(axis=0))
    low, high = all_x.min(axis=0) - pad, all_x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()].astype("float32")
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    k = max(int(p[3].max()) + 1 for p in panels)
    cmap = plt.get_cmap("tab10")
    for ax, (model, title, x, y) in zip(axes[0], panels):
        p = np.asarray(model.predict(grid, batch_size=8192, verbose=0))
        region = (p[:, 0] > 0.5).astype(int) if p.shape[1] == 1 else p.argmax(axis=1)
        ax.contourf(gx, gy, region.reshape(gx.shape), levels=np.arange(-0.5, k), colors=[cmap(i) for i in range(k)],
                    alpha=0.25)
        for c in range(k):
            name = class_names[c] if class_names else f"class {c}"
            ax.scatter(x[y == c, 0], x[y == c, 1], s=9, color=cmap(c), edgecolor="k", linewidth=0.2, label=name)
        ax.set_title(title)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def regression_fit(x: np.ndarray, y: np.ndarray, fits: Mapping[str, keras.Model], path: str | os.PathLike | None = None, *,
                   truth: Callable[[np.ndarray], np.ndarray] | None = None, title: str = "Regression fit") -> Figure:
    """1-D data as points, the true function and each model's prediction as lines.

    Args:
        x, y: numpy arrays (n, 1). The noisy samples.
        fits: dict {label: model}; each model maps (n, 1) inputs to (n, 1) outputs.
        truth: callable or None. The noiseless function, drawn dashed.
    """
    xs = np.linspace(x.min(), x.max(), 500, dtype="float32")[:, None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(x[:, 0], y[:, 0], s=6, alpha=0.4, color="gray", label="noisy data")
    if truth is not None:
        ax.plot(xs[:, 0], truth(xs[:, 0]), "k--", lw=1.5, label="truth")
    for label, model in fits.items():
        ax.plot(xs[:, 0], np.asarray(model.predict(xs, verbose=0))[:, 0], lw=2, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def grouped_bars(groups: Sequence[str], series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                 path: str | os.PathLike | None = None, *, ylabel: str = "", title: str = "") -> Figure:
    """Bars per group for each series; `series` maps a label to (means, stds), one value per group."""
    k = len(series)
    width = 0.8 / max(k, 1)
    positions = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(groups) + 2), 4.8))
    for i, (label, (means, stds)) in enumerate(series.items()):
        bars = ax.bar(positions + (i - (k - 1) / 2) * width, means, width, yerr=stds, capsize=4, label=label)
        for bar, mean, std in zip(bars, means, stds):
            ax.text(bar.get_x() + bar.get_width() / 2, mean + std + 0.01, f"{mean:.3f}", ha="center", va="bottom",
                    fontsize=8)
    ax.set_xticks(positions, groups)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(k, 3), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def lr_find_plot(result: LRFindResult, path: str | os.PathLike | None = None, *, title: str = "Learning-rate range test") -> Figure:
    """The LR finder's loss against learning rate (log axis): each step's loss faint, the smoothed loss bold, the
    suggested learning rate (a tenth of the minimum's) and the steepest descent marked. `result`: an
    experiments.LRFindResult."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(result.learning_rates, result.losses, color="tab:blue", alpha=0.3, lw=1, label="loss per step")
    ax.plot(result.learning_rates, result.smoothed, color="tab:blue", lw=2, label="smoothed loss")
    marks = [(result.suggested, "tab:green", "--", f"suggested {result.suggested:.2g} (minimum / 10)"),
             (result.steepest, "tab:orange", ":", f"steepest descent {result.steepest:.2g}"),
             (result.minimum, "tab:red", "-.", f"minimum {result.minimum:.2g}")]
    for lr, color, style, label in marks:
        ax.axvline(lr, color=color, ls=style, lw=1.5, label=label)
    before_minimum = slice(0, int(np.nanargmin(result.smoothed)) + 1)
    low = min(np.nanmin(result.smoothed), np.nanmin(result.losses[before_minimum]))
    high = np.nanmax(result.smoothed[before_minimum])
    ax.set_ylim(low - 0.05 * (high - low + 1e-9), high + 0.5 * (high - low + 1e-9))  # the blow-up would hide the dip
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def pareto_front(costs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mask of the points no other point beats: lower-or-equal cost and higher-or-equal score, one strictly."""
    costs, scores = np.asarray(costs, float), np.asarray(scores, float)
    front = np.ones(len(costs), bool)
    for i in range(len(costs)):
        better = (costs <= costs[i]) & (scores >= scores[i]) & ((costs < costs[i]) | (scores > scores[i]))
        front[i] = not better.any()
    return front


def pareto_plot(rows: Sequence[dict], path: str | os.PathLike | None = None, *, epochs: int = 1, title: str = "") -> Figure:
    """Test accuracy (mean ± std over seeds) against parameters and against training time, one point per model,
    the Pareto front (no other model both cheaper and more accurate) joined and ringed. `rows`: the rows of
    experiments.compare."""
    costs = {"parameters (log scale)": [r["params"] for r in rows],
             f"training seconds for {epochs} epoch{'s' if epochs > 1 else ''} (log scale)":
                 [r["train_seconds_per_epoch"] * epochs for r in rows]}
    return tradeoff_plot([r["model"] for r in rows], [r["test_accuracy_mean"] for r in rows], costs, path,
                         spread=[r["test_accuracy_std"] for r in rows],
                         title=title or "Accuracy against size and training time")


def tradeoff_plot(labels: Sequence[str], accuracy: Sequence[float], costs: Mapping[str, Sequence[float]],
                  path: str | os.PathLike | None = None, *, spread: Sequence[float] | None = None,
                  title: str = "") -> Figure:
    """Test accuracy against each cost (one panel per `costs` entry: axis label -> a cost per point, drawn on a log
    scale), one labelled point each, the Pareto front (no other point both cheaper and more accurate) joined and
    ringed; `spread`: error bars (e.g. the standard deviation over seeds)."""
    accuracy = np.asarray(accuracy, float)
    spread = np.zeros_like(accuracy) if spread is None else np.asarray(spread, float)
    fig, axes = plt.subplots(1, len(costs), figsize=(6 * len(costs), 4.8), sharey=True)
    for ax, (xlabel, cost) in zip(np.atleast_1d(axes), costs.items()):
        cost = np.asarray(cost, float)
        front = pareto_front(cost, accuracy)
        ax.errorbar(cost, accuracy, yerr=spread, fmt="o", color="tab:blue", ecolor="gray", capsize=3, zorder=3)
        order = np.argsort(cost[front])
        ax.step(cost[front][order], accuracy[front][order], where="post", color="tab:red", lw=1.5,
                label="Pareto front", zorder=2)
        ax.scatter(cost[front], accuracy[front], s=160, facecolors="none", edgecolors="tab:red", lw=1.5, zorder=4)
        for x, y, label, above in _label_sides(cost, accuracy, labels):
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 6 if above else -13), fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_xlim(np.min(cost) / 1.6, np.max(cost) * 2.5)  # room for the labels
    np.atleast_1d(axes)[0].set_ylabel("test accuracy")
    fig.suptitle(title or "Accuracy against cost")
    return _save(fig, path)


def _label_sides(cost, accuracy, labels, *, axes_points=(324.0, 276.0)):
    """(x, y, label, above) per point: whether its label goes above it (6 pt up) or below (13 pt down). In the order
    of cost, each label takes the side where its box overlaps least the labels already placed and the other points
    (a tie: alternate), so that no label sits on, or between, points it does not name. The boxes are estimated in
    points on axes of `axes_points` (width, height), with tradeoff_plot's limits: a log cost axis from min/1.6 to
    max*2.5, and matplotlib's 5% margins on accuracy."""
    cost, accuracy = np.asarray(cost, float), np.asarray(accuracy, float)
    x_low, x_high = np.log(np.min(cost) / 1.6), np.log(np.max(cost) * 2.5)
    spread = max(float(np.ptp(accuracy)), 1e-12)
    y_low = float(np.min(accuracy)) - 0.05 * spread
    width, height = axes_points
    x_points = (np.log(cost) - x_low) / (x_high - x_low) * width
    y_points = (accuracy - y_low) / (1.1 * spread) * height

    def box(index, above):
        left = x_points[index] + 6
        bottom = y_points[index] + (6 if above else -13)
        return left, bottom, left + 4.8 * len(labels[index]), bottom + 9  # 8-pt text: ~4.8 pt a character

    def overlap(a, b):
        return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))

    markers = [(x - 8, y - 8, x + 8, y + 8) for x, y in zip(x_points, y_points)]  # a point and its Pareto ring
    placed, boxes = [], []
    for i, index in enumerate(np.argsort(cost, kind="stable")):
        preferred = i % 2 == 0
        sides = (preferred, not preferred)
        obstacles = boxes + [marker for other, marker in enumerate(markers) if other != index]
        above = min(sides, key=lambda side: sum(overlap(box(index, side), other) for other in obstacles))
        boxes.append(box(index, above))
        placed.append((cost[index], accuracy[index], labels[index], above))
    return placed


def runs_curves(histories: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike | None = None, *,
                title: str = "Runs side by side") -> Figure:
    """Several runs' validation loss and accuracy (dashed: training) on shared axes, one colour per run.
    `histories`: {label: history dict (read_history)}; runs of several seeds under one label come as a list of
    dicts and are drawn as their mean with a band from the lowest to the highest."""
    metric = "accuracy"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, (label, runs) in enumerate(histories.items()):
        runs = runs if isinstance(runs, list) else [runs]
        color = plt.get_cmap("tab10")(index % 10)
        for ax, key in zip(axes, ("loss", metric)):
            for prefix, style in (("val_", "-"), ("", "--")):
                columns = [r[prefix + key] for r in runs if prefix + key in r]
                if not columns:
                    continue
                length = min(len(c) for c in columns)
                values = np.array([c[:length] for c in columns])
                epochs = np.arange(1, length + 1)
                ax.plot(epochs, values.mean(axis=0), style, color=color, marker="o", ms=3,
                        label=f"{label} ({'validation' if prefix else 'training'})")
                if len(runs) > 1 and prefix:
                    ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15)
    for ax, key in zip(axes, ("loss", metric)):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    return _save(fig, path)
