"""Input normalisation that a model carries inside itself, chosen from the training split."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course.data.datasets import to_numpy

if TYPE_CHECKING:
    import tensorflow as tf

    from keras_course.data.info import DatasetInfo


def normalization_for(train: tf.data.Dataset, info: DatasetInfo) -> str | dict[str, list[float]]:
    """"rescale" for 0–255 pixels; otherwise per-feature mean and variance of the training split, for the models'
    `normalization` option (a keras Normalization layer inside the model)."""
    if info.value_range == (0, 255):
        return "rescale"
    x, _ = to_numpy(train)
    x = x.reshape(len(x), -1)
    return {"mean": x.mean(axis=0).tolist(), "variance": np.maximum(x.var(axis=0), 1e-12).tolist()}
