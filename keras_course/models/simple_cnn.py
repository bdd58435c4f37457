"""The smallest convolutional network: one convolution, ReLU, max-pooling, then a dense layer that votes.

The workshop's X-versus-O network. Its kernels can be set by hand (`kernels`) and frozen (`train_kernels=False`),
so that only the vote is learned: the three +-1 line detectors of the deck recognise X and O without learning a
single filter.
"""

import keras
import numpy as np

from keras_course._checks import check_positive
from keras_course.models import common
from keras_course.models.registry import register


@register("simple_cnn", "one conv layer (kernels settable by hand), ReLU, max-pooling, dense: the X-vs-O network",
          default_input_shape=(16, 16, 1), family="simple_cnn", stages=("conv",), inner_convs=r"^conv$")
def simple_cnn(*, input_shape, num_classes, filters=3, kernel_size=3, pool_size=2, kernels=None, train_kernels=True,
               normalization="rescale", classifier_activation="softmax", name="simple_cnn"):
    """conv (no bias, 'valid') -> ReLU -> max-pool -> flatten -> classifier.

    Args:
        input_shape: (height, width, channels).
        num_classes: int. Output units.
        filters, kernel_size, pool_size: ints. Ignored `filters`/`kernel_size` when `kernels` is given.
        kernels: None (learned from a Glorot start) or a list of 2-D grids, one per filter, all the same size; each
            is applied to every input channel.
        train_kernels: bool. False freezes the convolution (hand-set kernels stay as given).
        normalization: "rescale" (0-255 -> 0-1), "none" or {"mean", "variance"} (e.g. 127.5 and 127.5^2 for -1..1).
    """
    common.check_input_shape(input_shape, rank=3, model=name)
    common.check_head(num_classes, classifier_activation)
    if kernels is not None:
        grids = np.asarray(kernels, dtype="float32")
        if grids.ndim != 3 or grids.shape[1] != grids.shape[2]:
            raise ValueError("`kernels` must be a list of square grids of one size, e.g. [[[1, -1], [-1, 1]]]. "
                             f"Received: shape {grids.shape}")
        filters, kernel_size = grids.shape[0], grids.shape[1]
    for argument, value in (("filters", filters), ("kernel_size", kernel_size), ("pool_size", pool_size)):
        check_positive(argument, value, integer=True)
    if min(input_shape[:2]) < kernel_size + pool_size - 1:
        raise ValueError(f"{name}: a {kernel_size}x{kernel_size} kernel and {pool_size}x{pool_size} pooling need an "
                         f"input of at least {kernel_size + pool_size - 1} pixels. Received: input_shape={input_shape!r}")
    normalization = common.check_normalization(normalization)
    inputs, x = common.model_input(input_shape, normalization)
    conv = keras.layers.Conv2D(filters, kernel_size, use_bias=False, trainable=train_kernels, name="conv")
    x = keras.layers.ReLU(name="conv_relu")(conv(x))
    x = keras.layers.MaxPooling2D(pool_size, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = common.classifier(x, num_classes, classifier_activation)
    model = keras.Model(inputs, outputs, name=name)
    if kernels is not None:  # (filters, k, k) -> (k, k, channels, filters), the same grid on every channel
        conv.set_weights([np.repeat(np.transpose(grids, (1, 2, 0))[:, :, None, :], input_shape[-1], axis=2)])
    return model
