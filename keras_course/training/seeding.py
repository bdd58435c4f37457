"""Repeatable runs: one seed for Python, NumPy, TensorFlow and Keras; op determinism on request."""

from __future__ import annotations

import keras
import tensorflow as tf


def set_seed(seed: int, *, deterministic_ops: bool = False) -> None:
    """Seed every random generator a Keras run uses; `deterministic_ops` also makes TF ops bit-for-bit repeatable
    (slower on GPU, and some ops then raise instead of running)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"`seed` must be an integer. Received: seed={seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
