"""SavedModel export: raw images in, the model's outputs out; preprocessing inside, augmentation never active.

Two endpoints. `serving_default` (what TensorFlow Serving calls): for image models a batch of images as stored,
uint8 (batch, height, width, channels), named "images"; for other models float32 "inputs". Its output is named
"probabilities" for softmax/sigmoid heads, else "outputs". `serve`: Keras's usual float32 endpoint. Both call the
model with training=False on the model stripped of augmentation layers.
"""

from __future__ import annotations

import os
import shutil

import keras
import tensorflow as tf

from keras_course.export.inference import check_exportable, inference_model, serving_function, serving_spec


def export_saved_model(model: keras.Model, directory: str | os.PathLike) -> str | os.PathLike:
    """Write the SavedModel to `directory`; a failure never leaves half of one (written aside, then moved)."""
    check_exportable(model)
    model = inference_model(model)
    float_spec = tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), model.inputs[0].dtype, name="inputs")

    def serve(values):
        return model(values, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=serving_function(model), input_signature=[serving_spec(model)])
    archive.add_endpoint(name="serve", fn=serve, input_signature=[float_spec])
    tmp = os.fspath(directory) + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    archive.write_out(tmp, verbose=False)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return directory
