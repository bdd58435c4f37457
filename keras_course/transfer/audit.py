"""audit: the four ways transfer learning silently goes wrong, checked on a model (and optionally its data).

1. BatchNorm layers that would run in training mode (batch statistics, moving averages updated) under `fit`.
2. Trainable parameters per backbone stage: is what you think is frozen frozen?
3. `trainable` changed after the last compile: Keras keeps training the old set until you recompile.
4. Data that does not match the input the model expects (e.g. [0, 1] floats fed to a caffe-mode ResNet).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from keras_course import _private
from keras_course.models.layers import BackbonePreprocessing
from keras_course.transfer.backbones import KERAS_BACKBONES
from keras_course.transfer.classifier import nested_backbone
from keras_course.transfer.freezing import split_stages

# keras.applications model names (model.name) → constructor, for bare backbones used without our preprocessing
_KERAS_MODEL_NAMES = {name.lower(): name for name in KERAS_BACKBONES}
_KERAS_MODEL_NAMES.update({"inception_v3": "InceptionV3", "mobilenetv2_1.00_224": "MobileNetV2"})
# what a batch should look like for each expected input, in words for the warnings
_EXPECTED = {"caffe": "ImageNet-mean-subtracted BGR (about -124 to 152)", "tf": "[-1, 1]",
             "torch": "ImageNet-standardised (about -2.1 to 2.6)", "raw": "raw pixels 0-255"}


@dataclasses.dataclass
class AuditReport:
    batch_norm_in_training_mode: list
    stages: list  # dicts: stage, trainable_params, params
    head_trainable_params: int
    compile_state: str  # "not compiled", "ok", "stale"
    input_check: str
    warnings: list

    @property
    def ok(self):
        return not self.warnings

    def __str__(self):
        lines = ["Transfer-learning audit"]
        lines.append(f"  BatchNorm layers in training mode under fit: {len(self.batch_norm_in_training_mode)}")
        for row in self.stages:
            lines.append(f"  {row['stage']:<22} trainable {row['trainable_params']:>12,} of {row['params']:>12,}")
        lines.append(f"  {'head':<22} trainable {self.head_trainable_params:>12,}")
        lines.append(f"  compile: {self.compile_state}")
        lines.append(f"  input: {self.input_check}")
        lines.extend(f"  WARNING: {w}" for w in self.warnings)
        return "\n".join(lines)


def _walk(layer, inference_fixed=False):
    """(layer, runs in inference mode regardless of `fit`) for every layer, recursing into nested models."""
    yield layer, inference_fixed
    if isinstance(layer, keras.Model):
        fixed_inside = set()
        for inner in layer.layers:
            for node in _private.inbound_nodes(inner):
                if node.arguments is not None and node.arguments.kwargs.get("training") is False:
                    fixed_inside.add(id(inner))
        for inner in layer.layers:
            if inner is not layer:
                yield from _walk(inner, inference_fixed or id(inner) in fixed_inside)


def _backbone_and_mode(model):
    backbone = nested_backbone(model) or model
    preprocessing = [layer for layer in model.layers if isinstance(layer, BackbonePreprocessing)]
    if preprocessing:
        return backbone, "raw"
    constructor = _KERAS_MODEL_NAMES.get(backbone.name.lower())
    if constructor is None:
        return backbone, None
    mode = KERAS_BACKBONES[constructor].mode
    return backbone, "raw" if mode == "none" else mode


def _first_batch(data):
    if isinstance(data, tf.data.Dataset):
        element = next(iter(data.take(1)))
        x = element[0] if isinstance(element, (tuple, list)) else element
    elif isinstance(data, (tuple, list)):
        x = data[0]
    else:
        x = data
    return np.asarray(x, dtype="float64")


def check_input(x: np.ndarray, mode: str) -> tuple[str, str | None]:
    """One line on whether `x` looks like what `mode` expects; second value: a warning or None."""
    low, high = float(np.min(x)), float(np.max(x))
    seen = f"data range [{low:.3g}, {high:.3g}]"
    if mode is None:
        return f"{seen}; expected input unknown for this model", None
    if mode == "raw":
        if low >= 0 and high <= 1.0:
            return seen, (f"{seen} looks like [0, 1] floats but the model takes raw 0-255 pixels (its preprocessing is "
                          "inside): pass the images without dividing by 255.")
        if low < 0:
            return seen, f"{seen} has negative values but the model takes raw 0-255 pixels: do not preprocess the images."
        return f"{seen}; matches raw pixels 0-255", None
    fix = f"call keras.applications' preprocess_input for this backbone (mode '{mode}') on raw 0-255 images"
    if low >= 0 and high <= 1.0:
        return seen, f"{seen} looks like [0, 1] floats but the model expects {_EXPECTED[mode]}: {fix}."
    if low >= 0:
        return seen, f"{seen} looks like raw pixels but the model expects {_EXPECTED[mode]}: {fix}."
    if mode == "tf" and (low < -1.01 or high > 1.01):
        return seen, f"{seen} is outside [-1, 1], which the model expects: {fix}."
    return f"{seen}; matches {_EXPECTED[mode]}", None


def _compile_state(model):
    if not getattr(model, "compiled", False):
        return "not compiled"
    optimizer = model.optimizer
    if not getattr(optimizer, "built", False):
        return "ok"  # compiled, not trained yet: fit captures the trainable set as it is now
    tracked = {id(v) for v in getattr(optimizer, "_trainable_variables", [])}
    current = {id(v) for v in model.trainable_variables}
    return "ok" if tracked == current else "stale"


def audit(model: keras.Model, data: np.ndarray | tuple | tf.data.Dataset | None = None) -> AuditReport:
    """Check `model` (and a batch of `data`: array, (x, y) or tf.data.Dataset) for transfer-learning mistakes."""
    warnings = []
    training_bn = [layer.name for layer, fixed in _walk(model)
                   if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable and not fixed]
    if training_bn:
        warnings.append(
            f"{len(training_bn)} BatchNorm layers (e.g. {training_bn[0]!r}) would update their statistics during fit: "
            "call the backbone with training=False (build_classifier does) or set those layers' trainable=False."
        )
    backbone, mode = _backbone_and_mode(model)
    rows = [{"stage": s.name, "trainable_params": s.params(trainable_only=True), "params": s.params()}
            for s in split_stages(backbone)] if backbone is not model else []
    backbone_ids = {id(v) for v in backbone.weights} if backbone is not model else set()
    head = sum(int(np.prod(v.shape)) for v in model.trainable_weights if id(v) not in backbone_ids)
    state = _compile_state(model)
    if state == "stale":
        warnings.append("`trainable` changed since the model was last compiled and trained: Keras still updates the old "
                        "set of weights. Call model.compile(...) again before fit.")
    elif state == "not compiled":
        warnings.append("the model is not compiled: call model.compile(...) (or training.compile_model) before fit.")
    input_check = "no data given"
    if data is not None:
        input_check, problem = check_input(_first_batch(data), mode)
        if problem:
            warnings.append(problem)
    return AuditReport(training_bn, rows, head, state, input_check, warnings)
