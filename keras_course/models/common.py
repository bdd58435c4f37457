"""Pieces every builder shares: the input with its normalisation, the head, and option checks."""

from __future__ import annotations

import keras
import numpy as np

from keras_course._checks import check_choice, check_range

CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid", None)
NORMALIZATIONS = ("none", "rescale")


def head_options(task: str, num_classes: int) -> dict:
    """The (units, classifier_activation) a model needs for a task: softmax over classes, one sigmoid, or linear."""
    check_choice("task", task, ("regression", "binary", "multiclass"))
    if task == "regression":
        return {"num_classes": num_classes, "classifier_activation": None}
    if task == "binary":
        return {"num_classes": 1, "classifier_activation": "sigmoid"}
    return {"num_classes": num_classes, "classifier_activation": "softmax"}


def check_head(num_classes, classifier_activation):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}")
    check_choice("classifier_activation", classifier_activation, CLASSIFIER_ACTIVATIONS)


def check_normalization(normalization):
    """'none', 'rescale' (divide 0–255 pixels by 255) or {'mean': ..., 'variance': ...} (a fitted Normalization)."""
    if isinstance(normalization, dict):
        if set(normalization) != {"mean", "variance"}:
            raise ValueError(
                "`normalization` as a dict needs exactly the keys 'mean' and 'variance'. "
                f"Received: normalization keys={sorted(normalization)}"
            )
        return normalization
    return check_choice("normalization", normalization, NORMALIZATIONS)


def check_input_shape(input_shape, *, rank=None, min_size=None, model="", hint=None):
    """Raise a ValueError when the input shape has the wrong rank or is too small for the model's downsampling."""
    if not isinstance(input_shape, (tuple, list)) or not all(isinstance(d, (int, np.integer)) and d > 0 for d in input_shape):
        raise ValueError(f"`input_shape` must be a tuple of positive ints, e.g. (28, 28, 1). Received: input_shape={input_shape!r}")
    if rank is not None and len(input_shape) != rank:
        raise ValueError(
            f"{model} needs inputs of rank {rank} (height, width, channels). Received: input_shape={tuple(input_shape)}"
        )
    if min_size is not None and min(input_shape[:2]) < min_size:
        raise ValueError(
            f"{model} downsamples too much for an input of {input_shape[0]}x{input_shape[1]}: it needs at least "
            f"{min_size}x{min_size}. Received: input_shape={tuple(input_shape)}; {hint or 'resize the images or choose a smaller model.'}"
        )


def model_input(input_shape, normalization):
    """The model's Input and the tensor after its built-in normalisation (raw values in, normalised out)."""
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    return inputs, normalize(inputs, normalization)


def normalize(x, normalization):
    """Apply the model's built-in normalisation: nothing, /255, or a fitted (mean, variance) Normalization."""
    if isinstance(normalization, dict):
        x = keras.layers.Normalization(
            mean=np.asarray(normalization["mean"], dtype="float32"),
            variance=np.asarray(normalization["variance"], dtype="float32"),
            name="normalization",
        )(x)
    elif normalization == "rescale":
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
    return x


def classifier(x, num_classes, classifier_activation, **dense_kwargs):
    """The head every model ends with, always named "predictions"; float32 even under a mixed-precision policy, so
    that probabilities, losses and metrics keep full precision (Keras's mixed-precision guide)."""
    dense_kwargs.setdefault("dtype", "float32")
    return keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions", **dense_kwargs)(x)


# ---- The keras.applications-style signature shared by the image families ----------------------------------------

STEMS = ("imagenet", "small")
POOLINGS = (None, "avg", "max")


def scaled(channels, width):
    """Channels after the width multiplier (at least 1)."""
    return max(1, int(round(channels * width)))


def check_width_and_dropout(width, dropout):
    """The channel multiplier must be a positive number, the dropout rate a number in [0, 1)."""
    check_range("dropout", dropout, 0, 1)
    if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
        raise ValueError(f"`width` must be a positive number (channel multiplier). Received: width={width!r}")


def check_family_options(*, name, include_top, pooling, stem, dropout, width, num_classes, classifier_activation,
                         classes=None):
    """Validate the options every image family shares; returns num_classes (keras's `classes` is an alias)."""
    if classes is not None:
        if num_classes not in (None, 1000, classes):
            raise ValueError(f"{name}: pass num_classes or classes, not both. Received: num_classes={num_classes}, "
                             f"classes={classes}")
        num_classes = classes
    if not isinstance(include_top, bool):
        raise ValueError(f"`include_top` must be True or False. Received: include_top={include_top!r}")
    check_choice("pooling", pooling, POOLINGS)
    check_choice("stem", stem, STEMS)
    check_width_and_dropout(width, dropout)
    if include_top:
        check_head(num_classes, classifier_activation)
    return num_classes


def image_input(input_shape, input_tensor, *, default_size, min_size, name, normalization="none", stem=None):
    """(model inputs, tensor after normalisation), the way keras.applications takes inputs.

    `input_tensor` (a Keras tensor, e.g. another model's output) takes precedence; otherwise `input_shape`, default
    (default_size, default_size, 3). Spatial size below `min_size` is a ValueError naming what would work.
    """
    if input_tensor is not None:
        shape = tuple(int(d) for d in input_tensor.shape[1:])
        if input_shape is not None and tuple(input_shape) != shape:
            raise ValueError(f"{name}: input_shape {tuple(input_shape)} does not match input_tensor's shape {shape}.")
        input_shape = shape
    input_shape = tuple(input_shape) if input_shape is not None else (default_size, default_size, 3)
    hint = "pass stem='small' (3x3 stride-1 stem for 28-32 px images), or resize the images." if stem == "imagenet" else None
    check_input_shape(input_shape, rank=3, min_size=min_size, model=name, hint=hint)
    normalization = check_normalization(normalization)
    if input_tensor is None:
        inputs = keras.Input(shape=input_shape, name="input")
        source = inputs
    else:
        inputs = keras.utils.get_source_inputs(input_tensor)
        source = input_tensor
    return inputs, normalize(source, normalization)


def global_top(x, *, include_top, pooling, num_classes, classifier_activation, dropout):
    """The keras.applications head of convolutional families: avg_pool → [dropout] → predictions, or features."""
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="top_dropout")(x)
        return classifier(x, num_classes, classifier_activation)
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def dense_top(x, *, layer_names, units, dropout, dropout_first, include_top, pooling, num_classes,
              classifier_activation):
    """The head of AlexNet and VGG: flatten → fully connected ReLU layers with dropout → predictions; or, without
    the top, the same features as `global_top`. `dropout_first` puts each dropout before its layer (AlexNet)
    rather than after it (VGG)."""
    if not include_top:
        return global_top(x, include_top=False, pooling=pooling, num_classes=num_classes,
                          classifier_activation=classifier_activation, dropout=0.0)
    x = keras.layers.Flatten(name="flatten")(x)
    for layer in layer_names:
        if dropout and dropout_first:
            x = keras.layers.Dropout(dropout, name=f"{layer}_dropout")(x)
        x = keras.layers.Dense(units, activation="relu", name=layer)(x)
        if dropout and not dropout_first:
            x = keras.layers.Dropout(dropout, name=f"{layer}_dropout")(x)
    return classifier(x, num_classes, classifier_activation)


def set_batch_norm_momentum(model: keras.Model, momentum: float) -> keras.Model:
    """Set the moving-average momentum of every BatchNormalization layer (nested ones too); returns the model.

    Keras's default 0.99 averages over about 100 steps; after a short run (an epoch or two, weights still moving
    fast) the moving statistics lag behind and inference accuracy collapses while training accuracy looks fine.
    0.9 (PyTorch's default, written there as momentum=0.1) follows the weights ten times faster. Set it before
    compiling: the value is read when the training step is traced, and it is saved with the model.
    """
    check_bn_momentum(momentum)
    for layer in layers_within(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)
    return model


def layers_within(model):
    """Every layer of `model`, those of nested models (a transfer classifier's backbone) included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from layers_within(layer)


def check_bn_momentum(momentum: float) -> float:
    """Raise ValueError unless `momentum` is a BatchNorm moving-average momentum in [0, 1)."""
    check_range("bn_momentum", momentum, 0, 1, example=0.9)
    return momentum
