"""How signals travel through a deep network: per-layer activation and gradient spread on one batch.

The classic picture behind Glorot and He initialisation: in a deep sigmoid net with Glorot weights the gradients
shrink layer after layer going backwards (vanishing gradients), while ReLU with He weights keeps both the forward
activations and the backward gradients at a steady scale.
"""

from __future__ import annotations

import keras
import numpy as np

_ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)


def layer_statistics(model: keras.Model, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """Per Dense/Conv layer, in order: {"layer", "activation_std", "gradient_std"} for the batch (x, y).

    activation_std: standard deviation of the layer's activated output (the Activation layer right after it when
    the layer itself is linear). gradient_std: standard deviation of d loss / d kernel, with the model's compiled
    loss (a compiled model is required).
    """
    if not getattr(model, "compiled", False):
        raise ValueError(f"layer_statistics needs a compiled model (it uses the model's loss). Received: {model.name!r} "
                         "uncompiled. Call training.compile_model(model, ...) first.")
    layers = model.layers
    watched, outputs = [], []
    for i, layer in enumerate(layers):
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            after = layers[i + 1] if i + 1 < len(layers) and isinstance(layers[i + 1], _ACTIVATION_LAYERS) else layer
            watched.append(layer)
            outputs.append(after.output)
    if not watched:
        raise ValueError(f"Model {model.name!r} has no Dense or Conv2D layer to measure.")
    import tensorflow as tf  # GradientTape: this lab tool is TensorFlow's

    probe = keras.Model(model.input, outputs + [model.output])
    kernels = [layer.kernel for layer in watched]
    with tf.GradientTape() as tape:
        *activations, prediction = probe(tf.convert_to_tensor(x), training=False)
        loss = model.compute_loss(x=x, y=tf.convert_to_tensor(y), y_pred=prediction)
    gradients = tape.gradient(loss, kernels)
    return [{"layer": layer.name, "activation_std": float(np.std(np.asarray(a))),
             "gradient_std": float(np.std(np.asarray(g)))} for layer, a, g in zip(watched, activations, gradients)]
