"""build_classifier: a backbone with its preprocessing inside and a new head, ready for transfer learning."""

from __future__ import annotations

import keras
import numpy as np

from keras_course._checks import check_choice, check_range
from keras_course.models.common import check_input_shape, classifier as classifier_head
from keras_course.models.layers import BackbonePreprocessing
from keras_course.transfer.backbones import KERAS_BACKBONES, PROJECT_PREFIX, load_backbone, read_manifest


def build_classifier(backbone: str, num_classes: int, *, weights: str | None = "imagenet",
                     input_shape: tuple[int, ...] | None = None, pooling: str = "avg", dropout: float = 0.2,
                     trainable_backbone: bool = False, resize: int | tuple[int, int] | None = None, options: dict | None = None,
                     name: str | None = None) -> keras.Model:
    """Backbone + new classification head; the model takes raw 0–255 images.

    Args:
        backbone: a keras.applications name ("ResNet50", "MobileNetV2", ...) or a registry model with `include_top`
            ("resnet20", "resnet18", ...). With `weights="project:NAME"`: the architecture saved as NAME, or None.
        num_classes: int >= 2 (softmax head) or 1 (one sigmoid unit, binary).
        weights: "imagenet" (Keras cache; downloaded when online), None, a weights-file path, or "project:NAME".
        input_shape: (height, width, channels) of the raw images. Default: the backbone's own size, RGB.
            Grayscale (1 channel) is replicated to RGB when the backbone needs 3 channels.
        pooling: "avg" or "max" over the backbone's last feature map.
        dropout: float in [0, 1) before the new head.
        trainable_backbone: False freezes the backbone (train the head first).
        resize: (height, width), or one int for a square, to resize to inside the model (e.g. 28 px Fashion-MNIST
            into ResNet50), or None.
        options: dict of registry builder options (e.g. {"stem": "small"}; "preprocessing" picks the input mode).
        name: the model's name.

    The backbone is called with `training=False`: its BatchNorm layers use their moving statistics while frozen
    and while fine-tuning, so a small target dataset cannot wreck them.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer (1 means binary with a sigmoid). Received: num_classes={num_classes!r}")
    check_choice("pooling", pooling, ("avg", "max"))
    check_range("dropout", dropout, 0, 1)
    if isinstance(resize, (int, np.integer)) and not isinstance(resize, bool):
        resize = (int(resize), int(resize))
    if resize is not None and (not isinstance(resize, (tuple, list)) or len(resize) != 2
                               or not all(isinstance(d, (int, np.integer)) and d > 0 for d in resize)):
        raise ValueError(f"`resize` must be (height, width) in pixels or None. Received: resize={resize!r}")
    project = isinstance(weights, str) and weights.startswith(PROJECT_PREFIX)
    if project:
        manifest = read_manifest(weights[len(PROJECT_PREFIX):])
        if backbone not in (None, manifest["model"]):
            raise ValueError(f"{weights!r} holds a {manifest['model']}; pass backbone={manifest['model']!r} (or None). "
                             f"Received: backbone={backbone!r}")
    if input_shape is None:
        if project:
            input_shape = tuple(manifest["dataset"]["input_shape"])
        else:
            size = KERAS_BACKBONES[backbone].default_size if backbone in KERAS_BACKBONES else 224
            input_shape = (size, size, 3)
    input_shape = tuple(input_shape)
    check_input_shape(input_shape, rank=3, model="build_classifier")
    if input_shape[-1] not in (1, 3):
        raise ValueError(f"`input_shape` must have 1 (grayscale) or 3 (RGB) channels. Received: input_shape={input_shape}")

    rgb_needed = not project and (backbone in KERAS_BACKBONES or weights == "imagenet")
    to_rgb = rgb_needed and input_shape[-1] == 1
    size = tuple(resize) if resize is not None else input_shape[:2]
    channels = 3 if rgb_needed else input_shape[-1]
    found = load_backbone(backbone, weights=weights, input_shape=(*size, channels), pooling=pooling, options=options)

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if resize is not None:
        x = keras.layers.Resizing(*size, name="resize")(x)
    x = BackbonePreprocessing(found.mode, to_rgb=to_rgb, name="backbone_preprocessing")(x)
    found.model.trainable = bool(trainable_backbone)
    x = found.model(x, training=False)
    if len(x.shape) == 4:  # a registry or project backbone without its own pooling
        x = (keras.layers.GlobalAveragePooling2D if pooling == "avg" else keras.layers.GlobalMaxPooling2D)(name="head_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    outputs = classifier_head(x, num_classes, activation)  # float32 under a mixed policy too
    return keras.Model(inputs, outputs, name=name or f"{found.model.name}_classifier")


def nested_backbone(model):
    """The one sub-model among `model`'s layers, or None when there is none or more than one."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[0] if len(nested) == 1 else None


def backbone_of(model: keras.Model) -> keras.Model:
    """The nested backbone model inside a classifier (the one sub-model among its layers)."""
    backbone = nested_backbone(model)
    if backbone is None:
        count = sum(isinstance(layer, keras.Model) for layer in model.layers)
        raise ValueError(
            f"Expected a classifier with exactly one nested backbone model (as build_classifier makes); "
            f"{model.name!r} has {count}. Received: model={model.name!r}"
        )
    return backbone
