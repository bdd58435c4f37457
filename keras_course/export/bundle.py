"""`export`: every serving format of one model in one folder, each loaded back and checked against Keras.

The folder holds saved_model/, model.keras, model.tflite, model_int8.tflite, model.onnx, labels.txt and
export_report.json. For each format the report gives its size, the largest difference from Keras's `predict` on a
fixed set (the whole test set when one is given), the top-1 agreement with Keras, the test accuracy, the mean
latency of one image on this machine, and whether it meets its bound. A format that cannot be produced is
reported with the reason in one line; the others are still exported. The folder is written aside and moved into
place at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import TYPE_CHECKING

import numpy as np

from keras_course._checks import check_choice
from keras_course.export import runtimes
from keras_course.export.inference import check_exportable, inference_model, is_image_model, signature_names
from keras_course.export.onnx import export_onnx
from keras_course.export.saved_model import export_saved_model
from keras_course.export.tflite import check_representative_data, export_tflite

if TYPE_CHECKING:
    from collections.abc import Sequence

    import keras

FORMATS = ("saved_model", "keras", "tflite", "tflite_int8", "onnx")
FILES = {"saved_model": "saved_model", "keras": "model.keras", "tflite": "model.tflite",
         "tflite_int8": "model_int8.tflite", "onnx": "model.onnx"}
REPORT = "export_report.json"
# Largest difference from Keras allowed per format; int8 is judged by agreement and accuracy instead.
MAX_ABS_DIFF = {"saved_model": 1e-5, "keras": 1e-5, "tflite": 1e-4, "onnx": 1e-4}
INT8_MIN_AGREEMENT = 0.99
INT8_MAX_ACCURACY_DROP = 0.01
CHECK_BATCH = 256
LATENCY_IMAGES = 50


def check_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """A tuple of known format names (a comma-separated string is accepted)."""
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f]
    formats = tuple(formats)
    if not formats:
        raise ValueError(f"formats is empty: choose from {', '.join(FORMATS)}")
    for name in formats:
        check_choice("formats", name, FORMATS)
    return tuple(dict.fromkeys(formats))


def _as_served(model, values):
    """Values as the serving signature takes them: image models get uint8 (rounded, clipped to 0-255)."""
    values = np.asarray(values)
    if is_image_model(model) and values.dtype != np.uint8:
        values = np.clip(np.round(values), 0, 255).astype(np.uint8)
    return values


def _check_set(model, test_data, representative_data):
    """What formats are compared on: the whole test set, else a batch of representative data, else seeded noise."""
    if test_data is not None:
        return test_data[0], "test data"
    if representative_data is not None:
        return representative_data[:CHECK_BATCH], "representative data"
    shape = (CHECK_BATCH,) + tuple(d or 32 for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(0)
    if is_image_model(model):
        return rng.integers(0, 256, shape, dtype=np.uint8), "random uint8 images (seed 0)"
    return rng.standard_normal(shape).astype(np.float32), "random normal inputs (seed 0)"


def _classes(outputs):
    return (outputs[:, 0] > 0.5).astype(int) if outputs.shape[-1] == 1 else outputs.argmax(axis=-1)


def _predict_all(runtime, x, batch_size=CHECK_BATCH):
    return np.concatenate([runtime.predict(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _latency_ms(runtime, x):
    """Mean milliseconds for one image, one call per image, after two warm-up calls."""
    images = x[:LATENCY_IMAGES]
    for image in images[:2]:
        runtime.predict(image[None])
    start = time.perf_counter()
    for image in images:
        runtime.predict(image[None])
    return 1000 * (time.perf_counter() - start) / len(images)


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
    return os.path.getsize(path)


def _measure(runtime, x, reference, labels, classify):
    outputs = _predict_all(runtime, x)
    entry = {"max_abs_diff": float(np.max(np.abs(outputs - reference)))}
    if classify:
        entry["top1_agreement"] = float(np.mean(_classes(outputs) == _classes(reference)))
        if labels is not None:
            entry["test_accuracy"] = float(np.mean(_classes(outputs) == labels))
    entry["latency_ms_per_image"] = round(_latency_ms(runtime, x), 4)
    return entry


def _judge(name, entry, keras_accuracy):
    checks = {}
    if name in MAX_ABS_DIFF:
        checks[f"max_abs_diff <= {MAX_ABS_DIFF[name]:g}"] = entry["max_abs_diff"] <= MAX_ABS_DIFF[name]
    elif "top1_agreement" in entry:
        checks[f"top1_agreement >= {INT8_MIN_AGREEMENT:g}"] = entry["top1_agreement"] >= INT8_MIN_AGREEMENT
        if "test_accuracy" in entry and keras_accuracy is not None:
            entry["accuracy_drop"] = round(keras_accuracy - entry["test_accuracy"], 6)
            checks[f"accuracy_drop <= {INT8_MAX_ACCURACY_DROP:g}"] = entry["accuracy_drop"] <= INT8_MAX_ACCURACY_DROP
    entry["checks"] = checks
    entry["passed"] = all(checks.values())
    return entry


# How each format is written: (model, target path, int8 calibration data, the SavedModel already written)
WRITERS = {
    "saved_model": lambda model, target, data, saved: export_saved_model(model, target),
    "keras": lambda model, target, data, saved: model.save(target),
    "tflite": lambda model, target, data, saved: export_tflite(model, target, saved_model_dir=saved),
    "tflite_int8": lambda model, target, data, saved: export_tflite(model, target, int8=True, representative_data=data,
                                                                   saved_model_dir=saved),
    "onnx": lambda model, target, data, saved: export_onnx(model, target),
}


def _write(name, model, target, representative_data, saved_model_dir):
    WRITERS[name](model, target, representative_data, saved_model_dir)


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text[:300]}"


def export(model: keras.Model, directory: str | os.PathLike, *, formats: str | Sequence[str] = FORMATS,
           representative_data: np.ndarray | None = None, class_names: Sequence[str] | None = None,
           test_data: tuple[np.ndarray, np.ndarray] | None = None, verbose: bool = False) -> dict:
    """Export `model` to `directory` in each of `formats`, check each against Keras, write export_report.json.

    Args:
        model: a single-input, single-output keras.Model taking raw inputs (images as stored, 0-255).
        directory: folder to write; replaced if it exists.
        formats: names from FORMATS, or a comma-separated string.
        representative_data: raw training examples (a few hundred) that calibrate the int8 model.
        class_names: names of the classes, written to labels.txt and the report.
        test_data: (x, y) raw test examples and integer labels: adds each format's test accuracy to the report.

    Returns the report (a dict). A format that could not be produced has "error" instead of figures.
    """
    check_exportable(model)
    formats = check_formats(formats)
    model = inference_model(model)  # the float32 reference every format is compared with
    if test_data is not None and len(test_data[0]) != len(test_data[1]):
        raise ValueError(f"test_data must be (x, y) of one length. Received: {len(test_data[0])} examples and "
                         f"{len(test_data[1])} labels")
    if test_data is not None:
        test_data = (_as_served(model, test_data[0]), np.asarray(test_data[1]))
    if representative_data is not None:
        representative_data = _as_served(model, check_representative_data(representative_data, model))
    directory = os.fspath(directory)
    tmp = directory + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    x, source = _check_set(model, test_data, representative_data)
    labels = None if test_data is None else test_data[1].reshape(-1)
    input_name, input_dtype, output_name = signature_names(model)
    classify = output_name == "probabilities"
    reference = model.predict(x, verbose=0, batch_size=CHECK_BATCH)
    keras_entry = _measure(runtimes.KerasRuntime(model), x, reference, labels, classify)
    for key in ("max_abs_diff", "top1_agreement"):  # Keras against itself: nothing to report
        keras_entry.pop(key, None)
    report = {
        "model": model.name,
        "input": {"name": input_name, "dtype": input_dtype.name, "shape": [None] + list(model.inputs[0].shape[1:])},
        "output": {"name": output_name, "shape": [None] + list(model.outputs[0].shape[1:])},
        "class_names": list(class_names or []),
        "compared_on": {"source": source, "size": int(len(x))},
        "keras": keras_entry,
        "formats": {},
    }
    for name in formats:
        target = os.path.join(tmp, FILES[name])
        saved_model_dir = os.path.join(tmp, FILES["saved_model"]) if "saved_model" in formats[:formats.index(name)] \
            else None
        if verbose:
            print(f"export: {name} ...", flush=True)
        try:
            _write(name, model, target, representative_data, saved_model_dir)
            runtime = runtimes.load_runtime(target)
            entry = {"file": FILES[name], "size_bytes": _size(target)}
            entry.update(_measure(runtime, x, reference, labels, classify))
            report["formats"][name] = _judge(name, entry, keras_entry.get("test_accuracy"))
        except Exception as error:  # noqa: BLE001 -- one format failing must not stop the others
            shutil.rmtree(target, ignore_errors=True)
            if os.path.isfile(target):
                os.remove(target)
            report["formats"][name] = {"file": None, "error": _one_line(error), "passed": False}
    report["passed"] = all(entry["passed"] for entry in report["formats"].values())
    if class_names:
        with open(os.path.join(tmp, "labels.txt"), "w") as f:
            f.write("".join(f"{name}\n" for name in class_names))
    with open(os.path.join(tmp, REPORT), "w") as f:
        json.dump(report, f, indent=2)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return report

