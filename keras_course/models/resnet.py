"""ResNet (He et al. 2015) and pre-activation ResNet (He et al. 2016): ImageNet and CIFAR layouts, one builder.

Layer names follow keras.applications (`conv2_block1_1_conv`, `conv2_block1_out`, `post_bn`, `avg_pool`,
`predictions`), and the bottleneck variants reproduce keras's ResNet50/101/152 and ResNet50V2/101V2/152V2 exactly,
so their weights load. Basic-block variants (18, 34) follow torchvision's layout (no conv biases). The CIFAR
variants (20 … 110) are the paper's 3-stage, 16-32-64 layout with the parameter-free shortcut (option A).
"""

import keras

from keras_course.models import common
from keras_course.models.layers import BatchNormalization, ZeroPadShortcut
from keras_course.models.registry import register_variant
from keras_course.models.weights import check_weights, load_weights

BN_EPSILON = 1.001e-5  # keras.applications' value; needed for numerical parity with its models
BLOCKS = ("basic", "bottleneck")
SHORTCUTS = ("conv", "pad")


def _bn(name):
    return BatchNormalization(epsilon=BN_EPSILON, name=name)


def _projection(x, filters, stride, shortcut, use_bias, name):
    if shortcut == "pad":
        return ZeroPadShortcut(filters, stride, name=f"{name}_0_pad")(x)
    x = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=use_bias, name=f"{name}_0_conv")(x)
    return _bn(f"{name}_0_bn")(x)


def bottleneck_block(x, filters, *, stride=1, project=False, shortcut="conv", residual=True, name):
    """keras's ResNet v1 block: 1x1 (stride) → 3x3 → 1x1 (4x filters), added to the shortcut, then ReLU."""
    skip = _projection(x, 4 * filters, stride, shortcut, True, name) if project and residual else x
    x = keras.layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_2_relu")(_bn(f"{name}_2_bn")(x))
    x = keras.layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    if residual:
        x = keras.layers.Add(name=f"{name}_add")([skip, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def basic_block(x, filters, *, stride=1, project=False, shortcut="conv", residual=True, name):
    """Two 3x3 convs (the first strided) added to the shortcut, then ReLU (ResNet-18/34, CIFAR ResNets).
    `residual=False` leaves the shortcut out: the "plain" network of He et al. (2015), Figure 6."""
    skip = _projection(x, filters, stride, shortcut, False, name) if project and residual else x
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_1_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    if residual:
        x = keras.layers.Add(name=f"{name}_add")([skip, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def _preact_shortcut(x, preact, filters, stride, project, shortcut, name):
    if project:
        if shortcut == "pad":
            return ZeroPadShortcut(filters, stride, name=f"{name}_0_pad")(x)
        return keras.layers.Conv2D(filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    return keras.layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x


def preact_bottleneck_block(x, filters, *, stride=1, project=False, shortcut="conv", name):
    """keras's ResNet v2 block: BN-ReLU first; 1x1 → 3x3 (stride) → 1x1 (4x filters) added to the shortcut."""
    preact = keras.layers.Activation("relu", name=f"{name}_preact_relu")(_bn(f"{name}_preact_bn")(x))
    skip = _preact_shortcut(x, preact, 4 * filters, stride, project, shortcut, name)
    x = keras.layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = keras.layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_2_relu")(_bn(f"{name}_2_bn")(x))
    x = keras.layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return keras.layers.Add(name=f"{name}_out")([skip, x])


def preact_basic_block(x, filters, *, stride=1, project=False, shortcut="conv", name):
    """Pre-activation basic block: BN-ReLU, 3x3 (stride), BN-ReLU, 3x3, added to the shortcut."""
    preact = keras.layers.Activation("relu", name=f"{name}_preact_relu")(_bn(f"{name}_preact_bn")(x))
    skip = _preact_shortcut(x, preact, filters, stride, project, shortcut, name)
    x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_1_pad")(preact)
    x = keras.layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_1_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x)
    return keras.layers.Add(name=f"{name}_out")([skip, x])


BLOCK_FUNCTIONS = {(False, "basic"): basic_block, (False, "bottleneck"): bottleneck_block,
                   (True, "basic"): preact_basic_block, (True, "bottleneck"): preact_bottleneck_block}


def _stem(x, *, stem, filters, preact, use_bias):
    """ImageNet: 7x7/2 conv and 3x3/2 max-pool (keras names). Small: one 3x3 stride-1 conv, no pooling."""
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
        x = keras.layers.Conv2D(filters, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    else:
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = keras.layers.Activation("relu", name="conv1_relu")(_bn("conv1_bn")(x))
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    return x


def _stage_plan(stages, preact):
    """(stage index, block index, stride) for every block.

    v1 strides the first block of every stage after the first; keras's v2 strides the *last* block of every
    stage but the last (so ResNetV2 weights line up).
    """
    plan = []
    for s, blocks in enumerate(stages):
        for b in range(blocks):
            if preact:
                stride = 2 if (b == blocks - 1 and s < len(stages) - 1) else 1
            else:
                stride = 2 if (b == 0 and s > 0) else 1
            plan.append((s, b, stride))
    return plan


def ResNet(*, name, stages, block, filters=(64, 128, 256, 512), preact=False, shortcut="conv", stem="imagenet",
           stem_filters=None, include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
           num_classes=1000, classes=None, classifier_activation="softmax", dropout=0.0, width=1.0,
           normalization="none", residual=True, default_size=224):
    """The general ResNet builder; every registered variant is a few values of these arguments.

    Args:
        name: str. Model name (and registry name for weights lookup).
        stages: tuple of int. Blocks per stage, e.g. (3, 4, 6, 3) for ResNet-50.
        block: "basic" or "bottleneck".
        filters: tuple of int. Base filters per stage (bottleneck outputs 4x).
        preact: bool. Pre-activation (v2) blocks, BN-ReLU before each conv, post_bn at the end.
        shortcut: "conv" (1x1 projection) or "pad" (parameter-free option A) where shapes change.
        stem: "imagenet" (7x7/2 conv + 3x3/2 max-pool) or "small" (3x3 stride-1 conv, no pooling) for 28-32 px.
        stem_filters: int or None. Stem channels (default: the first stage's filters).
        include_top, weights, input_tensor, input_shape, pooling, num_classes (alias classes),
        classifier_activation: as keras.applications.
        dropout: float. Dropout before the classifier.
        width: float. Multiplier on every stage's filters.
        normalization: "none", "rescale" or {"mean", "variance"}: preprocessing inside the model.
        residual: bool. False builds the same layers without shortcuts: the plain network He et al. compare
            against (v1 blocks only).
        default_size: int. Input size when neither input_shape nor input_tensor is given.

    Returns:
        keras.Model.
    """
    num_classes = common.check_family_options(
        name=name, include_top=include_top, pooling=pooling, stem=stem, dropout=dropout, width=width,
        num_classes=num_classes, classifier_activation=classifier_activation, classes=classes)
    if block not in BLOCKS or shortcut not in SHORTCUTS:
        raise ValueError(f"{name}: block must be one of {BLOCKS} and shortcut one of {SHORTCUTS}. "
                         f"Received: block={block!r}, shortcut={shortcut!r}")
    if not isinstance(residual, bool) or (preact and not residual):
        raise ValueError(f"{name}: `residual` must be True or False, and False only for v1 (post-activation) blocks. "
                         f"Received: residual={residual!r}")
    check_weights(weights, name=name, include_top=include_top, num_classes=num_classes)
    min_size = 32 if stem == "imagenet" else 2 ** (len(stages) - 1)
    inputs, x = common.image_input(input_shape, input_tensor, default_size=default_size, min_size=min_size,
                                   name=name, normalization=normalization, stem=stem)
    widths = [common.scaled(f, width) for f in filters]
    use_bias = block == "bottleneck"  # keras's v1/v2 stems have a conv bias; torchvision's basic ResNets do not
    stem_width = common.scaled(stem_filters, width) if stem_filters else widths[0]
    x = _stem(x, stem=stem, filters=stem_width, preact=preact, use_bias=use_bias)
    make_block = BLOCK_FUNCTIONS[(preact, block)]
    expansion = 4 if block == "bottleneck" else 1
    channels = int(x.shape[-1])
    for s, b, stride in _stage_plan(stages, preact):
        out = widths[s] * expansion
        if preact and block == "bottleneck":
            project = b == 0  # keras's ResNetV2 projects at every stage's first block
        elif preact:
            project = b == 0 and channels != out
        else:
            project = b == 0 and (stride != 1 or channels != out)
        plain = {} if residual else {"residual": False}
        x = make_block(x, widths[s], stride=stride, project=project, shortcut=shortcut,
                       name=f"conv{s + 2}_block{b + 1}", **plain)
        channels = out
    if preact:
        x = keras.layers.Activation("relu", name="post_relu")(_bn("post_bn")(x))
    outputs = common.global_top(x, include_top=include_top, pooling=pooling, num_classes=num_classes,
                                classifier_activation=classifier_activation, dropout=dropout)
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name=name, include_top=include_top)


IMAGENET = dict(default_size=224)
CIFAR = dict(filters=(16, 32, 64), shortcut="pad", stem="small", default_size=32)
VARIANTS = {
    "resnet18": dict(stages=(2, 2, 2, 2), block="basic", **IMAGENET),
    "resnet34": dict(stages=(3, 4, 6, 3), block="basic", **IMAGENET),
    "resnet50": dict(stages=(3, 4, 6, 3), block="bottleneck", **IMAGENET),
    "resnet101": dict(stages=(3, 4, 23, 3), block="bottleneck", **IMAGENET),
    "resnet152": dict(stages=(3, 8, 36, 3), block="bottleneck", **IMAGENET),
    "preact_resnet18": dict(stages=(2, 2, 2, 2), block="basic", preact=True, **IMAGENET),
    "preact_resnet34": dict(stages=(3, 4, 6, 3), block="basic", preact=True, **IMAGENET),
    "preact_resnet50": dict(stages=(3, 4, 6, 3), block="bottleneck", preact=True, **IMAGENET),
    "preact_resnet101": dict(stages=(3, 4, 23, 3), block="bottleneck", preact=True, **IMAGENET),
    "preact_resnet152": dict(stages=(3, 8, 36, 3), block="bottleneck", preact=True, **IMAGENET),
    **{f"resnet{6 * n + 2}": dict(stages=(n, n, n), block="basic", **CIFAR) for n in (1, 2, 3, 5, 7, 9, 18)},
}


# our name: (keras.applications twin, stem of its ImageNet weight files, the preprocessing those weights expect)
TWINS = {"resnet50": ("ResNet50", "resnet50", "caffe"), "resnet101": ("ResNet101", "resnet101", "caffe"),
         "resnet152": ("ResNet152", "resnet152", "caffe"), "preact_resnet50": ("ResNet50V2", "resnet50v2", "tf"),
         "preact_resnet101": ("ResNet101V2", "resnet101v2", "tf"),
         "preact_resnet152": ("ResNet152V2", "resnet152v2", "tf")}
# inside a block: the convolutions before its last (whose output the residual addition shares with the trunk); with
# bottlenecks the stem's too, since the first block projects its shortcut (64 -> 256 channels)
INNER_CONVS = {"basic": r"^conv\d+_block\d+_1_conv$", "bottleneck": r"^(conv1_conv|conv\d+_block\d+_[12]_conv)$"}


def _metadata(name, spec):
    twin, stem, preprocessing = TWINS.get(name, (None, None, "rescale"))
    kind = "pre-activation ResNet" if spec.get("preact") else "ResNet"
    layout = "CIFAR layout (He et al. 2015, option A)" if spec.get("stem") == "small" else "ImageNet layout"
    size = spec["default_size"]
    return dict(description=f"{kind}, {spec['block']} blocks {spec['stages']}, {layout}"
                            f"{f', keras twin {twin}' if twin else ''}",
                default_input_shape=(size, size, 3), family="resnet", keras_twin=twin, imagenet_file=stem,
                preprocessing=preprocessing, stages=tuple(f"conv{i}" for i in range(1, len(spec["stages"]) + 2)),
                inner_convs=INNER_CONVS[spec["block"]])


BUILDERS = {name: register_variant(name, ResNet, spec, **_metadata(name, spec)) for name, spec in VARIANTS.items()}
