"""TensorFlow Lite: float32, or full-integer int8 post-training quantization calibrated on representative data.

Both are converted from the SavedModel's `serving_default` signature, so they take the same input (uint8 images
as stored, named "images") and give the same output name. The int8 model casts and quantizes the images once at
its input; every layer after that runs in int8, and its uint8 output carries the scale that turns it back into
probabilities (`runtimes` applies it).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from keras_course.export.saved_model import export_saved_model

if TYPE_CHECKING:
    import keras

CALIBRATION_SAMPLES = 300


def check_representative_data(representative_data, model):
    """Raw examples shaped like the model's input, as a numpy array; ValueError naming the problem otherwise."""
    if representative_data is None:
        raise ValueError("tflite_int8 needs representative_data: a few hundred training examples (raw images) "
                         "to calibrate the int8 ranges")
    values = np.asarray(representative_data)
    expected = tuple(model.inputs[0].shape[1:])
    if values.ndim != len(expected) + 1 or any(e is not None and e != v for e, v in zip(expected, values.shape[1:])):
        raise ValueError(f"representative_data must be a batch shaped (n,) + {expected}. "
                         f"Received: shape {values.shape}")
    if len(values) == 0:
        raise ValueError("representative_data is empty: pass a few hundred training examples")
    return values


def to_tflite(model: keras.Model, *, int8: bool = False, representative_data: np.ndarray | None = None,
              saved_model_dir: str | os.PathLike | None = None, seed: int = 0) -> bytes:
    """The .tflite flatbuffer (bytes) of `model`; `saved_model_dir`: an export of it to convert from, if one exists."""
    if int8:
        values = check_representative_data(representative_data, model)
    if saved_model_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            return to_tflite(model, int8=int8, representative_data=representative_data, seed=seed,
                             saved_model_dir=export_saved_model(model, os.path.join(tmp, "saved_model")))
    converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved_model_dir), signature_keys=["serving_default"])
    if int8:
        picks = np.random.default_rng(seed).permutation(len(values))[:CALIBRATION_SAMPLES]
        dtype = tf.uint8 if len(model.inputs[0].shape) == 4 else tf.float32

        def representative_dataset():
            for i in picks:
                yield [tf.cast(values[i:i + 1], dtype)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = dtype
        converter.inference_output_type = tf.uint8
    return converter.convert()


def export_tflite(model: keras.Model, path: str | os.PathLike, **kwargs) -> str:
    """Write `to_tflite(model, **kwargs)` to `path`."""
    flatbuffer = to_tflite(model, **kwargs)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path
