"""Quantization-aware training: the model trains through the rounding it will meet as a full-integer TFLite model.

`quantize_aware(model, weight_bits=8)` rebuilds a functional model so that
- every batch norm that follows a convolution or dense layer is folded into it first, as the TFLite converter folds
  it (kernel x gamma / sqrt(variance + epsilon), bias moved likewise), so the weights trained are the weights
  quantized;
- a pruned model's masks are kept (its zeros stay zero while it trains, as in compress.masked);
- every Conv and depthwise (multiplier 1) kernel is fake-quantized per output channel (a Dense kernel per
  tensor, as tfmot's default scheme does), symmetric, to `weight_bits` (8 or 4:
  levels -127..127 or -7..7 times max|w| / levels), its range the last training step's (kept in variables, so the
  saved graph holds constants the converter reads);
- every tensor the integer graph computes is fake-quantized to 8 bits over a moving min/max (an exponential average
  of the batches' ranges while training): after each layer but those a ReLU follows (TFLite fuses the ReLU into the
  layer before it), those that keep the range of their input (pooling by max, dropout, reshaping), and before a
  softmax, sigmoid or tanh (TFLite computes those on their own, over fixed output ranges).

`keras.quantizers.fake_quant_with_min_max_vars` lowers to TensorFlow's FakeQuant ops, which the TFLite converter
reads as the ranges of the integer model (export.to_tflite(int8=True)), so the converted model computes what the
fake-quantized Keras model computes, within a quantization step. A 4-bit kernel is then written as an 8-bit
FakeQuant whose step is the 4-bit one (its range 127 / 7 times wider): TFLite stores the 15 levels exactly in int8.
`strip` gives the plain model (folded, kernels on their grid).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from keras_course import _private
from keras_course._checks import check_choice
from keras_course.compress.kernel_layers import TransformedKernel, add_kernel_mask, masked_kernel
from keras_course.compress.pruning import strip as strip_masks
from keras_course.compress.rebuild import HANDLED, check_rebuildable, rebuild
from keras_course.models.common import layers_within

__all__ = ["ActivationQuantizer", "WEIGHT_BITS", "fold_batch_norms", "quantize_aware", "strip_quantization"]

WEIGHT_BITS = (8, 4)
EMA_DECAY = 0.99  # moving min/max: a fine-tuning of a few epochs must still settle
_RELU_LIKE = ("relu", "relu6", "linear")
_SEPARATE_ACTIVATIONS = ("softmax", "sigmoid", "tanh")
_SAME_RANGE = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D, keras.layers.Dropout,
               keras.layers.SpatialDropout2D, keras.layers.Flatten, keras.layers.Reshape, keras.layers.ZeroPadding2D,
               keras.layers.Identity, keras.layers.Cropping2D, keras.layers.GlobalMaxPooling2D)


@keras.saving.register_keras_serializable(package="keras_course")
class ActivationQuantizer(keras.layers.Layer):
    """8-bit fake quantization over a moving min/max of what passes through (per tensor, asymmetric). It computes
    in float32 under any policy: its ranges are float32, and so is TensorFlow's FakeQuant op."""

    def __init__(self, num_bits: int = 8, decay: float = EMA_DECAY, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.num_bits = int(num_bits)
        self.decay = float(decay)

    def build(self, input_shape: tuple | None) -> None:
        self.range_min = self.add_weight(name="range_min", shape=(), initializer="zeros", trainable=False)
        self.range_max = self.add_weight(name="range_max", shape=(), initializer="zeros", trainable=False)
        self.seen = self.add_weight(name="seen", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.cast(inputs, "float32")
        if training:
            low, high = ops.min(x), ops.max(x)
            first = ops.equal(self.seen, 0.0)
            self.range_min.assign(ops.where(first, low, self.decay * self.range_min + (1 - self.decay) * low))
            self.range_max.assign(ops.where(first, high, self.decay * self.range_max + (1 - self.decay) * high))
            self.seen.assign(1.0)
        # zero must be in range (the converter nudges it there too); an untrained quantizer passes [0, 1]
        low = ops.minimum(self.range_min, 0.0)
        high = ops.maximum(ops.maximum(self.range_max, 0.0), low + 1e-6)
        outputs = keras.quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=self.num_bits)
        return ops.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bits": self.num_bits, "decay": self.decay}


class _QuantizedKernel(TransformedKernel):
    """Mixin: the kernel fake-quantized per output channel to `weight_bits`, symmetric, narrow range; its range
    (max |w| of each channel) recorded while training; the logits before a separate activation quantized too."""

    SAVED = {"kernel_range": "kernel_range", "mask": "kernel_mask"}

    def __init__(self, *args, weight_bits: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_bits = int(check_choice("weight_bits", weight_bits, WEIGHT_BITS))

    def build(self, input_shape):
        super().build(input_shape)
        add_kernel_mask(self)  # a pruned model's zeros stay zero while it trains through the rounding
        channels = self._channels()
        self.kernel_range = self.add_weight(name="kernel_range", shape=(channels,), trainable=False,
                                            initializer="ones")
        self.kernel_range.assign(self._range_of(self.kernel))
        name = getattr(self.activation, "__name__", "linear")
        self.logits_quantizer = ActivationQuantizer(name=self.name + "_logits") if name in _SEPARATE_ACTIVATIONS \
            else None
        if self.logits_quantizer is not None:
            self.logits_quantizer.build(None)

    def _channel_axis(self):
        """The kernel's axis of output channels: the last; a depthwise kernel's input channels (multiplier 1); None
        for a Dense kernel, quantized per tensor (the converter cannot carry a per-channel FakeQuant through the
        transpose it puts before FULLY_CONNECTED; tfmot's default scheme quantizes Dense kernels per tensor too)."""
        if isinstance(self, keras.layers.Dense):
            return None
        return -2 if isinstance(self, keras.layers.DepthwiseConv2D) else -1

    def _channels(self):
        axis = self._channel_axis()
        return 1 if axis is None else tuple(self.kernel.shape)[axis]

    def _range_of(self, kernel):
        axis = self._channel_axis()
        if axis is None:
            return ops.reshape(ops.max(ops.abs(kernel)), (1,))
        axis += len(kernel.shape)
        return ops.max(ops.abs(kernel), axis=tuple(a for a in range(len(kernel.shape)) if a != axis))

    def transformed_kernel(self, training: bool | None = None) -> Any:
        return self.quantized_kernel(training)

    def before_activation(self, outputs: Any, training: bool | None = None) -> Any:
        return self.logits_quantizer(outputs, training=training) if self.logits_quantizer is not None else outputs

    def quantized_kernel(self, training=None):
        # on the kernel as it is (no reshape between the FakeQuant and the convolution: the converter needs them
        # adjacent to read the FakeQuant as the kernel's quantization)
        kernel = ops.cast(masked_kernel(self), "float32")
        if training:
            self.kernel_range.assign(self._range_of(kernel))
        levels = 2 ** (self.weight_bits - 1) - 1
        top = ops.maximum(self.kernel_range, 1e-8)
        axis = self._channel_axis()
        if axis is None:
            top = ops.reshape(top, ())
        kernel = keras.quantizers.fake_quant_with_min_max_vars(kernel, -top, top, num_bits=self.weight_bits,
                                                               narrow_range=True, axis=axis)
        if self.weight_bits < 8:  # the same values as an 8-bit kernel of the same step: how TFLite stores them
            wide = top * 127.0 / levels
            kernel = keras.quantizers.fake_quant_with_min_max_vars(kernel, -wide, wide, num_bits=8,
                                                                   narrow_range=True, axis=axis)
        return ops.cast(kernel, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "weight_bits": self.weight_bits}


@keras.saving.register_keras_serializable(package="keras_course")
class QuantizedDense(_QuantizedKernel, keras.layers.Dense):
    """keras.layers.Dense trained through its int8 (or int4) kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class QuantizedConv2D(_QuantizedKernel, keras.layers.Conv2D):
    """keras.layers.Conv2D (channels last) trained through its int8 (or int4) kernel."""


@keras.saving.register_keras_serializable(package="keras_course")
class QuantizedDepthwiseConv2D(_QuantizedKernel, keras.layers.DepthwiseConv2D):
    """keras.layers.DepthwiseConv2D (channels last) trained through its int8 (or int4) kernel."""


QUANTIZED = {keras.layers.Dense: QuantizedDense, keras.layers.Conv2D: QuantizedConv2D,
             keras.layers.DepthwiseConv2D: QuantizedDepthwiseConv2D}
PLAIN = {quantized: plain for plain, quantized in QUANTIZED.items()}


def _graph(model):
    """({layer name: [layers reading its output]}, {layer name: [layers it reads]}) over every functional graph
    inside `model`."""
    readers, sources = {}, {}
    for graph in [model, *(layer for layer in layers_within(model) if isinstance(layer, keras.Model))]:
        for layer in graph.layers:
            for node in _private.inbound_nodes(layer):
                for parent in node.parent_nodes:
                    readers.setdefault(parent.operation.name, []).append(layer)
                    sources.setdefault(layer.name, []).append(parent.operation)
    return readers, sources


def fold_batch_norms(model: keras.Model) -> keras.Model:
    """A copy of `model` with each batch norm that is the only reader of a Conv2D, DepthwiseConv2D or Dense layer
    folded into that layer (what the TFLite converter does at conversion): the same outputs in inference."""
    check_rebuildable(model, "batch-norm folding")
    readers, sources = _graph(model)
    folds = {}  # weighted layer name -> its batch norm
    for layer in layers_within(model):
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        (source,) = sources.get(layer.name, [None])[:1] or [None]
        if type(source) in QUANTIZED and len(readers.get(source.name, [])) == 1 and \
                getattr(source.activation, "__name__", "linear") == "linear" and layer.axis in (-1, len(layer.input.shape) - 1):
            folds[source.name] = layer
    folded_norms = {norm.name for norm in folds.values()}

    def replace(layer):
        if layer.name in folds:
            return type(layer).from_config({**layer.get_config(), "use_bias": True})
        return None

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in folded_norms else layer(*args, **kwargs)  # a folded norm: gone

    def weights(old, new):
        if old is None or old.name not in folds:
            return None
        norm = folds[old.name]
        kernel, *bias = old.get_weights()
        gamma = norm.gamma.numpy() if norm.scale else 1.0
        beta = norm.beta.numpy() if norm.center else 0.0
        factor = gamma / (norm.moving_variance.numpy() + norm.epsilon) ** 0.5
        bias = bias[0] if bias else 0.0
        if isinstance(old, keras.layers.DepthwiseConv2D):
            kernel = kernel * factor.reshape(kernel.shape[-2], kernel.shape[-1])
        else:
            kernel = kernel * factor
        return [kernel.astype("float32"), ((bias - norm.moving_mean.numpy()) * factor + beta).astype("float32")]

    return rebuild(model, replace=replace, call=call, weights=weights)


def _activation_name(layer):
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    if isinstance(layer, keras.layers.Activation):
        return getattr(layer.activation, "__name__", "")
    return None


def calibrate(aware: keras.Model, images: np.ndarray, *, batch_size: int = 128) -> keras.Model:
    """Set the quantizers' ranges of a quantization-aware model from `images` (forward passes that record ranges
    and update no weight; its batch norms are folded, so nothing else moves), so that training starts where
    post-training quantization would. Uncalibrated, every activation range is [0, 1]: resnet20 then predicted one
    class (0.10 test accuracy) and its fine-tuning diverged (loss 10 to 1,131 in two epochs)."""
    images = np.asarray(images, dtype="float32")
    if len(images) == 0:
        raise ValueError("`images` for calibration is empty: pass some training images.")
    for start in range(0, len(images), batch_size):
        aware(images[start:start + batch_size], training=True)
    return aware


def quantize_aware(model: keras.Model, weight_bits: int = 8, *, calibration: np.ndarray | None = None) -> keras.Model:
    """The quantization-aware copy of `model` (module doc): batch norms folded, kernels and activations
    fake-quantized, the ranges calibrated on `calibration` images when given (`calibrate`; recommended). Masks of
    a pruned model are applied first.

    Raises:
        ValueError: a weight_bits other than 8 or 4; a layer with weights it cannot quantize (named), such as a batch
            norm that does not follow a convolution.
    """
    check_choice("weight_bits", weight_bits, WEIGHT_BITS)
    masks = {layer.name: keras.ops.convert_to_numpy(layer.kernel_mask) for layer in layers_within(model)
             if hasattr(layer, "kernel_mask")}  # a pruned model's masks, kept (folding keeps their zeros)
    folded = fold_batch_norms(strip_masks(model))
    for layer in layers_within(folded):
        if layer.weights and type(layer) not in QUANTIZED and not isinstance(layer, keras.Model) and \
                not isinstance(layer, (keras.layers.Normalization,)):
            raise ValueError(f"Quantization-aware training cannot handle layer {layer.name!r} "
                             f"({type(layer).__name__}): it quantizes Conv2D, DepthwiseConv2D and Dense layers, and "
                             "batch norms that follow one of them.")
    readers, _ = _graph(folded)
    quantize_after = set()
    for layer in layers_within(folded):
        if isinstance(layer, (keras.layers.InputLayer, keras.Model)) or isinstance(layer, _SAME_RANGE):
            continue
        name = getattr(getattr(layer, "activation", None), "__name__", "linear")
        if type(layer) in QUANTIZED and name in _SEPARATE_ACTIVATIONS:
            continue  # its logits are quantized inside it, and the activation's range is fixed
        followers = readers.get(layer.name, [])
        if followers and all(_activation_name(f) in _RELU_LIKE for f in followers):
            continue  # TFLite fuses the ReLU into this layer: quantize after the ReLU
        if _activation_name(layer) in _SEPARATE_ACTIVATIONS:
            continue
        quantize_after.add(layer.name)
    quantizers = {}

    def replace(layer):
        if type(layer) in QUANTIZED:
            return QUANTIZED[type(layer)].from_config({**layer.get_config(), "weight_bits": weight_bits})
        return None

    def call(layer, *args, **kwargs):
        outputs = layer(*args, **kwargs)
        if layer.name in quantize_after:
            quantizers[layer.name] = quantizers.get(layer.name) or ActivationQuantizer(name=layer.name + "_quant")
            outputs = quantizers[layer.name](outputs)
        return outputs

    def weights(old, new):
        if type(new) not in PLAIN:
            return None
        new.kernel.assign(old.kernel)
        if new.use_bias:
            new.bias.assign(old.bias)
        if old.name in masks:
            new.kernel_mask.assign(masks[old.name])
        new.kernel_range.assign(new._range_of(new.kernel))
        return HANDLED

    aware = rebuild(folded, replace=replace, call=call, weights=weights)
    return aware if calibration is None else calibrate(aware, calibration)


def strip_quantization(model: keras.Model) -> keras.Model:
    """`model` without fake quantization: Keras's own layers, kernels on their quantized grid, no quantizers."""
    if not any(type(layer) in PLAIN or isinstance(layer, ActivationQuantizer) for layer in layers_within(model)):
        return model
    kernels = {layer.name: keras.ops.convert_to_numpy(layer.quantized_kernel())
               for layer in layers_within(model) if type(layer) in PLAIN}

    def replace(layer):
        if type(layer) in PLAIN:
            config = {k: v for k, v in layer.get_config().items() if k != "weight_bits"}
            return PLAIN[type(layer)].from_config(config)
        return None

    def call(layer, *args, **kwargs):
        return args[0] if isinstance(layer, ActivationQuantizer) else layer(*args, **kwargs)

    def weights(old, new):
        if old is not None and old.name in kernels:
            return [kernels[old.name], *([old.bias.numpy()] if old.use_bias else [])]
        return None

    return rebuild(model, replace=replace, call=call, weights=weights)

