"""A plain four-conv network with batch norm: the small, fast baseline between LeNet and the ResNets.

conv 3x3 -> BN -> ReLU, four times, max-pooling after each of the first three, global average pooling, one dense
layer. At 28x28 the default widths (32, 64, 128, 256) cost about 20 MFLOP per image forward.
"""

import keras

from keras_course.models import common
from keras_course.models.layers import BatchNormalization
from keras_course.models.registry import register

WIDTHS = (32, 64, 128, 256)


@register("cnn4_bn", "four 3x3 conv + batch norm layers, max-pooling, global average pooling (28/32 px images)",
          default_input_shape=(28, 28, 1), family="cnn", stages=("conv1", "conv2", "conv3", "conv4"),
          inner_convs=r"^conv\d$")  # no blocks: every conv
def cnn4_bn(*, input_shape, num_classes, width=1.0, dropout=0.0, normalization="rescale",
            classifier_activation="softmax", name="cnn4_bn"):
    """Four 3x3 convolutions (32, 64, 128, 256 channels x `width`) with batch norm and ReLU, 2x2 max-pooling after
    the first three, global average pooling, optional dropout, then the classifier.

    Args:
        input_shape: (height, width, channels), at least 8x8.
        num_classes: int. Output units.
        width: float. Multiplier on every layer's channels. Default 1.0.
        dropout: float in [0, 1). Dropout before the classifier. Default 0.
        normalization: "rescale", "none" or {"mean", "variance"}. Default "rescale" (raw 0-255 pixels in).
        classifier_activation: "softmax", "sigmoid" or None.
        name: str.
    """
    common.check_input_shape(input_shape, rank=3, min_size=8, model=name)
    common.check_head(num_classes, classifier_activation)
    common.check_width_and_dropout(width, dropout)
    normalization = common.check_normalization(normalization)
    inputs, x = common.model_input(input_shape, normalization)
    for i, filters in enumerate((common.scaled(c, width) for c in WIDTHS), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = BatchNormalization(name=f"conv{i}_bn")(x)
        x = keras.layers.ReLU(name=f"conv{i}_relu")(x)
        if i < len(WIDTHS):
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = common.classifier(x, num_classes, classifier_activation)
    return keras.Model(inputs, outputs, name=name)
