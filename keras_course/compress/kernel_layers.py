"""What the masked (pruning) and fake-quantized (QAT) layers share: Keras's Dense, Conv and DepthwiseConv computing
with a transformed kernel, and variables of their own saved beside the layer's.

A subclass of one of Keras's layers mixes in `TransformedKernel`, defines `transformed_kernel(training)` (the
kernel the layer computes with) and lists its extra variables in `SAVED = {"store key": "attribute"}`; the call
is then Keras's own arithmetic (matmul, convolution or depthwise convolution, bias, activation) on that kernel.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def add_kernel_mask(layer) -> None:
    """Give a built layer `kernel_mask` (ones: keep every weight), a non-trainable weight that is also its kernel's
    constraint: Keras 3 optimizers apply a variable's constraint right after every update in the compiled step, so
    a masked weight is back at exactly zero before the next step, whatever momentum it carries."""
    layer.kernel_mask = layer.add_weight(name="kernel_mask", shape=tuple(layer.kernel.shape), initializer="ones",
                                         trainable=False, dtype="float32")
    variable = layer.kernel  # the variable itself (Keras's property adds nothing without LoRA)
    own, mask = variable.constraint, layer.kernel_mask
    variable.constraint = lambda w: ops.multiply(own(w) if own else w, ops.cast(mask, w.dtype))


def masked_kernel(layer) -> Any:
    """The layer's kernel times its mask."""
    return ops.multiply(layer.kernel, ops.cast(layer.kernel_mask, layer.kernel.dtype))


class TransformedKernel:
    """Mixin for keras.layers.Dense, Conv1D/2D/3D and DepthwiseConv2D (channels last)."""

    SAVED: dict = {}  # store key -> attribute: variables saved under their own key

    def transformed_kernel(self, training: bool | None = None) -> Any:
        raise NotImplementedError

    def before_activation(self, outputs: Any, training: bool | None = None) -> Any:
        """A hook on the pre-activation outputs (QAT quantizes the logits before a softmax there)."""
        return outputs

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kernel = self.transformed_kernel(training)
        if isinstance(self, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        elif isinstance(self, keras.layers.DepthwiseConv2D):
            outputs = ops.depthwise_conv(inputs, kernel, strides=self.strides, padding=self.padding,
                                         dilation_rate=self.dilation_rate, data_format=self.data_format)
        else:
            outputs = self.convolution_op(inputs, kernel)
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1,) * (len(outputs.shape) - 1) + (-1,)))
        outputs = self.before_activation(outputs, training)
        return self.activation(outputs) if self.activation is not None else outputs

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)  # the kernel and bias, under Keras's numbered keys
        if self.built:
            for key, attribute in self.SAVED.items():
                store[key] = getattr(self, attribute)

    def load_own_variables(self, store: Any) -> None:
        # the layer's own loader reads its numbered keys, and checks that the file holds as many variables as the
        # layer has (the extra ones included)
        super().load_own_variables(store)
        if self.built:
            for key, attribute in self.SAVED.items():
                getattr(self, attribute).assign(store[key])
