"""Learning from a few labelled images, the way the course's claim is judged: a validation split carved from the
labelled images, a model chosen on it (never on the test split), and three ways to learn — from scratch, a linear
probe on a frozen pretrained encoder, or that encoder fine-tuned — each scored on the test images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

from keras_course._checks import check_range

PROBE_C = (0.1, 1.0, 10.0, 100.0)  # inverse regularisation strengths the linear probe chooses among


def split_per_class(x: np.ndarray, y: np.ndarray, seed: int, *, fraction: float = 0.2) -> tuple:
    """((x_train, y_train), (x_val, y_val)): `fraction` of each class (at least one image) for validation."""
    check_range("fraction", fraction, 0, 1, example=0.2)
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), bool)
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        if len(members) < 2:
            raise ValueError(f"Class {c} has {len(members)} labelled image; a validation split needs at least two a "
                             "class. Label more images.")
        val[members[:max(1, int(len(members) * fraction))]] = True
    return (x[~val], y[~val]), (x[val], y[val])


def accuracy(model: keras.Model, split: tuple) -> float:
    """Top-1 accuracy of a softmax classifier on (x, y)."""
    x, y = split
    return float(np.mean(model.predict(np.asarray(x, "float32"), batch_size=512, verbose=0).argmax(axis=1) == y))


def classifier_on(encoder: keras.Model, num_classes: int, *, name: str = "fine_tune") -> keras.Model:
    """`encoder` with a new softmax layer on its features: the model that fine-tunes both."""
    head = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")
    return keras.Model(encoder.inputs, head(encoder.output), name=name)


def fit_best(make_model: Callable[[], keras.Model], train: tuple, val: tuple, test: tuple, *, seed: int,
             epochs: Sequence[int], lrs: Sequence[float], augment: object = "standard",
             batch_size: int = 32) -> tuple[float, dict]:
    """Train a fresh `make_model()` at each (epochs, lr) of the grid (Adam, cosine schedule, `augment` in the
    pipeline); return the test accuracy of the one with the best validation accuracy, and that choice."""
    import tensorflow as tf

    from keras_course import data, training

    best = None
    for n_epochs in epochs:
        for lr in lrs:
            training.set_seed(seed)
            model = make_model()
            pipe = data.make_pipeline(tf.data.Dataset.from_tensor_slices(train), batch_size=batch_size,
                                      training=True, augment=augment, seed=seed)
            training.fit_phases(model, [training.Phase("train", n_epochs, lr=lr, schedule="cosine")], pipe,
                                optimizer="adam")
            score = accuracy(model, val)
            if best is None or score > best[0]:
                best = (score, accuracy(model, test), {"epochs": n_epochs, "lr": lr, "val_accuracy": score})
    return best[1], best[2]


def linear_probe(encoder: keras.Model, train: tuple, val: tuple, test: tuple, *,
                 cs: Sequence[float] = PROBE_C) -> tuple[float, dict]:
    """Logistic regression (scikit-learn, to convergence) on the frozen encoder's L2-normalised features, its C
    chosen on `val`; returns its test accuracy and that choice."""
    from sklearn.linear_model import LogisticRegression

    from keras_course.ssl.monitor import features

    f_train, f_val, f_test = (features(encoder, x) for x, _ in (train, val, test))
    best = None
    for c in cs:
        probe = LogisticRegression(C=c, max_iter=5000).fit(f_train, train[1])
        score = probe.score(f_val, val[1])
        if best is None or score > best[0]:
            best = (score, float(probe.score(f_test, test[1])), {"C": c, "val_accuracy": float(score)})
    return best[1], best[2]
