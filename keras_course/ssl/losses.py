"""The losses of the self-supervised methods: SimCLR's NT-Xent, SimSiam's negative cosine."""

from __future__ import annotations

from typing import Any

import keras


def nt_xent(z1: Any, z2: Any, temperature: float = 0.5) -> Any:
    """NT-Xent (Chen et al. 2020): each of the 2N projections must pick out its partner view among the 2N - 1
    others, by the softmax of their cosine similarities over `temperature`; the mean over the 2N of them.

    z1, z2: (N, d) projections of the two views of the same N images (row i of each comes from image i).
    """
    z = keras.ops.concatenate([z1, z2], axis=0)
    z = keras.ops.cast(z, "float32")  # a softmax over a batch at temperature 0.1 needs more than bfloat16
    z = z / keras.ops.maximum(keras.ops.norm(z, axis=1, keepdims=True), 1e-12)
    n = keras.ops.shape(z1)[0]
    logits = keras.ops.matmul(z, keras.ops.transpose(z)) / temperature
    logits = logits - 1e9 * keras.ops.eye(2 * n)  # an image's view is not its own negative
    partners = keras.ops.concatenate([keras.ops.arange(n) + n, keras.ops.arange(n)], axis=0)
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(partners, logits, from_logits=True))


def negative_cosine(p: Any, z: Any) -> Any:
    """SimSiam's D(p, z): minus the mean cosine similarity of matching rows (-1 when they point the same way)."""
    p = keras.ops.cast(p, "float32")
    z = keras.ops.cast(z, "float32")
    p = p / keras.ops.maximum(keras.ops.norm(p, axis=1, keepdims=True), 1e-12)
    z = z / keras.ops.maximum(keras.ops.norm(z, axis=1, keepdims=True), 1e-12)
    return -keras.ops.mean(keras.ops.sum(p * z, axis=1))
