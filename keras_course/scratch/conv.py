"""2-D convolution and pooling in numpy (NHWC, TensorFlow's "valid"/"same" padding), and the size arithmetic.

"same" pads so that the output has ceil(n / stride) positions, putting the odd extra pixel after (bottom/right),
as TensorFlow does. Average pooling with "same" divides by the number of real pixels in each window, not by the
window size (TensorFlow's convention: padding does not count).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from keras_course._checks import check_choice, check_positive

if TYPE_CHECKING:
    from collections.abc import Sequence

PADDINGS = ("valid", "same")


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis; `padding` "valid", "same" or an int on each side."""
    for name, value in (("n", n), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        check_positive(name, value, integer=True)
    if padding == "same":
        return math.ceil(n / stride)
    extent = dilation * (kernel - 1) + 1
    pad = 0 if padding == "valid" else padding
    if not isinstance(pad, int) or isinstance(pad, bool) or pad < 0:
        raise ValueError(f"`padding` must be 'valid', 'same' or an int >= 0. Received: padding={padding!r}")
    if n + 2 * pad < extent:
        raise ValueError(f"A kernel spanning {extent} does not fit an input of {n} with padding {pad}.")
    return (n + 2 * pad - extent) // stride + 1


def receptive_field(layers: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """(receptive field, jump) of a stack of (kernel, stride) layers: how many input pixels one output sees, and
    how far apart neighbouring outputs' fields start. r <- r + (k - 1) * j; j <- j * s."""
    r, j = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * j
        j *= stride
    return r, j


def _same_padding(n, kernel, stride):
    total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def _windows(x, kernel, stride, padding, fill=0.0):
    """(n, out_h, out_w, c, kh, kw) views of the padded input."""
    check_choice("padding", padding, PADDINGS)
    (kh, kw), (sh, sw) = kernel, stride
    if x.ndim != 4:
        raise ValueError(f"`x` must be (batch, height, width, channels). Received: shape {x.shape}")
    if padding == "same":
        pads = [(0, 0), _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw), (0, 0)]
        x = np.pad(x, pads, constant_values=fill)
    if x.shape[1] < kh or x.shape[2] < kw:
        raise ValueError(f"A {kh}x{kw} window does not fit a {x.shape[1]}x{x.shape[2]} input with padding {padding!r}.")
    return sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    for v in pair:
        check_positive(name, v, integer=True)
    return pair


def conv2d(x: np.ndarray, kernel: np.ndarray, *, stride: int = 1, padding: str | int = "valid") -> np.ndarray:
    """Cross-correlation of x (batch, h, w, in) with kernel (kh, kw, in, out), as tf.nn.conv2d computes it."""
    x, kernel = np.asarray(x), np.asarray(kernel)
    if kernel.ndim != 4 or kernel.shape[2] != x.shape[-1]:
        raise ValueError(f"`kernel` must be (kh, kw, {x.shape[-1]}, out) for this input. Received: shape {kernel.shape}")
    windows = _windows(x, kernel.shape[:2], _pair(stride, "stride"), padding)
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel)


def max_pool2d(x: np.ndarray, pool_size: int = 2, *, stride: int | None = None,
               padding: str | int = "valid") -> np.ndarray:
    """Max over each window (padding never wins: it is -inf)."""
    x = np.asarray(x)
    size = _pair(pool_size, "pool_size")
    windows = _windows(x, size, _pair(stride or pool_size, "stride"), padding, fill=-np.inf)
    return windows.max(axis=(-2, -1))


def avg_pool2d(x: np.ndarray, pool_size: int = 2, *, stride: int | None = None,
               padding: str | int = "valid") -> np.ndarray:
    """Mean over the real pixels of each window."""
    x = np.asarray(x)
    size, strides = _pair(pool_size, "pool_size"), _pair(stride or pool_size, "stride")
    sums = _windows(x, size, strides, padding).sum(axis=(-2, -1))
    counts = _windows(np.ones_like(x[:1, ..., :1]), size, strides, padding).sum(axis=(-2, -1))
    return sums / counts
