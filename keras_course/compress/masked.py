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
from keras import ops


def _masked_kernel(layer):
    return ops.multiply(layer.kernel, ops.cast(layer.kernel_mask, layer.kernel.dtype))


def _with_bias_and_activation(layer, outputs, channels):
    if layer.use_bias:
        shape = (1,) * (len(outputs.shape) - 1) + (channels,)
        outputs = ops.add(outputs, ops.reshape(layer.bias, shape))
    return layer.activation(outputs) if layer.activation is not None else outputs


class _MaskedKernel:
    """Mixin: the mask weight, the constraint, and saving the mask beside the layer's own variables."""

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_mask = self.add_weight(name="kernel_mask", shape=tuple(self.kernel.shape), initializer="ones",
                                           trainable=False, dtype="float32")
        variable = self.kernel  # the variable itself (Keras's property adds nothing without LoRA)
        own = variable.constraint
        mask = self.kernel_mask
        # after each optimizer update: the pruned weights back to exactly zero (and any constraint of the layer's)
        variable.constraint = (lambda w: ops.multiply(own(w) if own else w, ops.cast(mask, w.dtype)))

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store["mask"] = self.kernel_mask

    def load_own_variables(self, store):
        # the layer's own loader reads its numbered keys and checks that the file holds as many variables as the
        # layer has (the mask included)
        super().load_own_variables(store)
        if self.built:
            self.kernel_mask.assign(store["mask"])


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedDense(_MaskedKernel, keras.layers.Dense):
    """keras.layers.Dense with a pruning mask on its kernel."""

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return _with_bias_and_activation(self, ops.matmul(inputs, _masked_kernel(self)), self.units)


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv1D(_MaskedKernel, keras.layers.Conv1D):
    """keras.layers.Conv1D (channels last) with a pruning mask on its kernel."""

    def call(self, inputs: Any) -> Any:
        return _with_bias_and_activation(self, self.convolution_op(inputs, _masked_kernel(self)), self.filters)


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv2D(_MaskedKernel, keras.layers.Conv2D):
    """keras.layers.Conv2D (channels last) with a pruning mask on its kernel."""

    def call(self, inputs: Any) -> Any:
        return _with_bias_and_activation(self, self.convolution_op(inputs, _masked_kernel(self)), self.filters)


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedConv3D(_MaskedKernel, keras.layers.Conv3D):
    """keras.layers.Conv3D (channels last) with a pruning mask on its kernel."""

    def call(self, inputs: Any) -> Any:
        return _with_bias_and_activation(self, self.convolution_op(inputs, _masked_kernel(self)), self.filters)


@keras.saving.register_keras_serializable(package="keras_course")
class MaskedDepthwiseConv2D(_MaskedKernel, keras.layers.DepthwiseConv2D):
    """keras.layers.DepthwiseConv2D (channels last) with a pruning mask on its kernel."""

    def call(self, inputs: Any) -> Any:
        outputs = ops.depthwise_conv(inputs, _masked_kernel(self), strides=self.strides, padding=self.padding,
                                     dilation_rate=self.dilation_rate, data_format=self.data_format)
        return _with_bias_and_activation(self, outputs, outputs.shape[-1])


# Keras's class -> its masked twin. Subclasses of these (our own layers) are not replaced: their call may differ.
MASKED = {keras.layers.Dense: MaskedDense, keras.layers.Conv1D: MaskedConv1D, keras.layers.Conv2D: MaskedConv2D,
          keras.layers.Conv3D: MaskedConv3D, keras.layers.DepthwiseConv2D: MaskedDepthwiseConv2D}
PLAIN = {masked: plain for plain, masked in MASKED.items()}


def is_masked(layer) -> bool:
    return type(layer) in PLAIN
