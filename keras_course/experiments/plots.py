"""Every picture of a finished run, drawn again from its run directory (what `keras-course plot` draws)."""

import os

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from keras_course import data, viz
from keras_course._checks import check_positive
from keras_course.experiments import engine
from keras_course.experiments.run_dir import HISTORY, load_run

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


def plot_run(run_dir, what="all", *, out_dir=None, layer=None, images=8, max_points=1000):
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
    title = f"{config.model} on {config.dataset}"
    os.makedirs(out_dir, exist_ok=True)
    written, skipped = {}, {}

    def path(name):
        return os.path.join(out_dir, FILES[name])

    for name in names:
        reason = _not_applicable(name, model, info)
        if reason:
            if what not in (None, "all"):
                raise ValueError(f"Cannot draw {name!r} for {run_dir!r}: {reason}")
            skipped[name] = reason
            continue
        if name == "curves":
            history = viz.read_history(os.path.join(run_dir, HISTORY))
            stopped = metrics["epochs_run"] - 1 if metrics.get("stopped_early") else None
            written[name] = viz.learning_curves(history, path(name), best_epoch=metrics.get("best_epoch", 1) - 1,
                                                stopped_epoch=stopped, title=title)
        elif name == "confusion":
            matrix = confusion_matrix(y, predicted, labels=list(range(info.num_classes)))
            written[name] = viz.confusion_matrix_plot(matrix, info.class_names, path(name),
                                                      title=f"Confusion matrix (test set), {title}")
        elif name == "pairs":
            matrix = confusion_matrix(y, predicted, labels=list(range(info.num_classes)))
            written[name] = viz.confused_pairs_plot(matrix, info.class_names, path(name),
                                                    title=f"Most-confused class pairs, {title}")
        elif name == "top_losses":
            written[name] = viz.top_losses_plot(x, probabilities, y, info.class_names, path(name),
                                                title=f"Highest-loss test images, {title}")
        elif name == "filters":
            written[name] = viz.first_layer_filters(model, path(name))
        elif name == "feature_maps":
            written[name] = viz.feature_maps_plot(model, x[spread_examples(y, 1)[0]], path(name), layer=layer)
        elif name in ("cam", "gradcam"):
            chosen = spread_examples(y, images)
            maps, classes = (viz.cam if name == "cam" else viz.grad_cam)(model, x[chosen])
            written[name] = viz.heatmap_plot(x[chosen], maps, path(name), labels=y[chosen], predicted=classes,
                                             class_names=info.class_names,
                                             title=f"{'CAM' if name == 'cam' else 'Grad-CAM'} of the predicted class, {title}")
        elif name == "tsne":
            from keras_course.transfer.embed import features_model

            keep = np.sort(np.random.default_rng(config.seed).permutation(len(y))[:max_points])
            features = features_model(model).predict(x[keep].astype("float32"), batch_size=256, verbose=0)
            written[name] = viz.embedding_plot(features, y[keep], path(name), class_names=info.class_names,
                                               max_points=max_points, seed=config.seed,
                                               title=f"t-SNE of penultimate features, {title}")
    return written, skipped


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
