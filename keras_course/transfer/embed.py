"""embed: a classifier's penultimate-layer features for a dataset, and their t-SNE picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from keras_course.viz import embedding_plot

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence


def features_model(model: keras.Model) -> keras.Model:
    """A model from the classifier's input to the input of its last layer (the features the head sees)."""
    return keras.Model(model.inputs, model.layers[-1].input, name=f"{model.name}_features")


def embed(model: keras.Model, dataset: tf.data.Dataset | tuple[np.ndarray, np.ndarray], *,
          plot: str | os.PathLike | None = None, class_names: Sequence[str] | None = None, max_points: int = 2000,
          batch_size: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (features, labels) as numpy for `dataset` ((x, y) arrays or a tf.data.Dataset of (x, y) pairs).

    With `plot` (a .png path), also draw the t-SNE map of up to `max_points` of them, coloured by class.
    """
    extractor = features_model(model)
    if isinstance(dataset, tf.data.Dataset):
        spec = dataset.element_spec[0]
        batched = dataset if spec.shape.rank == len(model.input_shape) else dataset.batch(batch_size)
        xs, ys = [], []
        for x, y in batched:
            xs.append(extractor(x, training=False).numpy())
            ys.append(np.asarray(y))
        features, labels = np.concatenate(xs), np.concatenate(ys)
    elif isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        features = extractor.predict(np.asarray(dataset[0]), batch_size=batch_size, verbose=0)
        labels = np.asarray(dataset[1])
    else:
        raise ValueError(f"`dataset` must be (x, y) arrays or a tf.data.Dataset of (x, y). Received: {type(dataset).__name__}")
    features = features.reshape(len(features), -1)
    if plot is not None:
        embedding_plot(features, labels, plot, class_names=class_names, max_points=max_points, seed=seed,
                       title=f"t-SNE of {model.name} features")
    return features, labels

