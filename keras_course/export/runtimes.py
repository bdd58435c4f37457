"""Run any exported model the way its users will: one `predict(raw batch) -> float32 outputs` per format.

Each runtime loads its format with that format's own runtime (Keras, tf.saved_model, the LiteRT interpreter,
onnxruntime), so a parity check judges the file a user gets, never the converter's success message.
"""

from __future__ import annotations

import json
import os

import numpy as np

KERAS_SUFFIX = ".keras"


class KerasRuntime:
    format = "keras"

    def __init__(self, path_or_model):
        import keras

        if isinstance(path_or_model, keras.Model):
            self.model = path_or_model
        else:
            # Custom layers and optimizers of the project are registered on import; safe_mode stays on.
            import keras_course.models  # noqa: F401
            import keras_course.training  # noqa: F401

            from keras_course.export.inference import inference_model

            # what every other format serves: a run's mixed-precision model runs as its float32 copy
            self.model = inference_model(keras.models.load_model(path_or_model, safe_mode=True))
        self.input_shape = tuple(self.model.inputs[0].shape[1:])

    def predict(self, batch):
        return np.asarray(self.model.predict_on_batch(np.asarray(batch, dtype=self.model.inputs[0].dtype)))


class SavedModelRuntime:
    format = "saved_model"

    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.function = tf.saved_model.load(os.fspath(path)).signatures["serving_default"]
        (spec,) = self.function.structured_input_signature[1].values()
        self.input_name, self.dtype = spec.name, spec.dtype
        self.input_shape = tuple(spec.shape[1:])
        (self.output_name,) = self.function.structured_outputs

    def predict(self, batch):
        values = self._tf.constant(np.asarray(batch), dtype=self.dtype)
        return self.function(**{self.input_name: values})[self.output_name].numpy()


class TFLiteRuntime:
    format = "tflite"

    def __init__(self, path=None, *, content: bytes | None = None):
        from ai_edge_litert.interpreter import Interpreter

        if content is not None:
            self.interpreter = Interpreter(model_content=content)
        else:
            self.interpreter = Interpreter(model_path=os.fspath(path))
        self.runner = self.interpreter.get_signature_runner("serving_default")
        ((self.input_name, spec),) = self.runner.get_input_details().items()
        ((self.output_name, out),) = self.runner.get_output_details().items()
        self.dtype = spec["dtype"]
        self.input_shape = tuple(int(d) if d > 0 else None for d in spec["shape_signature"][1:])
        self.scale, self.zero_point = out["quantization"]

    def predict(self, batch):
        output = self.runner(**{self.input_name: np.asarray(batch, dtype=self.dtype)})[self.output_name]
        if self.scale:  # an int8 model's output is quantized: scale it back to probabilities
            return (output.astype(np.float32) - self.zero_point) * self.scale
        return output


class OnnxRuntime:
    format = "onnx"

    def __init__(self, path):
        import onnxruntime

        self.session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
        (spec,) = self.session.get_inputs()
        self.input_name = spec.name
        self.dtype = np.uint8 if spec.type == "tensor(uint8)" else np.float32
        self.input_shape = tuple(d if isinstance(d, int) else None for d in spec.shape[1:])

    def predict(self, batch):
        return self.session.run(None, {self.input_name: np.asarray(batch, dtype=self.dtype)})[0]


def load_runtime(path: str | os.PathLike) -> KerasRuntime | SavedModelRuntime | TFLiteRuntime | OnnxRuntime:
    """The runtime of an exported model: a run directory, a .keras file, a SavedModel, a .tflite or an .onnx file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")):
            return SavedModelRuntime(path)
        if os.path.exists(os.path.join(path, "model.keras")):
            return KerasRuntime(os.path.join(path, "model.keras"))
        raise ValueError(f"path={path!r} is a folder with neither saved_model.pb nor model.keras: pass a run "
                         "directory, a SavedModel folder, or a .keras, .tflite or .onnx file")
    if not os.path.exists(path):
        raise ValueError(f"path={path!r} does not exist: pass a run directory, a SavedModel folder, or a .keras, "
                         ".tflite or .onnx file")
    runtimes = {KERAS_SUFFIX: KerasRuntime, ".tflite": TFLiteRuntime, ".onnx": OnnxRuntime}
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in runtimes:
        raise ValueError(f"path={path!r} has suffix {suffix!r}; expected a run directory, a SavedModel folder, or "
                         "a .keras, .tflite or .onnx file")
    return runtimes[suffix](path)


def find_class_names(path: str | os.PathLike) -> list[str]:
    """Class names for the model at `path`, from the files export and training leave beside it; [] if none."""
    path = os.path.abspath(os.fspath(path))
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    for place in (folder, os.path.dirname(folder)):
        labels = os.path.join(place, "labels.txt")
        if os.path.isfile(labels):
            with open(labels) as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        for name, keys in (("metrics.json", ("dataset", "class_names")), ("manifest.json", ("dataset", "classes")),
                           ("export_report.json", ("class_names",))):
            candidate = os.path.join(place, name)
            if os.path.isfile(candidate):
                with open(candidate) as f:
                    found = json.load(f)
                for key in keys:
                    found = found.get(key) if isinstance(found, dict) else None
                if found:
                    return list(found)
    return []
