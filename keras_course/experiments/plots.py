"""Every picture of a finished run, drawn again from its run directory (what `keras-course plot` draws)."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from keras_course import data, viz
from keras_course._checks import check_positive
from keras_course.experiments import engine
from keras_course.experiments.run_dir import HISTORY, load_run

if TYPE_CHECKING:
    from collections.abc import Sequence

PLOTS = ("curves", "confusion", "pairs", "top_losses", "filters", "feature_maps", "cam", "gradcam", "tsne")
FILES = {"curves": "learning_curves.png", "confusion": "confusion_matrix.png", "pairs": "confused_pairs.png",
         "top_losses": "top_losses.png", "filters": "first_layer_filters.png", "feature_maps": "feature_maps.png",
         "cam": "cam.png", "gradcam": "grad_cam.png", "tsne": "tsne.png"}


def check_what(what):
    """`what` ("all", a comma-separated string or a list of PLOTS names) as a list of names."""
    if what is None or what == "all":
        return list(PLOTS)
    names = [w.strip() for w in what.split(",")] if isinstance(what, str) else list(what)
    unknown = [n for n in names if n not in PLOTS]
    if unknown or not names:
        raise ValueError(f"Unknown plot {unknown[0] if unknown else what!r}. Expected any of: all, {', '.join(PLOTS)} "
                         f"(comma-separated). Received: what={what!r}")
    return names


def spread_examples(labels, count):
    """Indices of `count` test examples, classes taken in turn (the first example of each class, then the second)."""
    labels = np.asarray(labels).reshape(-1)
    queues = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    chosen = []
    while len(chosen) < min(count, len(labels)):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return np.array(chosen, dtype=int)


def plot_run(run_dir: str | os.PathLike, what: str | Sequence[str] = "all", *, out_dir: str | os.PathLike | None = None,
             layer: str | None = None, images: np.ndarray = 8,
             max_points: int = 1000) -> tuple[list[str], dict[str, str]]:
    """Draw the pictures `what` of a finished run into `out_dir` (default RUN_DIR/plots); returns (written, skipped).

    written: {name: png path}. skipped: {name: reason} for pictures that do not apply to this run (CAM without
    global average pooling, conv pictures of an MLP, class pictures of a regression); asking for one of those by
    name raises ValueError instead. `layer` names the layer of the feature maps (default: the last conv maps);
    `images`: how many test images CAM and Grad-CAM show; `max_points`: t-SNE sample size.
    """
    names = check_what(what)
    check_positive("images", images, integer=True)
    check_positive("max_points", max_points, integer=True)
    config, metrics = load_run(run_dir)
    out_dir = os.fspath(out_dir or os.path.join(run_dir, "plots"))
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    if layer is not None and "feature_maps" in names:
        viz.activations.get_spatial_layer(model, layer)  # a wrong name fails before anything is drawn
    _, _, test_ds, info = engine.load_splits(config)
    x, y = data.to_numpy(test_ds)
    y = y.reshape(-1)
    probabilities = model.predict(data.make_pipeline(test_ds, batch_size=256), verbose=0).astype("float32")
    predicted = (probabilities[:, 0] > 0.5).astype(int) if probabilities.shape[1] == 1 else probabilities.argmax(1)
    run = _Run(run_dir, config, metrics, model, info, x, y, probabilities, predicted, layer, images, max_points,
               title=f"{config.model} on {config.dataset}")
    os.makedirs(out_dir, exist_ok=True)
    written, skipped = {}, {}
    for name in names:
        reason = _not_applicable(name, model, info)
        if reason:
            if what not in (None, "all"):
                raise ValueError(f"Cannot draw {name!r} for {run_dir!r}: {reason}")
            skipped[name] = reason
            continue
        written[name] = os.path.join(out_dir, FILES[name])
        DRAW[name](run, written[name])
    return written, skipped


@dataclasses.dataclass
class _Run:
    """What the pictures of a finished run are drawn from: the run, its model and its test split's predictions."""

    run_dir: str
    config: object
    metrics: dict
    model: object
    info: object
    x: np.ndarray
    y: np.ndarray
    probabilities: np.ndarray
    predicted: np.ndarray
    layer: str
    images: int
    max_points: int
    title: str

    def matrix(self):
        return confusion_matrix(self.y, self.predicted, labels=list(range(self.info.num_classes)))


def _curves(run, path):
    history = viz.read_history(os.path.join(run.run_dir, HISTORY))
    stopped = run.metrics["epochs_run"] - 1 if run.metrics.get("stopped_early") else None
    return viz.learning_curves(history, path, best_epoch=run.metrics.get("best_epoch", 1) - 1, stopped_epoch=stopped,
                               title=run.title)


def _heatmaps(kind):
    def draw(run, path):
        chosen = spread_examples(run.y, run.images)
        maps, classes = (viz.cam if kind == "cam" else viz.grad_cam)(run.model, run.x[chosen])
        return viz.heatmap_plot(run.x[chosen], maps, path, labels=run.y[chosen], predicted=classes,
                                class_names=run.info.class_names,
                                title=f"{'CAM' if kind == 'cam' else 'Grad-CAM'} of the predicted class, {run.title}")
    return draw


def _tsne(run, path):
    from keras_course.transfer.embed import features_model

    keep = np.sort(np.random.default_rng(run.config.seed).permutation(len(run.y))[:run.max_points])
    features = features_model(run.model).predict(run.x[keep].astype("float32"), batch_size=256, verbose=0)
    return viz.embedding_plot(features, run.y[keep], path, class_names=run.info.class_names,
                              max_points=run.max_points, seed=run.config.seed,
                              title=f"t-SNE of penultimate features, {run.title}")


# How each picture is drawn: (the run, the PNG path) -> the Figure, written to the path
DRAW = {
    "curves": _curves,
    "confusion": lambda run, path: viz.confusion_matrix_plot(run.matrix(), run.info.class_names, path,
                                                             title=f"Confusion matrix (test set), {run.title}"),
    "pairs": lambda run, path: viz.confused_pairs_plot(run.matrix(), run.info.class_names, path,
                                                       title=f"Most-confused class pairs, {run.title}"),
    "top_losses": lambda run, path: viz.top_losses_plot(run.x, run.probabilities, run.y, run.info.class_names, path,
                                                        title=f"Highest-loss test images, {run.title}"),
    "filters": lambda run, path: viz.first_layer_filters(run.model, path),
    "feature_maps": lambda run, path: viz.feature_maps_plot(run.model, run.x[spread_examples(run.y, 1)[0]], path,
                                                            layer=run.layer),
    "cam": _heatmaps("cam"),
    "gradcam": _heatmaps("gradcam"),
    "tsne": _tsne,
}


def _not_applicable(name, model, info):
    """Why picture `name` does not apply to this run, or None."""
    if name == "curves":
        return None
    if info.task == "regression":
        return "a regression has no classes"
    if name in ("filters", "feature_maps", "gradcam", "cam"):
        try:
            viz.activations.first_conv_layer(model) if name == "filters" else viz.activations.get_spatial_layer(model)
            if name == "cam":
                viz.activations.gap_layer(model)
        except ValueError as error:
            return str(error)
    if name == "top_losses" and not info.is_image:
        return "the inputs are not images"
    return None
