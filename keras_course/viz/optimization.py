"""Optimizers compared: paths on a 2-D loss surface, and loss curves side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Callable, Mapping, Sequence


def trajectories_plot(loss: Callable[[np.ndarray, np.ndarray], np.ndarray], trajectories: Mapping[str, np.ndarray],
                      path: str | os.PathLike | None = None, *,
                      xlim: tuple[float, float], ylim: tuple[float, float], minimum: tuple[float, float] | None = None,
                      title: str = "Optimizers on a loss surface") -> Figure:
    """Contours of loss(x, y) (vectorised over arrays) with each optimizer's path of (x, y) points drawn on top.

    Args:
        trajectories: {label: array (steps + 1, 2)}.
        xlim, ylim: (low, high) of the window.
        minimum: (x, y) marked with a star, or None.
    """
    gx, gy = np.meshgrid(np.linspace(*xlim, 300), np.linspace(*ylim, 300))
    surface = loss(gx, gy)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    levels = np.geomspace(max(float(surface.min()), 1e-3), float(surface.max()), 25)
    ax.contour(gx, gy, surface, levels=levels, cmap="Greys", linewidths=0.6)
    for index, (label, points) in enumerate(trajectories.items()):
        points = np.asarray(points)
        color = plt.get_cmap("tab10")(index % 10)
        ax.plot(points[:, 0], points[:, 1], "-", color=color, lw=1.4, label=label)
        ax.plot(points[-1, 0], points[-1, 1], "o", color=color, ms=5)
    start = np.asarray(next(iter(trajectories.values())))[0]
    ax.plot(*start, "ks", ms=6, label="start")
    if minimum is not None:
        ax.plot(*minimum, "*", color="gold", mec="k", ms=14, label="minimum")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title)
    return _save(fig, path)


def loss_curves_plot(curves: Mapping[str, Sequence[float]], path: str | os.PathLike | None = None, *, xlabel: str = "epoch",
                     ylabel: str = "training loss", log: bool = True, title: str = "Loss curves") -> Figure:
    """One line per label: {label: sequence of losses}."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for index, (label, values) in enumerate(curves.items()):
        ax.plot(np.arange(1, len(values) + 1), values, color=plt.get_cmap("tab10")(index % 10), lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)
