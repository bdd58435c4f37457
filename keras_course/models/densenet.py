"""DenseNet (Huang et al. 2017): the ImageNet DenseNet-121/169/201 and the CIFAR DenseNet-BC-100 (k = 12).

Layer names follow keras.applications (`conv2_block1_1_conv`, `pool2_conv`, `bn`, `avg_pool`, `predictions`);
densenet121/169/201 reproduce keras's models exactly so their weights load.
"""

import keras

from keras_course.models import common
from keras_course.models.layers import BatchNormalization
from keras_course.models.registry import register_variant
from keras_course.models.weights import check_weights, load_weights

BN_EPSILON = 1.001e-5


def _bn_relu(x, name):
    x = BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x, growth_rate, *, name):
    """BN-ReLU-1x1 (4k) → BN-ReLU-3x3 (k), concatenated to the input: one bottleneck layer of a dense block."""
    y = _bn_relu(x, f"{name}_0")
    y = keras.layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = keras.layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return keras.layers.Concatenate(name=f"{name}_concat")([x, y])


def transition_block(x, compression, *, name):
    """BN-ReLU-1x1 conv keeping `compression` of the channels, then 2x2 average pooling."""
    x = _bn_relu(x, name)
    x = keras.layers.Conv2D(int(int(x.shape[-1]) * compression), 1, use_bias=False, name=f"{name}_conv")(x)
    return keras.layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def DenseNet(*, name, blocks, growth_rate=32, compression=0.5, stem="imagenet", stem_filters=None, include_top=True,
             weights=None, input_tensor=None, input_shape=None, pooling=None, num_classes=1000, classes=None,
             classifier_activation="softmax", dropout=0.0, width=1.0, normalization="none", default_size=224):
    """The general DenseNet builder.

    Args:
        blocks: tuple of int. Bottleneck layers per dense block, e.g. (6, 12, 24, 16) for DenseNet-121.
        growth_rate: int. Channels each layer adds (k); `width` scales it.
        compression: float in (0, 1]. Channels kept by each transition.
        stem: "imagenet" (7x7/2 conv, BN-ReLU, 3x3/2 max-pool) or "small" (one 3x3 conv, as in the CIFAR nets).
        stem_filters: int or None. Stem channels (default 2k, which is 64 for k = 32).
        Others: as in `resnet.ResNet`.
    """
    num_classes = common.check_family_options(
        name=name, include_top=include_top, pooling=pooling, stem=stem, dropout=dropout, width=width,
        num_classes=num_classes, classifier_activation=classifier_activation, classes=classes)
    if not 0 < compression <= 1:
        raise ValueError(f"`compression` must be in (0, 1]. Received: compression={compression!r}")
    check_weights(weights, name=name, include_top=include_top, num_classes=num_classes)
    min_size = 32 if stem == "imagenet" else 2 ** (len(blocks) - 1)
    inputs, x = common.image_input(input_shape, input_tensor, default_size=default_size, min_size=min_size,
                                   name=name, normalization=normalization, stem=stem)
    k = common.scaled(growth_rate, width)
    stem_filters = common.scaled(stem_filters, width) if stem_filters else 2 * k
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
        x = keras.layers.Conv2D(stem_filters, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = _bn_relu(x, "conv1")
        x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    else:
        x = keras.layers.Conv2D(stem_filters, 3, padding="same", use_bias=False, name="conv1_conv")(x)
    for i, n in enumerate(blocks):
        for j in range(n):
            x = conv_block(x, k, name=f"conv{i + 2}_block{j + 1}")
        if i < len(blocks) - 1:
            x = transition_block(x, compression, name=f"pool{i + 2}")
    x = BatchNormalization(epsilon=BN_EPSILON, name="bn")(x)
    x = keras.layers.Activation("relu", name="relu")(x)
    outputs = common.global_top(x, include_top=include_top, pooling=pooling, num_classes=num_classes,
                                classifier_activation=classifier_activation, dropout=dropout)
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name=name, include_top=include_top)


VARIANTS = {
    "densenet121": dict(blocks=(6, 12, 24, 16)),
    "densenet169": dict(blocks=(6, 12, 32, 32)),
    "densenet201": dict(blocks=(6, 12, 48, 32)),
    "densenet_bc_100": dict(blocks=(16, 16, 16), growth_rate=12, stem="small", default_size=32),
}


# our name: (keras.applications twin, stem of its ImageNet weight files, the preprocessing those weights expect)
TWINS = {"densenet121": ("DenseNet121", "densenet121", "torch"), "densenet169": ("DenseNet169", "densenet169", "torch"),
         "densenet201": ("DenseNet201", "densenet201", "torch")}


def _metadata(name, spec):
    twin, stem, preprocessing = TWINS.get(name, (None, None, "rescale"))
    if spec.get("stem") == "small":
        text = f"DenseNet-BC (L=100, k={spec['growth_rate']}), CIFAR layout (Huang et al. 2017)"
    else:
        text = f"DenseNet, blocks {spec['blocks']}, growth {spec.get('growth_rate', 32)}{f', keras twin {twin}' if twin else ''}"
    size = spec.get("default_size", 224)
    # inside a dense layer: the 1x1 bottleneck; its 3x3 conv's output joins the concatenation the block shares
    return dict(description=text, default_input_shape=(size, size, 3), family="densenet", keras_twin=twin,
                imagenet_file=stem, preprocessing=preprocessing,
                stages=tuple(f"conv{i}" for i in range(1, len(spec["blocks"]) + 2)),
                inner_convs=r"^conv\d+_block\d+_1_conv$")


BUILDERS = {name: register_variant(name, DenseNet, spec, **_metadata(name, spec)) for name, spec in VARIANTS.items()}
