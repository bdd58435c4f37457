"""Quantization by name: post-training int8 (the converter's, calibrated) and int4 weights, and quantization-aware
training at 8 and 4 bits (compress.qat).

Post-training int8 is full-integer TFLite (export.to_tflite(int8=True)): weights per channel and activations per
tensor, calibrated on a few hundred training images. Post-training int4 rounds every Conv, Dense and depthwise
kernel to 15 levels per output channel, symmetric (q in [-7, 7] times max|w| / 7: the narrow range TFLite uses for
int8), and then converts as int8: TFLite has no 4-bit kernels, so the file stores the 4-bit grid in int8 and its
size is what it is, while the report counts those kernels at 4 bits (compress.report's `weight_bits`).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_course._checks import check_choice
from keras_course.compress.pruning import strip
from keras_course.compress.rebuild import rebuild

__all__ = ["MODES", "WEIGHT_BITS", "check_mode", "fake_quantize_kernel", "is_aware", "quantize_for", "quantize_weights"]

MODES = ("ptq8", "ptq4", "qat8", "qat4")
WEIGHT_BITS = {"ptq8": 8, "ptq4": 4, "qat8": 8, "qat4": 4}
_KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
                  keras.layers.DepthwiseConv2D)


def check_mode(mode: str) -> str:
    return check_choice("quantize", mode, MODES)


def fake_quantize_kernel(kernel: np.ndarray, bits: int, *, depthwise: bool = False) -> np.ndarray:
    """`kernel` rounded to 2^(bits-1) - 1 symmetric levels per output channel (the last axis; for a depthwise
    kernel (k, k, channels, multiplier), each channel-multiplier pair), as float32."""
    levels = 2 ** (bits - 1) - 1
    shaped = kernel.reshape(*kernel.shape[:-2], -1) if depthwise else kernel
    reduce_axes = tuple(range(shaped.ndim - 1))
    scale = np.max(np.abs(shaped), axis=reduce_axes, keepdims=True) / levels
    scale = np.where(scale > 0, scale, 1.0)
    quantized = np.clip(np.round(shaped / scale), -levels, levels) * scale
    return quantized.reshape(kernel.shape).astype("float32")


def quantize_weights(model: keras.Model, bits: int = 4) -> keras.Model:
    """A copy of `model` (masks applied) whose Conv, Dense and depthwise kernels are on a `bits`-bit symmetric
    per-channel grid; biases and batch norm stay float (the converter folds and quantizes them)."""
    model = strip(model)

    def weights(old, new):
        if not isinstance(old, _KERNEL_LAYERS):
            return None
        kernel, *rest = old.get_weights()
        return [fake_quantize_kernel(kernel, bits, depthwise=isinstance(old, keras.layers.DepthwiseConv2D)), *rest]

    return rebuild(model, weights=weights)


def is_aware(mode: str) -> bool:
    """Whether `mode` trains (quantization-aware) rather than rounds a trained model."""
    return check_mode(mode).startswith("qat")


def quantize_for(model: keras.Model, mode: str, *, calibration: np.ndarray | None = None) -> keras.Model:
    """The model a quantization mode starts from: the quantization-aware copy (qat8, qat4, to be fine-tuned; its
    ranges calibrated on `calibration` images when given), the kernels on a 4-bit grid (ptq4), or the model itself
    (ptq8: the converter quantizes it)."""
    from keras_course.compress.qat import quantize_aware

    bits = WEIGHT_BITS[check_mode(mode)]
    if is_aware(mode):
        return quantize_aware(model, bits, calibration=calibration)
    return quantize_weights(model, bits) if bits < 8 else model
