"""The model every export starts from: augmentation removed, float32 throughout, the serving signature fixed.

Random augmentation layers are identities at inference, but left in a graph they carry random-number ops that some
converters mishandle (an ONNX file that converts and then fails in onnxruntime), so they are taken out before any
conversion. A model trained under a mixed policy (bfloat16 or float16 compute, float32 weights) is exported as a
float32 copy with the same weights: TFLite has no bfloat16 kernels, and every format then computes what the float32
reference computes. Otherwise the remaining layers are shared, not copied: the inference model has the trained
weights.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Layers whose inference behaviour is the identity. RandomCrop is not among them: at inference it centre-crops.
_AUGMENTATION_CLASSES = {"AugMix", "RandAugment", "CutMix", "MixUp"}


def is_augmentation(layer):
    name = type(layer).__name__
    return name in _AUGMENTATION_CLASSES or (name.startswith("Random") and name != "RandomCrop"
                                             and isinstance(layer, keras.layers.Layer))


def _any_layer(model, test):
    """True when `test(layer)` holds for a layer of `model` or of a model nested in it."""
    return any(test(layer) or (isinstance(layer, keras.Model) and _any_layer(layer, test)) for layer in model.layers)


def _computes_below_float32(layer):
    return getattr(layer, "compute_dtype", "float32") in ("bfloat16", "float16")


def inference_model(model: keras.Model) -> keras.Model:
    """`model` without its augmentation layers and in float32 (weights shared, or copied into the float32
    layers of a mixed-precision model); `model` itself when it needs neither.

    Subclassed models cannot be rebuilt layer by layer; they are returned as they are (every export calls them
    with training=False, which keeps augmentation inactive).
    """
    mixed = _any_layer(model, _computes_below_float32)
    if not mixed and not _any_layer(model, is_augmentation):
        return model

    def rebuild(layer):
        if is_augmentation(layer):
            return keras.layers.Identity(name=layer.name)
        if not mixed:
            return layer
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    try:
        clone = keras.models.clone_model(model, clone_function=rebuild, recursive=True)
    except (ValueError, TypeError, NotImplementedError):  # a subclassed model somewhere inside
        return model
    if mixed:
        clone.set_weights(model.get_weights())
    return clone


def check_exportable(model):
    """The one input an export needs: raises ValueError naming what is wrong with `model`."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model. Received: {type(model).__name__}")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"export takes models with one input and one output. Received: {len(model.inputs)} "
                         f"inputs and {len(model.outputs)} outputs")


def is_image_model(model):
    return len(model.inputs[0].shape) == 4


def signature_names(model: keras.Model) -> tuple[str, str, str]:
    """(input name, input dtype, output name) of the serving signature for `model`, the same in every format.

    Image models take "images", uint8 as stored; other models take float32 "inputs". Softmax and sigmoid heads
    return "probabilities", anything else "outputs".
    """
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    output = "probabilities" if activation in ("softmax", "sigmoid") else "outputs"
    return ("images", tf.uint8, output) if is_image_model(model) else ("inputs", tf.float32, output)


def serving_spec(model):
    """The tf.TensorSpec of the serving signature's input (batch dimension left free)."""
    input_name, input_dtype, _ = signature_names(model)
    return tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), input_dtype, name=input_name)


def serving_function(model):
    """fn(raw batch) -> {output name: model(batch, training=False)}: the function every format exports."""
    _, _, output_name = signature_names(model)
    dtype = model.inputs[0].dtype

    def serve(values):
        return {output_name: model(tf.cast(values, dtype), training=False)}

    return serve
