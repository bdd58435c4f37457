"""Pieces every builder shares: the input with its normalisation, the head, and option checks."""

import keras
import numpy as np

from keras_course._checks import check_choice

CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid", None)
NORMALIZATIONS = ("none", "rescale")


def head_options(task, num_classes):
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


def check_input_shape(input_shape, *, rank=None, min_size=None, model=""):
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
            f"{min_size}x{min_size}. Received: input_shape={tuple(input_shape)}; resize the images or choose a smaller model."
        )


def model_input(input_shape, normalization):
    """The model's Input and the tensor after its built-in normalisation (raw values in, normalised out)."""
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = inputs
    if isinstance(normalization, dict):
        x = keras.layers.Normalization(
            mean=np.asarray(normalization["mean"], dtype="float32"),
            variance=np.asarray(normalization["variance"], dtype="float32"),
            name="normalization",
        )(x)
    elif normalization == "rescale":
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
    return inputs, x


def classifier(x, num_classes, classifier_activation, **dense_kwargs):
    """The head every model ends with, always named "predictions"."""
    return keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions", **dense_kwargs)(x)
