"""Feature embeddings drawn in 2-D with t-SNE, coloured by class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.manifold import TSNE

from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Sequence


def embedding_plot(features: np.ndarray, labels: np.ndarray, path: str | os.PathLike | None = None, *,
                   class_names: Sequence[str] | None = None, max_points: int = 2000, seed: int = 0,
                   title: str = "t-SNE of features") -> Figure:
    """t-SNE of `features` (n, d) coloured by integer `labels`, at most `max_points` drawn (a seeded subset)."""
    features = np.asarray(features, dtype="float32").reshape(len(features), -1)
    labels = np.asarray(labels).reshape(-1).astype(int)
    if len(features) != len(labels) or len(features) < 5:
        raise ValueError(f"embedding_plot needs >= 5 feature rows and one label each. Received: {len(features)} rows, "
                         f"{len(labels)} labels")
    if len(features) > max_points:
        keep = np.sort(np.random.default_rng(seed).permutation(len(features))[:max_points])
        features, labels = features[keep], labels[keep]
    perplexity = min(30.0, (len(features) - 1) / 3)
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    classes = np.unique(labels)
    names = class_names if class_names is not None else [str(c) for c in range(int(classes.max()) + 1)]
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    for i, c in enumerate(classes):
        chosen = labels == c
        ax.scatter(points[chosen, 0], points[chosen, 1], s=8, alpha=0.75, color=cmap(i % cmap.N), label=names[c])
    ax.legend(markerscale=2.5, fontsize=8, loc="best", framealpha=0.85)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title} ({len(features)} points)")
    return _save(fig, path)
