"""Mixed precision by name: which Keras dtype policy a run builds its model under.

"auto" is mixed_float16 on a GPU (tensor cores; Keras adds loss scaling when it compiles such a model) and float32
on the CPU: measured here (2-core AVX-512 BF16 CPU), mixed_bfloat16 trained vgg11_bn 2.7x faster but cnn4_bn and
resnet20 no faster, so it is offered, not chosen. The classifier layer stays float32 under every policy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

from keras_course._checks import check_choice

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def resolve_precision(precision: str = "auto") -> str:
    """The Keras dtype policy name for `precision` (one of PRECISIONS) on this machine."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "auto":
        return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
    return precision


@contextlib.contextmanager
def dtype_policy(precision: str = "auto") -> Iterator[None]:
    """Build models inside this block to give their layers the policy of `precision`; the global policy is
    restored afterwards (layers keep the policy they were built with, and it is saved with the model)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
