"""GoogLeNet / Inception v1 (Szegedy et al. 2014), with batch norm by default and the auxiliary heads optional."""

import keras

from keras_course.models import common
from keras_course.models.layers import BatchNormalization
from keras_course.models.registry import register_variant
from keras_course.models.weights import check_weights, load_weights

# module name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection), from the paper's table 1
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = {"3b": "pool3", "4e": "pool4"}
AUX_AFTER = ("4a", "4d")


def conv(x, filters, kernel, *, strides=1, batch_norm, name):
    """Conv (+ batch norm) + ReLU; without batch norm the conv keeps its bias, as in the paper."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def inception_module(x, spec, *, batch_norm, width, name):
    """Four parallel branches — 1x1, 1x1→3x3, 1x1→5x5, 3x3 max-pool→1x1 — concatenated."""
    f1, r3, f3, r5, f5, fp = (common.scaled(c, width) for c in spec)
    b1 = conv(x, f1, 1, batch_norm=batch_norm, name=f"{name}_1x1")
    b3 = conv(conv(x, r3, 1, batch_norm=batch_norm, name=f"{name}_3x3_reduce"), f3, 3, batch_norm=batch_norm,
              name=f"{name}_3x3")
    b5 = conv(conv(x, r5, 1, batch_norm=batch_norm, name=f"{name}_5x5_reduce"), f5, 5, batch_norm=batch_norm,
              name=f"{name}_5x5")
    bp = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = conv(bp, fp, 1, batch_norm=batch_norm, name=f"{name}_pool_proj")
    return keras.layers.Concatenate(name=f"{name}_output")([b1, b3, b5, bp])


def aux_head(x, num_classes, classifier_activation, *, batch_norm, name):
    """The paper's auxiliary classifier: 5x5/3 average pool, 1x1 conv (128), fc 1024, dropout 0.7, classes."""
    x = keras.layers.AveragePooling2D(5, strides=3, padding="same", name=f"{name}_pool")(x)
    x = conv(x, 128, 1, batch_norm=batch_norm, name=f"{name}_conv")
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(x)


def GoogLeNet(*, name="googlenet", stem="imagenet", aux_logits=False, batch_norm=True, include_top=True,
              weights=None, input_tensor=None, input_shape=None, pooling=None, num_classes=1000, classes=None,
              classifier_activation="softmax", dropout=0.4, width=1.0, normalization="none"):
    """GoogLeNet (Inception v1).

    Args:
        stem: "imagenet" (7x7/2 conv, pool, 1x1 and 3x3 convs, pool) or "small" (one 3x3 conv of 192, no pooling).
        aux_logits: bool. Add the two auxiliary classifiers (after 4a and 4d); the model then has three outputs
            [main, aux1, aux2] for training with loss weights (the paper used 0.3 for each auxiliary).
        batch_norm: bool. Batch norm after every convolution (the paper predates it; torchvision adds it too).
        dropout: float. Dropout before the classifier (0.4 in the paper).
        Others: as in `resnet.ResNet`.
    """
    num_classes = common.check_family_options(
        name=name, include_top=include_top, pooling=pooling, stem=stem, dropout=dropout, width=width,
        num_classes=num_classes, classifier_activation=classifier_activation, classes=classes)
    if aux_logits and not include_top:
        raise ValueError("`aux_logits=True` needs include_top=True (the auxiliary heads are classifiers).")
    check_weights(weights, name=name, include_top=include_top, num_classes=num_classes)
    small = stem == "small"
    inputs, x = common.image_input(input_shape, input_tensor, default_size=32 if small else 224,
                                   min_size=4 if small else 32, name=name, normalization=normalization, stem=stem)
    if small:
        x = conv(x, common.scaled(192, width), 3, batch_norm=batch_norm, name="conv1_3x3")
    else:
        x = conv(x, common.scaled(64, width), 7, strides=2, batch_norm=batch_norm, name="conv1_7x7_s2")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
        x = conv(x, common.scaled(64, width), 1, batch_norm=batch_norm, name="conv2_3x3_reduce")
        x = conv(x, common.scaled(192, width), 3, batch_norm=batch_norm, name="conv2_3x3")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    aux = []
    for module, spec in INCEPTION.items():
        x = inception_module(x, spec, batch_norm=batch_norm, width=width, name=f"inception_{module}")
        if aux_logits and module in AUX_AFTER:
            aux.append(aux_head(x, num_classes, classifier_activation, batch_norm=batch_norm,
                                name=f"aux{len(aux) + 1}"))
        if module in POOL_AFTER:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=POOL_AFTER[module])(x)
    outputs = common.global_top(x, include_top=include_top, pooling=pooling, num_classes=num_classes,
                                classifier_activation=classifier_activation, dropout=dropout)
    model = keras.Model(inputs, [outputs, *aux] if aux else outputs, name=name)
    return load_weights(model, weights, name=name, include_top=include_top)


googlenet = register_variant("googlenet", GoogLeNet, {}, description="GoogLeNet / Inception v1 with batch norm; "
                             "auxiliary heads optional", default_input_shape=(224, 224, 3), family="googlenet",
                             stages=("conv1", "conv2", "inception_3", "inception_4", "inception_5"),
                             # the stem's convs, and in a module the 1x1 reductions before a branch's 3x3 and 5x5
                             inner_convs=r"^(conv1_7x7_s2|conv2_3x3_reduce|conv2_3x3|inception_\d[a-e]_(3x3|5x5)_reduce)$")
