"""Where a classifier goes wrong: the most-confused class pairs and the test images it gets most wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Sequence


def confused_pairs(matrix: np.ndarray, class_names: Sequence[str], *,
                   top: int = 10) -> list[tuple[int, int, int, float]]:
    """The off-diagonal cells of a confusion matrix, largest first: [(true, predicted, count, share of true)]."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(class_names):
        raise ValueError(f"`matrix` must be square with one row per class name. Received: shape {matrix.shape}, "
                         f"{len(class_names)} class names")
    totals = np.maximum(matrix.sum(axis=1), 1)
    cells = [(int(matrix[i, j]), i, j) for i in range(len(matrix)) for j in range(len(matrix)) if i != j and matrix[i, j]]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(class_names[i], class_names[j], count, float(count / totals[i])) for count, i, j in cells[:top]]


def confused_pairs_plot(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike | None = None, *, top: int = 10,
                        title: str = "Most-confused class pairs (test set)") -> Figure:
    """Horizontal bars: how many test images of each true class went to each wrong class, worst on top."""
    pairs = confused_pairs(matrix, class_names, top=top)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(len(pairs), 1) + 1.4))
    if not pairs:
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        labels = [f"{t} → {p}" for t, p, _, _ in pairs][::-1]
        counts = [c for _, _, c, _ in pairs][::-1]
        bars = ax.barh(range(len(pairs)), counts, color="tab:red", alpha=0.75)
        for bar, (_, _, count, share) in zip(bars, pairs[::-1]):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {count} ({share:.1%} of the class)",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(pairs)), labels)
        ax.set_xlabel("test images (true → predicted)")
        ax.set_xlim(0, max(counts) * 1.45)
    ax.set_title(title)
    return _save(fig, path)


def per_example_loss(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each example, -log p(true class), from predicted probabilities (n, k) or (n, 1) sigmoid."""
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels).reshape(-1).astype(int)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"`probabilities` must be (n, classes) with one label each. Received: shape "
                         f"{probabilities.shape}, {len(labels)} labels")
    if probabilities.shape[1] == 1:
        probabilities = np.concatenate([1 - probabilities, probabilities], axis=1)
    return -np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0))


def top_losses(probabilities: np.ndarray, labels: np.ndarray, *, k: int = 16) -> np.ndarray:
    """Indices of the `k` examples with the highest loss, highest first."""
    losses = per_example_loss(probabilities, labels)
    return np.argsort(-losses, kind="stable")[:k]


def show_image(ax, image):
    """An image as the model sees it: grey for one channel, RGB for three (0-255 or 0-1 values)."""
    image = np.asarray(image, dtype="float32")
    if image.max() > 1.0:
        image = image / 255.0
    image = np.clip(image, 0, 1)
    if image.ndim == 3 and image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])


def top_losses_plot(images: np.ndarray, probabilities: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                    path: str | os.PathLike | None = None, *, k: int = 16, title: str = "Highest-loss test images") -> Figure:
    """A grid of the `k` highest-loss images: true label, predicted label with its probability, and the loss."""
    images, labels = np.asarray(images), np.asarray(labels).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities)
    chosen = top_losses(probabilities, labels, k=k)
    losses = per_example_loss(probabilities, labels)
    full = probabilities if probabilities.shape[1] > 1 else np.concatenate([1 - probabilities, probabilities], 1)
    cols = min(4, len(chosen))
    rows = -(-len(chosen) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 3.3 * rows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, chosen):
        ax.set_axis_on()
        show_image(ax, images[i])
        predicted = int(full[i].argmax())
        ax.set_title(f"true: {class_names[labels[i]]}\npred: {class_names[predicted]} ({full[i, predicted]:.2f})\n"
                     f"loss {losses[i]:.2f}", fontsize=8, color="black" if predicted == labels[i] else "firebrick")
    fig.suptitle(title)
    return _save(fig, path)
