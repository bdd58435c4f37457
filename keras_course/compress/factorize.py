"""Low-rank factorization: a Dense or Conv kernel replaced by the product of two thinner ones (truncated SVD).

A Dense kernel W (m x n) becomes U_r S_r^(1/2) (m x r) then S_r^(1/2) V_r^T (r x n): two Dense layers, the first
linear and without bias. A k x k convolution from c to n channels is the same matrix (k*k*c x n) factorized: a k x k
convolution to r channels (the strides, padding and dilation of the original), then a 1 x 1 convolution to n with
the bias and activation (Zhang et al. 2015's channel decomposition). r(m + n) weights replace m * n, so a rank below
mn / (m + n) saves; at full rank, min(m, n), the product is W itself and the model computes what it did.

The rank is set per layer: explicitly, or by the fraction `kept` of the layer's weights, r = floor(kept * mn / (m + n)).
Which layers: those matching `layers`, or by default every Dense and Conv layer (groups of 1) but the first one,
which sees the input and has few weights, and the classifier, whose rank bounds the classes it can tell apart.
Then fine-tune (compress.factorize_phase).
"""

from __future__ import annotations

import re

import keras
import numpy as np

from keras_course._checks import check_range
from keras_course.compress.pruning import strip
from keras_course.compress.rebuild import check_rebuildable, rebuild
from keras_course.models.common import layers_within

__all__ = ["factorizable_layers", "factorize", "layer_rank"]

SUFFIX = "_lowrank"  # the first of the two layers; the second keeps the original's name
_KINDS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def _factorizable(layer):
    return type(layer) in _KINDS and getattr(layer, "groups", 1) == 1  # Keras's own classes, not subclasses


def _matrix_shape(layer):
    """(m, n) of the layer's kernel seen as a matrix: inputs (k*k*c for a conv) by outputs."""
    shape = tuple(layer.kernel.shape)
    return int(np.prod(shape[:-1])), int(shape[-1])


def factorizable_layers(model: keras.Model, layers: str | None = None) -> list:
    """The names of the layers `factorize` would factorize: those matching the regex `layers`, or by default every
    Dense and Conv layer but the first weighted one and the one named "predictions"."""
    candidates = [layer for layer in layers_within(model) if _factorizable(layer)]
    if layers is not None:
        return [layer.name for layer in candidates if re.search(layers, layer.name)]
    weighted = [layer for layer in layers_within(model) if getattr(layer, "kernel", None) is not None]
    first = weighted[0].name if weighted else None
    return [layer.name for layer in candidates if layer.name not in (first, "predictions")]


def layer_rank(m: int, n: int, kept: float) -> int:
    """The rank that keeps about the fraction `kept` of an m x n kernel's weights (at least 1)."""
    return max(1, int(kept * m * n / (m + n)))


def factorize(model: keras.Model, kept: float | None = 0.5, *, rank: int | None = None,
              layers: str | None = None) -> keras.Model:
    """A copy of `model` with its factorizable layers (see `factorizable_layers`) each split in two by truncated
    SVD at `rank`, or at the rank that keeps the fraction `kept` of their weights. Layers where that rank would
    not save a weight (it is at least m*n/(m+n)) are left whole when the rank comes from `kept`.

    Raises:
        ValueError: `kept` outside (0, 1]; `rank` below 1 or above a layer's full rank (naming it); no layer to
            factorize; a model that is not functional.
    """
    check_rebuildable(model, "factorization")
    if rank is None:
        check_range("kept", kept, 0, 1, low_open=True, high_open=False, example=0.5)
    elif isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"`rank` must be an int >= 1 (or None to set it from `kept`). Received: rank={rank!r}")
    model = strip(model)  # masks would not survive the split: factorize the pruned weights themselves
    by_name = {layer.name: layer for layer in layers_within(model)}
    split, factors = {}, {}
    for name in factorizable_layers(model, layers):
        layer = by_name[name]
        m, n = _matrix_shape(layer)
        if rank is not None and rank > min(m, n):
            raise ValueError(f"rank={rank} exceeds the full rank of layer {name!r} ({min(m, n)}: a {m} x {n} "
                             f"kernel); choose rank <= {min(m, n)} or pick layers with `layers`.")
        r = rank if rank is not None else layer_rank(m, n, kept)
        if rank is None and r * (m + n) >= m * n:
            continue
        split[name] = _split_layer(layer, r)
        factors[name] = _factors(keras.ops.convert_to_numpy(layer.kernel), r)
    if not split:
        raise ValueError(f"No layer of {model.name!r} to factorize (layers={layers!r}, kept={kept!r}, "
                         f"rank={rank!r}): choose layers with `layers`, or a smaller `kept`.")

    def weights(old, new):
        if new.name.endswith(SUFFIX) and new.name[:-len(SUFFIX)] in factors:
            return [factors[new.name[:-len(SUFFIX)]][0]]
        if new.name in factors:
            return [factors[new.name][1], *old.get_weights()[1:]]
        return None

    return rebuild(model, split=split, weights=weights)


def _split_layer(layer, r):
    """(first, second): the rank-r layer without bias or activation, then the original's outputs from it."""
    config = layer.get_config()
    first = {**config, "name": layer.name + SUFFIX, "use_bias": False, "activation": None,
             "kernel_regularizer": None, "kernel_constraint": None, "bias_regularizer": None,
             "activity_regularizer": None}
    if isinstance(layer, keras.layers.Dense):
        first["units"] = r
        second = dict(config)
    else:
        first["filters"] = r
        ones = (1,) * len(layer.kernel_size)
        second = {**config, "kernel_size": ones, "strides": ones, "padding": "valid", "dilation_rate": ones}
    return type(layer).from_config(first), type(layer).from_config(second)


def _factors(kernel, r):
    """The two kernels whose product is the best rank-r approximation of `kernel` (its matrix form)."""
    *spatial_and_inputs, n = kernel.shape
    u, s, vt = np.linalg.svd(kernel.reshape(-1, n).astype("float64"), full_matrices=False)
    root = np.sqrt(s[:r])
    first = (u[:, :r] * root).reshape(*spatial_and_inputs, r)
    second = (root[:, None] * vt[:r])
    if len(spatial_and_inputs) > 1:  # a conv: the second is a 1x1 kernel
        second = second.reshape(*(1,) * (len(spatial_and_inputs) - 1), r, n)
    return first.astype("float32"), second.astype("float32")
