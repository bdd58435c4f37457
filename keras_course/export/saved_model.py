"""SavedModel export: raw images in, the model's outputs out; preprocessing inside, augmentation never active.

Two endpoints. `serving_default` (what TensorFlow Serving calls): for image models a batch of images as stored,
uint8 (batch, height, width, channels), named "images"; for other models float32 "inputs". Its output is named
"probabilities" for softmax/sigmoid heads, else "outputs". `serve`: Keras's usual float32 endpoint. Both call the
model with training=False, so augmentation layers pass images through and BatchNorm uses its moving statistics.
"""

import os
import shutil

import keras
import tensorflow as tf


def signature_names(model):
    """(input name, input dtype, output name) of the `serving_default` signature for `model`."""
    image = len(model.inputs[0].shape) == 4
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    output = "probabilities" if activation in ("softmax", "sigmoid") else "outputs"
    return ("images", tf.uint8, output) if image else ("inputs", tf.float32, output)


def export_saved_model(model, directory):
    """Write the SavedModel to `directory`; a failure never leaves half of one (written aside, then moved)."""
    if len(model.inputs) != 1:
        raise ValueError(f"export_saved_model takes single-input models. Received: {len(model.inputs)} inputs")
    input_name, input_dtype, output_name = signature_names(model)
    shape = tuple(model.inputs[0].shape)
    dtype = model.inputs[0].dtype

    def serve_raw(values):
        return {output_name: model(tf.cast(values, dtype), training=False)}

    def serve(values):
        return model(values, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=serve_raw,
                         input_signature=[tf.TensorSpec(shape, input_dtype, name=input_name)])
    archive.add_endpoint(name="serve", fn=serve, input_signature=[tf.TensorSpec(shape, dtype, name="inputs")])
    tmp = os.fspath(directory) + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    archive.write_out(tmp, verbose=False)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return directory
