"""Repeatable runs: one seed for Python, NumPy, TensorFlow and Keras; op determinism on request."""

from __future__ import annotations

import keras


def set_seed(seed: int, *, deterministic_ops: bool = False) -> None:
    """Seed every random generator a Keras run uses; `deterministic_ops` also makes the backend's ops bit-for-bit
    repeatable (slower on GPU, and some ops then raise instead of running). Under JAX, whose CPU ops are
    deterministic already, GPU determinism is an XLA flag set before JAX starts (XLA_FLAGS=--xla_gpu_deterministic_ops)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"`seed` must be an integer. Received: seed={seed!r}")
    keras.utils.set_random_seed(seed)
    if not deterministic_ops:
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
    else:
        raise ValueError(f"`deterministic_ops=True` is not available under the {backend} backend from Python; "
                         "under JAX set XLA_FLAGS=--xla_gpu_deterministic_ops before starting, or use tensorflow.")
