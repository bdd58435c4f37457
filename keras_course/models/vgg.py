"""VGG (Simonyan & Zisserman 2014): 11, 13, 16 and 19 weight layers, plain or with batch norm.

Layer names follow keras.applications (`block1_conv1`, `block1_pool`, `flatten`, `fc1`, `fc2`, `predictions`);
vgg16 and vgg19 reproduce keras's VGG16/VGG19 exactly so their weights load.
"""

import keras

from keras_course.models import common
from keras_course.models.layers import BatchNormalization
from keras_course.models.registry import register_variant
from keras_course.models.weights import check_weights, load_weights

FILTERS = (64, 128, 256, 512, 512)


def conv_block(x, filters, convs, *, batch_norm, pool, name):
    """`convs` 3x3 convolutions (ReLU, optional batch norm) then a 2x2 max-pool, named like keras's VGG."""
    for i in range(1, convs + 1):
        layer = f"{name}_conv{i}"
        if batch_norm:
            x = keras.layers.Conv2D(filters, 3, padding="same", name=layer)(x)
            x = BatchNormalization(name=f"{layer}_bn")(x)
            x = keras.layers.Activation("relu", name=f"{layer}_relu")(x)
        else:
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer)(x)
    return keras.layers.MaxPooling2D(2, strides=2, name=f"{name}_pool")(x) if pool else x


def VGG(*, name, convs, batch_norm=False, stem="imagenet", fc_units=None, include_top=True, weights=None,
        input_tensor=None, input_shape=None, pooling=None, num_classes=1000, classes=None,
        classifier_activation="softmax", dropout=None, width=1.0, normalization="none"):
    """The general VGG builder.

    Args:
        convs: tuple of 5 ints. 3x3 convolutions per block (VGG-16: (2, 2, 3, 3, 3)).
        batch_norm: bool. Batch norm after every convolution (the "_bn" variants).
        stem: "imagenet" (five max-pools, 224 px) or "small" (the first block's pool dropped, so 28 px works).
        fc_units: int or None. Units of fc1 and fc2; default 4096 (ImageNet) or 512 (small stem, the CIFAR habit).
        dropout: float or None. Dropout after fc1 and fc2; default 0.5 for the small stem, 0 otherwise
            (keras's VGG has none, and parity with it needs none).
        include_top, weights, input_tensor, input_shape, pooling, num_classes (alias classes),
        classifier_activation, width, normalization: as in `resnet.ResNet`.
    """
    small = stem == "small"
    dropout = (0.5 if small else 0.0) if dropout is None else dropout
    num_classes = common.check_family_options(
        name=name, include_top=include_top, pooling=pooling, stem=stem, dropout=dropout, width=width,
        num_classes=num_classes, classifier_activation=classifier_activation, classes=classes)
    fc_units = fc_units or (512 if small else 4096)
    check_weights(weights, name=name, include_top=include_top, num_classes=num_classes)
    inputs, x = common.image_input(input_shape, input_tensor, default_size=32 if small else 224,
                                   min_size=16 if small else 32, name=name, normalization=normalization, stem=stem)
    for b, (filters, n) in enumerate(zip(FILTERS, convs), start=1):
        x = conv_block(x, common.scaled(filters, width), n, batch_norm=batch_norm, pool=not (small and b == 1),
                       name=f"block{b}")
    outputs = common.dense_top(x, layer_names=("fc1", "fc2"), units=common.scaled(fc_units, width), dropout=dropout,
                               dropout_first=False, include_top=include_top, pooling=pooling, num_classes=num_classes,
                               classifier_activation=classifier_activation)
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name=name, include_top=include_top)


CONVS = {"vgg11": (1, 1, 2, 2, 2), "vgg13": (2, 2, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
VARIANTS = {**{n: dict(convs=c) for n, c in CONVS.items()},
            **{f"{n}_bn": dict(convs=c, batch_norm=True) for n, c in CONVS.items()}}


# our name: (keras.applications twin, stem of its ImageNet weight files, the preprocessing those weights expect)
TWINS = {"vgg16": ("VGG16", "vgg16", "caffe"), "vgg19": ("VGG19", "vgg19", "caffe")}


def _metadata(name, spec):
    twin, stem, preprocessing = TWINS.get(name, (None, None, "rescale"))
    text = f"VGG, {sum(spec['convs']) + 3} weight layers{' with batch norm' if spec.get('batch_norm') else ''}"
    return dict(description=text + (f", keras twin {twin}" if twin else ""), default_input_shape=(224, 224, 3),
                family="vgg", keras_twin=twin, imagenet_file=stem, preprocessing=preprocessing,
                stages=tuple(f"block{i}" for i in range(1, 6)), inner_convs=r"^block\d+_conv\d+$")  # no blocks


BUILDERS = {name: register_variant(name, VGG, spec, **_metadata(name, spec)) for name, spec in VARIANTS.items()}
