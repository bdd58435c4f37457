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
