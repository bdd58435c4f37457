"""ONNX through tf2onnx (the converter Keras's own ONNX export uses), with the serving signature's names and dtype.

The serving function is converted rather than `model.export(format="onnx")`: Keras's exporter calls the model
without `training=False`, and a rebuilt (augmentation-free) model then converts with BatchNorm in training mode.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import tensorflow as tf

from keras_course import _private
from keras_course.export.inference import check_exportable, inference_model, serving_function, serving_spec

if TYPE_CHECKING:
    import keras


def export_onnx(model: keras.Model, path: str | os.PathLike, *, opset: int | None = None) -> str:
    """Write `model` as ONNX to `path`: input "images" (uint8) or "inputs", output "probabilities" or "outputs"."""
    import onnx
    import tf2onnx

    check_exportable(model)
    model = inference_model(model)
    _private.patch_tf2onnx_for_numpy2()
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its graph-freezing notes are not the user's concern; the parity check is
    try:
        proto, _ = tf2onnx.convert.from_function(tf.function(serving_function(model)),
                                                 input_signature=[serving_spec(model)], opset=opset)
    finally:
        logger.setLevel(level)
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(path))
    return path
