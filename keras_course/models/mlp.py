"""Multi-layer perceptrons: from a linear softmax (no hidden layer) to deep, regularised MLPs."""

import keras

from keras_course._checks import check_choice
from keras_course.models import common
from keras_course.models.layers import BatchNormalization, Maxout
from keras_course.models.registry import register

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "maxout")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal")


def _check_number(argument, value, low=0.0, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value >= high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"`{argument}` must be a number {bound}. Received: {argument}={value!r}")


@register("mlp", "multi-layer perceptron (hidden sizes, activation incl. maxout, init, dropout, batch norm, L1/L2)",
          family="mlp")
def mlp(*, input_shape, num_classes, hidden=(64, 64), activation="relu", initializer="glorot_uniform",
        dropout=0.0, batch_norm=False, l1=0.0, l2=0.0, maxout_pieces=2, normalization="none",
        classifier_activation="softmax", name="mlp"):
    """Multi-layer perceptron.

    Args:
        input_shape: tuple. Shape of one example; images are flattened.
        num_classes: int. Output units (1 for a sigmoid or a single regression target).
        hidden: sequence of int. Hidden layer sizes; () gives a linear (softmax / logistic / least-squares) model.
        activation: str. One of ACTIVATIONS; "maxout" uses `maxout_pieces` affine pieces per unit.
        initializer: str. One of INITIALIZERS, for every kernel.
        dropout: float in [0, 1). Dropout after each hidden layer.
        batch_norm: bool. Batch normalisation before each hidden activation.
        l1, l2: float >= 0. Weight penalties on every kernel.
        maxout_pieces: int >= 2. Pieces per maxout unit.
        normalization: "none", "rescale" or {"mean", "variance"}. Preprocessing inside the model.
        classifier_activation: "softmax", "sigmoid" or None (logits / linear regression output).
        name: str. Model name.

    Returns:
        keras.Model taking raw inputs.
    """
    common.check_input_shape(input_shape, model="mlp")
    common.check_head(num_classes, classifier_activation)
    if isinstance(hidden, int):
        hidden = (hidden,)
    if not all(isinstance(h, int) and h > 0 for h in hidden):
        raise ValueError(f"`hidden` must be a sequence of positive ints, e.g. (64, 64). Received: hidden={hidden!r}")
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("initializer", initializer, INITIALIZERS)
    _check_number("dropout", dropout, 0.0, 1.0)
    _check_number("l1", l1)
    _check_number("l2", l2)
    if activation == "maxout" and (not isinstance(maxout_pieces, int) or maxout_pieces < 2):
        raise ValueError(f"`maxout_pieces` must be an int >= 2. Received: maxout_pieces={maxout_pieces!r}")
    normalization = common.check_normalization(normalization)

    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
    inputs, x = common.model_input(input_shape, normalization)
    if len(input_shape) > 1:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden, start=1):
        if activation == "maxout":
            x = Maxout(units, maxout_pieces, kernel_initializer=initializer, kernel_regularizer=regularizer,
                       name=f"maxout_{i}")(x)
        else:
            x = keras.layers.Dense(units, kernel_initializer=initializer, kernel_regularizer=regularizer,
                                   use_bias=not batch_norm, name=f"dense_{i}")(x)
            if batch_norm:
                x = BatchNormalization(name=f"bn_{i}")(x)
            x = keras.layers.Activation(activation, name=f"{activation}_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = common.classifier(x, num_classes, classifier_activation, kernel_initializer=initializer,
                                kernel_regularizer=regularizer)
    return keras.Model(inputs, outputs, name=name)
