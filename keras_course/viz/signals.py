"""Per-layer activation and gradient spread of several networks (see training.layer_statistics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Mapping, Sequence


def layer_statistics_plot(statistics: Mapping[str, Sequence[dict]], path: str | os.PathLike | None = None, *,
                          title: str = "Signals through the layers") -> Figure:
    """Two panels, one line per label: activation std by layer (forward) and gradient std by layer (backward, log).

    statistics: {label: list of {"activation_std", "gradient_std"} in layer order}.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for index, (label, rows) in enumerate(statistics.items()):
        depth = np.arange(1, len(rows) + 1)
        color = plt.get_cmap("tab10")(index % 10)
        left.plot(depth, [r["activation_std"] for r in rows], "o-", ms=3, color=color, label=label)
        right.plot(depth, [max(r["gradient_std"], 1e-30) for r in rows], "o-", ms=3, color=color, label=label)
    left.set_title("forward: std of each layer's activations")
    right.set_title("backward: std of d loss / d kernel")
    right.set_yscale("log")
    for ax in (left, right):
        ax.set_xlabel("layer (the last is the classifier)")
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)
