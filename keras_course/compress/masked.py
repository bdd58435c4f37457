"""Layers whose kernel carries a pruning mask: Dense, Conv1D/2D/3D and DepthwiseConv2D with one more weight.

The mask multiplies the kernel inside the layer's call, so the forward pass never sees a pruned weight, and it is
the kernel variable's constraint, which Keras 3 optimizers apply right after every update in the compiled step:
momentum or Adam's moments cannot resurrect a pruned weight, whatever number of steps runs per call into the
graph. The mask is a non-trainable weight saved under its own key, so a pruned model round-trips through .keras
files and run-directory backups. `strip` (compress.pruning) turns these layers back into Keras's own.
"""

from __future__ import annotations

from typing import Any

import keras

from keras_course.compress.kernel_layers import TransformedKernel, add_kernel_mask, masked_kernel


class _MaskedKernel(TransformedKernel):
    """Mixin: the mask weight, the kernel times the mask in the call, the mask as the kernel's constraint."""

    SAVED = {"mask": "kernel_mask"}

    def build(self, input_shape):
        super().build(input_shape)
        add_kernel_mask(self)

    def transformed_kernel(self, training: bool | None = None) -> Any:
        return masked_kernel(self)


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedDense(_MaskedKernel, keras.layers.Dense):
    """keras.layers.Dense with a pruning mask on its kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv1D(_MaskedKernel, keras.layers.Conv1D):
    """keras.layers.Conv1D (channels last) with a pruning mask on its kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv2D(_MaskedKernel, keras.layers.Conv2D):
    """keras.layers.Conv2D (channels last) with a pruning mask on its kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv3D(_MaskedKernel, keras.layers.Conv3D):
    """keras.layers.Conv3D (channels last) with a pruning mask on its kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedDepthwiseConv2D(_MaskedKernel, keras.layers.DepthwiseConv2D):
    """keras.layers.DepthwiseConv2D (channels last) with a pruning mask on its kernel."""


# Keras's class -> its masked twin. Subclasses of these (our own layers) are not replaced: their call may differ.
MASKED = {keras.layers.Dense: MaskedDense, keras.layers.Conv1D: MaskedConv1D, keras.layers.Conv2D: MaskedConv2D,
          keras.layers.Conv3D: MaskedConv3D, keras.layers.DepthwiseConv2D: MaskedDepthwiseConv2D}
PLAIN = {masked: plain for plain, masked in MASKED.items()}


def is_masked(layer) -> bool:
    return type(layer) in PLAIN
