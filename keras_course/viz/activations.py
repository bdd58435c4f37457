"""What a conv net looks at: first-layer filters, feature maps of a named layer, CAM and Grad-CAM heat maps.

CAM (Zhou et al. 2016) needs the classic ending, last conv maps -> global average pooling -> dense classifier:
the map of class c is then the classifier's weights for c applied at every position. Grad-CAM (Selvaraju et al.
2017) works on any conv net: the last conv maps weighted by the spatially averaged gradient of the class logit
(before softmax), then ReLU. On a GAP model both give the same picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from keras_course._checks import closest
from keras_course.viz.mistakes import show_image
from keras_course.viz.plots import _save, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    import os
    from collections.abc import Sequence


def _layers(model):
    """The model's layers, nested models opened (a transfer backbone's own conv layers)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def first_conv_layer(model):
    """The first Conv2D, inside a nested backbone too."""
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.DepthwiseConv2D):
            return layer
    raise ValueError(f"Model {model.name!r} has no Conv2D layer: filters and feature maps need a conv net.")


def first_layer_filters(model: keras.Model, path: str | os.PathLike | None = None, *, max_filters: int = 64,
                        title: str | None = None) -> Figure:
    """The first convolution's kernels as small images (RGB when it reads 3 channels, else the channel mean)."""
    layer = first_conv_layer(model)
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype="float32")  # (kh, kw, in, out)
    count = min(max_filters, kernel.shape[-1])
    cols = int(np.ceil(np.sqrt(count)))
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols + 0.6, 0.9 * rows + 0.8), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for f, ax in zip(range(count), axes.flat):
        w = kernel[..., f]
        w = (w - w.min()) / max(float(w.max() - w.min()), 1e-12)  # each filter on its own scale
        if w.shape[-1] == 3:
            ax.imshow(w, interpolation="nearest")
        else:
            ax.imshow(w.mean(axis=-1), cmap="gray", interpolation="nearest")
    fig.suptitle(title or f"{layer.name}: {count} of {kernel.shape[-1]} filters, {kernel.shape[0]}x{kernel.shape[1]}"
                 f"x{kernel.shape[2]}", fontsize=9)
    return _save(fig, path)


def _has_conv(layer):
    if isinstance(layer, keras.Model):
        return any(_has_conv(inner) for inner in layer.layers)
    return isinstance(layer, keras.layers.Conv2D)


def _spatial_layers(model):
    """Layers with (batch, h, w, channels) outputs from the first convolution on (input scaling is not a map)."""
    first = next((i for i, layer in enumerate(model.layers) if _has_conv(layer)), len(model.layers))
    return [layer for layer in model.layers[first:] if len(layer.output.shape) == 4]


def _conv_host(model):
    """(the model whose layers hold the conv maps, a model from the input to that model's input or None).

    A transfer classifier keeps its conv maps inside the nested backbone (which pools them itself): the maps are
    read from the backbone, fed by the outer layers before it.
    """
    if _spatial_layers(model):
        return model, None
    for i, layer in enumerate(model.layers):
        if isinstance(layer, keras.Model) and _has_conv(layer) and i > 0:
            return layer, keras.Model(model.input, model.layers[i - 1].output)
    return model, None


def get_spatial_layer(model, name=None):
    """The layer `name` (its output must be a (batch, h, w, channels) map), or the last such layer: the final
    conv maps before the pooling. Inside the backbone for a transfer classifier."""
    host, _ = _conv_host(model)
    spatial = _spatial_layers(host)
    if not spatial:
        raise ValueError(f"Model {model.name!r} has no layer with a (height, width, channels) output: feature maps, "
                         "CAM and Grad-CAM need a conv net.")
    if name is None:
        return spatial[-1]
    names = [layer.name for layer in spatial]
    if name not in names:
        hint = closest(name, names)
        raise ValueError(f"Model {model.name!r} has no conv-map layer {name!r}.{f' Did you mean {hint!r}?' if hint else ''} "
                         f"Layers with feature maps: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}")
    return spatial[names.index(name)]


def _probe(model, maps, features=False):
    """A function images -> maps, or -> (maps, classifier input) with `features`; `maps` a tensor of the conv
    host's graph."""
    host, feed = _conv_host(model)
    outputs = [maps]
    if features:
        dense = classifier_layer(model)
        pooled = dense.input if host is model else host.output
        if pooled.shape[-1] != dense.input.shape[-1]:
            raise ValueError(f"Model {model.name!r}: layers between the backbone and the classifier change the "
                             "features; CAM and Grad-CAM need backbone -> (dropout) -> Dense.")
        outputs.append(pooled)
    probe = keras.Model(host.input, outputs if features else maps)
    if feed is None:
        return lambda x: probe(x, training=False)
    return lambda x: probe(feed(x, training=False), training=False)


def feature_maps(model: keras.Model, image: np.ndarray, layer: str | None = None) -> np.ndarray:
    """The (h, w, channels) output of `layer` (name; default the last conv maps) for one `image`."""
    chosen = get_spatial_layer(model, layer)
    maps = _probe(model, chosen.output)(np.asarray(image, "float32")[None])
    return np.asarray(maps)[0].astype("float32"), chosen.name


def feature_maps_plot(model: keras.Model, image: np.ndarray, path: str | os.PathLike | None = None, *, layer: str | None = None,
                      max_maps: int = 32) -> Figure:
    """The input image and the first `max_maps` channels of `layer`'s output for it, each on its own scale."""
    maps, name = feature_maps(model, image, layer)
    count = min(max_maps, maps.shape[-1])
    cols = min(8, count + 1)
    rows = -(-(count + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.6 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    show_image(axes.flat[0], image)
    axes.flat[0].set_title("input", fontsize=8)
    for c, ax in zip(range(count), list(axes.flat)[1:]):
        ax.imshow(maps[..., c], cmap="viridis")
        ax.set_title(f"#{c}", fontsize=7)
    fig.suptitle(f"{name}: {count} of {maps.shape[-1]} maps, {maps.shape[0]}x{maps.shape[1]}", fontsize=9)
    return _save(fig, path)


def classifier_layer(model):
    """The last Dense layer: the classifier whose logits CAM and Grad-CAM explain."""
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.Dense):
            return layer
    raise ValueError(f"Model {model.name!r} has no Dense classifier layer.")


def _class_logit(features, dense, classes):
    """Each example's logit for its class, from the classifier's input (softmax/sigmoid left out)."""
    kernel = tf.cast(dense.kernel, "float32")
    logits = tf.matmul(tf.cast(features, "float32"), kernel)
    if dense.bias is not None:
        logits += tf.cast(dense.bias, "float32")
    if kernel.shape[-1] == 1:  # one sigmoid unit: class 1 is the logit, class 0 its negative
        return logits[:, 0] * tf.where(tf.equal(classes, 1), 1.0, -1.0)
    return tf.gather(logits, classes, axis=1, batch_dims=1)


def _predicted(model, images):
    p = np.asarray(model(images, training=False), dtype="float32")
    return (p[:, 0] > 0.5).astype("int32") if p.shape[1] == 1 else p.argmax(axis=1).astype("int32")


def grad_cam(model: keras.Model, images: np.ndarray, classes: Sequence[int] | None = None, *, layer: str | None = None,
             normalize: bool = True) -> np.ndarray:
    """Grad-CAM maps (n, h, w) of `layer` (default: the last conv maps) for `classes` (default: the predicted).

    Each map is ReLU(sum_k alpha_k A_k) with alpha_k the mean gradient of the class logit over map k; with
    `normalize`, scaled to [0, 1] per image. Returns (maps, classes).
    """
    images = np.asarray(images, dtype="float32")
    classes = _predicted(model, images) if classes is None else np.asarray(classes, dtype="int32").reshape(-1)
    chosen, dense = get_spatial_layer(model, layer), classifier_layer(model)
    probe = _probe(model, chosen.output, features=True)
    with tf.GradientTape() as tape:
        maps, features = probe(images)
        score = _class_logit(features, dense, tf.constant(classes))
    grads = tape.gradient(score, maps)
    if grads is None:
        raise ValueError(f"Layer {chosen.name!r} does not lead to the classifier's logits: choose a later conv layer.")
    grads = tf.cast(grads, "float32")
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * tf.cast(maps, "float32"), axis=-1)).numpy()
    return (_normalize(cams) if normalize else cams), classes


def gap_layer(model):
    """The model's GlobalAveragePooling2D layer, checked to feed the classifier directly (CAM's requirement)."""
    host, _ = _conv_host(model)
    pools = [layer for layer in host.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)]
    dense = classifier_layer(model)
    if not pools or pools[-1].output.shape[-1] != dense.input.shape[-1] or (host is not model and pools[-1] is not
                                                                           host.layers[-1]):
        raise ValueError(f"CAM needs a model that ends conv maps -> global average pooling -> Dense; {model.name!r} "
                         "does not. Use Grad-CAM, which works on any conv net.")
    return pools[-1]


def cam(model: keras.Model, images: np.ndarray, classes: Sequence[int] | None = None, *,
        normalize: bool = True) -> np.ndarray:
    """Class activation maps (n, h, w) for `classes` (default: the predicted) of a global-average-pooled model.

    Unnormalised, each map's spatial mean plus the class bias is the class logit. Returns (maps, classes).
    """
    images = np.asarray(images, dtype="float32")
    classes = _predicted(model, images) if classes is None else np.asarray(classes, dtype="int32").reshape(-1)
    pool, dense = gap_layer(model), classifier_layer(model)
    maps = np.asarray(_probe(model, pool.input)(images), dtype="float32")
    kernel = np.asarray(keras.ops.convert_to_numpy(dense.kernel), dtype="float32")
    if kernel.shape[1] == 1:
        columns = kernel[:, 0][None, :] * np.where(classes == 1, 1.0, -1.0)[:, None]
    else:
        columns = kernel[:, classes].T  # (n, channels)
    cams = np.einsum("nhwc,nc->nhw", maps, columns)
    return (_normalize(cams) if normalize else cams), classes


def _normalize(cams):
    cams = np.asarray(cams, dtype="float32")
    low = cams.min(axis=(1, 2), keepdims=True)
    span = cams.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (cams - low) / np.where(span > 0, span, 1), 0.0)


def heatmap_plot(images: np.ndarray, heatmaps: np.ndarray, path: str | os.PathLike | None = None, *, labels: np.ndarray | None = None,
                 predicted: np.ndarray | None = None, class_names: Sequence[str] | None = None,
                 title: str = "Grad-CAM") -> Figure:
    """Each image with its heat map (resized to the image) laid over it, in two rows per group: image, overlay."""
    images, heatmaps = np.asarray(images), np.asarray(heatmaps, dtype="float32")
    n = len(images)
    cols = min(n, 8)
    groups = -(-n // cols)
    fig, axes = plt.subplots(2 * groups, cols, figsize=(1.9 * cols, 4.1 * groups), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    size = images.shape[1:3]
    resized = tf.image.resize(heatmaps[..., None], size, method="bilinear").numpy()[..., 0]
    for i in range(n):
        top, bottom = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        show_image(top, images[i])
        show_image(bottom, images[i])
        bottom.imshow(resized[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        if labels is not None and class_names is not None:
            text = f"true: {class_names[int(labels[i])]}"
            if predicted is not None:
                text += f"\npred: {class_names[int(predicted[i])]}"
            top.set_title(text, fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)
