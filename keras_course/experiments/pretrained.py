"""saved_models/NAME/: a model the project trained itself, with a manifest saying how to reproduce it."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_course import export, training
from keras_course.experiments import report
from keras_course.experiments.run_dir import load_run


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_pretrained(run_dir: str | os.PathLike, root: str | os.PathLike, name: str, *, command: str) -> str:
    """Copy a finished run's model into `root/name/` with manifest.json; returns the folder.

    The folder holds the .keras model, its weights and the run's SavedModel (uint8 images in, for serving). The
    manifest records what the model is, its data and classes, test metrics, parameter count, the precision it
    trained in, the sha256 of the weights file, the date, library versions and the exact command that reproduces
    it.
    """
    config, metrics = load_run(run_dir)
    folder = os.path.join(root, name)
    tmp = folder + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    encoder = config.ssl is not None  # a self-supervised run keeps its encoder: images in, features out
    source = os.path.join(run_dir, report.ENCODER if encoder else "model.keras")
    shutil.copy2(source, os.path.join(tmp, "model.keras"))
    # uncompiled: the weights file and the SavedModel hold the model's variables, not the optimizer's too
    model = keras.models.load_model(os.path.join(tmp, "model.keras"), compile=False)
    model.save_weights(os.path.join(tmp, "model.weights.h5"))
    if not encoder:  # what a server loads without keras_course: raw uint8 images in, "probabilities" out
        export.export_saved_model(model, os.path.join(tmp, "saved_model"))
    dataset = metrics["dataset"]
    manifest = {
        "name": name,
        "kind": "encoder" if encoder else "classifier",
        "description": (f"{config.model} encoder pretrained by {config.ssl} on {config.dataset} without labels"
                        if encoder else f"{config.model} trained on {config.dataset}"),
        "model": config.model,
        "dataset": {"name": dataset["name"], "source": dataset["source"], "sizes": dataset["sizes"],
                    "input_shape": dataset["input_shape"], "classes": dataset["class_names"]},
        "input": "raw pixels, uint8 or float in 0-255, shape " + "x".join(map(str, dataset["input_shape"])),
        "metrics": {k: v for k, v in metrics.items() if k.startswith("test_") and isinstance(v, float)},
        **({"ssl": {"method": config.ssl, "knn_accuracy": metrics["knn_accuracy"],
                    "knn_reference_images": metrics["knn_reference_images"], "features": metrics["features"]}}
           if encoder else {}),
        "epochs_run": metrics["epochs_run"],
        "train_seconds": metrics["train_seconds"],
        "params": metrics["params"],
        "precision": metrics.get("precision", "float32"),  # runs saved before precision existed trained in float32
        "weights_sha256": sha256(os.path.join(tmp, "model.weights.h5")),
        "model_sha256": sha256(os.path.join(tmp, "model.keras")),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "machine": f"{platform.machine()}, {training.precision.cpu_model()}, {os.cpu_count()} CPU cores",
        "config": config.to_dict(),
        "command": command,
    }
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder
