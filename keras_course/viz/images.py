"""Several images side by side, each with its title (filters' outputs, kernels, samples)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Sequence


def image_grid(images: np.ndarray, titles: Sequence[str], path: str | os.PathLike | None = None, *, cols: int = 3, cmap: str = "gray",
               signed: Sequence[int] = (), title: str = "", size: float = 3.6) -> Figure:
    """Draw `images` (2-D arrays, or H x W x 3 in 0-255 / 0-1) in a grid of `cols` columns.

    Images whose index is in `signed` are drawn on a symmetric blue-white-red scale around 0 (edge responses),
    saturating at the 99.5th percentile of |value|; the others with `cmap`, each on its own range.
    """
    if len(images) != len(titles) or not images:
        raise ValueError(f"image_grid needs one title per image and at least one image. Received: {len(images)} images, "
                         f"{len(titles)} titles")
    rows = -(-len(images) // cols)
    first = np.asarray(images[0])
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, (size * aspect + 0.35) * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, (ax, image, text) in enumerate(zip(axes.flat, images, titles)):
        image = np.asarray(image, dtype="float32")
        if i in signed:
            limit = float(np.percentile(np.abs(image), 99.5)) or 1.0  # a few extreme pixels (borders) would wash out the rest
            ax.imshow(image, cmap="bwr", vmin=-limit, vmax=limit)
        elif image.ndim == 3:
            ax.imshow(np.clip(image / (255.0 if image.max() > 1 else 1.0), 0, 1))
        else:
            ax.imshow(image, cmap=cmap)
        ax.set_title(text, fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def augmentation_grid(originals: np.ndarray, labels: np.ndarray, views: np.ndarray, view_labels: np.ndarray,
                      class_names: Sequence[str], path: str | os.PathLike | None = None, *, title: str = "") -> Figure:
    """The originals (class indices `labels`) on the top row and each augmented view of them on a row below
    (views: (rows, n, H, W, C); view_labels: (rows, n, classes)), each image titled with its label; a mixed label
    shows its two largest classes with their weights. Empty `class_names` (unlabelled images): no titles."""
    n, rows = len(originals), 1 + len(views)
    fig, axes = plt.subplots(rows, n, figsize=(1.25 * n, 1.45 * rows + 0.5), squeeze=False)
    for row, batch in enumerate([originals, *views]):
        for col in range(n):
            ax = axes[row, col]
            ax.set_axis_off()
            image = np.clip(np.asarray(batch[col], dtype="float32") / 255.0, 0, 1)
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
            if not class_names:  # unlabelled images: nothing to title them with
                continue
            if row == 0:
                ax.set_title(class_names[int(labels[col])][:12], fontsize=6)
            else:
                ax.set_title(_label_text(view_labels[row - 1][col], class_names), fontsize=6)
    axes[0, 0].text(-0.15, 0.5, "original", rotation=90, va="center", ha="right", fontsize=8,
                    transform=axes[0, 0].transAxes)
    for row in range(1, rows):
        axes[row, 0].text(-0.15, 0.5, f"view {row}", rotation=90, va="center", ha="right", fontsize=8,
                          transform=axes[row, 0].transAxes)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def _label_text(weights, class_names):
    order = np.argsort(-weights)
    if len(order) < 2 or weights[order[1]] < 0.005:
        return class_names[order[0]][:12]
    return "\n".join(f"{weights[i]:.2f} {class_names[i][:9]}" for i in order[:2])
