"""embed: a classifier's penultimate-layer features for a dataset, and their t-SNE picture."""

import keras
import numpy as np
import tensorflow as tf

from keras_course.viz import embedding_plot


def features_model(model):
    """A model from the classifier's input to the input of its last layer (the features the head sees)."""
    return keras.Model(model.inputs, model.layers[-1].input, name=f"{model.name}_features")


def embed(model, dataset, *, plot=None, class_names=None, max_points=2000, batch_size=256, seed=0):
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

