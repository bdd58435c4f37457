"""LeNet-5 (LeCun et al. 1998) and its modern form with ReLU, batch norm, max-pooling and dropout."""

import keras

from keras_course._checks import check_choice
from keras_course.models import common
from keras_course.models.layers import BatchNormalization
from keras_course.models.registry import register

MIN_SIZE = 12  # two 2x2 poolings around a valid 5x5 conv need 12 px when the first conv is "same"-padded
PADDINGS = ("auto", "same", "valid")


def _first_padding(input_shape, padding):
    """The 1998 net takes 32x32 with a valid first conv; 28x28 images get a "same" first conv to keep 5x5x16."""
    check_choice("first_padding", padding, PADDINGS)
    if padding != "auto":
        return padding
    return "valid" if min(input_shape[:2]) >= 32 else "same"


def _lenet(*, input_shape, num_classes, modern, width, dropout, first_padding, normalization, classifier_activation,
           name):
    common.check_input_shape(input_shape, rank=3, min_size=MIN_SIZE, model=name)
    common.check_head(num_classes, classifier_activation)
    common.check_width_and_dropout(width, dropout)
    normalization = common.check_normalization(normalization)
    padding = _first_padding(input_shape, first_padding)
    if padding == "valid" and min(input_shape[:2]) < 32:
        raise ValueError(f"{name} with first_padding='valid' needs at least 32x32 inputs. Received: input_shape={input_shape}")
    channels = [max(1, int(round(c * width))) for c in (6, 16)]
    units = [max(1, int(round(u * width))) for u in (120, 84)]

    inputs, x = common.model_input(input_shape, normalization)
    activation = "relu" if modern else "tanh"
    pool = keras.layers.MaxPooling2D if modern else keras.layers.AveragePooling2D
    for i, (filters, pad) in enumerate(zip(channels, (padding, "valid")), start=1):
        x = keras.layers.Conv2D(filters, 5, padding=pad, use_bias=not modern, name=f"conv{i}")(x)
        if modern:
            x = BatchNormalization(name=f"conv{i}_bn")(x)
        x = keras.layers.Activation(activation, name=f"conv{i}_{activation}")(x)
        x = pool(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, n in enumerate(units, start=1):
        if modern and dropout:
            x = keras.layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
        x = keras.layers.Dense(n, use_bias=not modern, name=f"fc{i}")(x)
        if modern:
            x = BatchNormalization(name=f"fc{i}_bn")(x)
        x = keras.layers.Activation(activation, name=f"fc{i}_{activation}")(x)
    outputs = common.classifier(x, num_classes, classifier_activation)
    return keras.Model(inputs, outputs, name=name)


@register("lenet5", "LeNet-5, the 1998 layout (tanh, average pooling): 61,706 parameters at 32x32x1, 10 classes",
          default_input_shape=(32, 32, 1), family="lenet", stages=("conv1", "conv2", "fc1"), inner_convs=r"^conv\d$")
def lenet5(*, input_shape, num_classes, width=1.0, first_padding="auto", normalization="rescale",
           classifier_activation="softmax", name="lenet5"):
    """LeNet-5 as in LeCun et al. 1998: 6@5x5, pool, 16@5x5, pool, 120, 84, classes.

    Args:
        input_shape: (height, width, channels), at least 12x12; 32x32 is the original.
        num_classes: int. Output units.
        width: float. Multiplier on every layer's channels and units. Default 1.0.
        first_padding: "auto", "same" or "valid". "auto": valid at >= 32 px, same below (28x28 keeps 5x5x16).
        normalization: "rescale", "none" or {"mean", "variance"}. Default "rescale" (raw 0–255 pixels in).
        classifier_activation: "softmax", "sigmoid" or None.
        name: str.
    """
    return _lenet(input_shape=input_shape, num_classes=num_classes, modern=False, width=width, dropout=0.0,
                  first_padding=first_padding, normalization=normalization,
                  classifier_activation=classifier_activation, name=name)


@register("lenet5_bn", "LeNet-5, modern form: ReLU, batch norm, max-pooling, dropout", default_input_shape=(32, 32, 1),
          family="lenet", stages=("conv1", "conv2", "fc1"), inner_convs=r"^conv\d$")
def lenet5_bn(*, input_shape, num_classes, width=1.0, dropout=0.25, first_padding="auto", normalization="rescale",
              classifier_activation="softmax", name="lenet5_bn"):
    """LeNet-5 with the habits that came after it: batch norm, ReLU, max-pooling and dropout before the dense layers.

    Args: as `lenet5`, plus
        dropout: float in [0, 1). Dropout before each fully connected layer. Default 0.25.
    """
    return _lenet(input_shape=input_shape, num_classes=num_classes, modern=True, width=width, dropout=dropout,
                  first_padding=first_padding, normalization=normalization,
                  classifier_activation=classifier_activation, name=name)
