"""AlexNet (Krizhevsky et al. 2012) in torchvision's single-tower layout: 61,100,840 parameters at 224 px."""

import keras

from keras_course.models import common
from keras_course.models.registry import register_variant
from keras_course.models.weights import check_weights, load_weights


def AlexNet(*, name="alexnet", stem="imagenet", include_top=True, weights=None, input_tensor=None, input_shape=None,
            pooling=None, num_classes=1000, classes=None, classifier_activation="softmax", dropout=0.5, width=1.0,
            normalization="none"):
    """AlexNet: five convolutions (11x11/4, 5x5, three 3x3), three max-pools, two 4096-unit layers with dropout.

    Args:
        stem: "imagenet" (11x11 stride-4 conv and a max-pool) or "small" (3x3 stride-1 conv, no early pool), which
            turns a 28x28 image into the same 6x6x256 map a 224 px image gives.
        dropout: float. Dropout before fc6 and fc7 (0.5 in the paper).
        Others: as in `resnet.ResNet`.
    """
    num_classes = common.check_family_options(
        name=name, include_top=include_top, pooling=pooling, stem=stem, dropout=dropout, width=width,
        num_classes=num_classes, classifier_activation=classifier_activation, classes=classes)
    check_weights(weights, name=name, include_top=include_top, num_classes=num_classes)
    small = stem == "small"
    inputs, x = common.image_input(input_shape, input_tensor, default_size=32 if small else 224,
                                   min_size=11 if small else 63, name=name, normalization=normalization, stem=stem)
    w = lambda c: common.scaled(c, width)  # noqa: E731
    if small:
        x = keras.layers.Conv2D(w(64), 3, padding="same", activation="relu", name="conv1")(x)
    else:
        x = keras.layers.ZeroPadding2D(2, name="conv1_pad")(x)
        x = keras.layers.Conv2D(w(64), 11, strides=4, activation="relu", name="conv1")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = keras.layers.Conv2D(w(192), 5, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = keras.layers.Conv2D(w(384), 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(w(256), 3, padding="same", activation="relu", name="conv4")(x)
    x = keras.layers.Conv2D(w(256), 3, padding="same", activation="relu", name="conv5")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    outputs = common.dense_top(x, layer_names=("fc6", "fc7"), units=w(4096), dropout=dropout, dropout_first=True,
                               include_top=include_top, pooling=pooling, num_classes=num_classes,
                               classifier_activation=classifier_activation)
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name=name, include_top=include_top)


alexnet = register_variant("alexnet", AlexNet, {}, description="AlexNet, torchvision's layout (61.1M parameters at "
                           "224 px)", default_input_shape=(224, 224, 3), family="alexnet",
                           stages=("conv1", "conv2", "conv3"),  # conv3-5 work at one resolution
                           inner_convs=r"^conv\d$")  # no blocks: every conv
