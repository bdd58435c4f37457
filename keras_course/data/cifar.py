"""CIFAR-10 and CIFAR-100 through keras.datasets (its cache, or a download), or from an extracted folder."""

import os
import pickle

import numpy as np

from keras_course import _offline as offline
from keras_course import _private
from keras_course.data.info import DatasetNotFoundError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
KERAS_TARGETS = {"cifar10": "cifar-10-batches-py-target", "cifar100": "cifar-100-python-target"}


def _find_folder(name, data_dir):
    cache = offline.keras_cache_dir()
    roots = offline.candidate_dirs(data_dir, os.path.join(cache, KERAS_TARGETS[name]), cache)
    for root in roots:
        for folder in (os.path.join(root, FOLDERS[name]), root):
            marker = "data_batch_1" if name == "cifar10" else "train"
            if os.path.isfile(os.path.join(folder, marker)):
                return folder, roots
    return None, roots


def _read_folder(name, folder):
    load_batch = _private.cifar_load_batch  # keras's own reader of the pickled batches

    if name == "cifar10":
        parts = [load_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
        x_train = np.concatenate([p[0] for p in parts])
        y_train = np.concatenate([np.asarray(p[1]) for p in parts])
        x_test, y_test = load_batch(os.path.join(folder, "test_batch"))
        class_names = CIFAR10_CLASSES
    else:
        x_train, y_train = load_batch(os.path.join(folder, "train"), label_key="fine_labels")
        x_test, y_test = load_batch(os.path.join(folder, "test"), label_key="fine_labels")
        with open(os.path.join(folder, "meta"), "rb") as f:
            class_names = pickle.load(f, encoding="latin1")["fine_label_names"]
    to_nhwc = lambda x: np.asarray(x, dtype="uint8").transpose(0, 2, 3, 1)  # noqa: E731
    return to_nhwc(x_train), np.asarray(y_train), to_nhwc(x_test), np.asarray(y_test), class_names


def _download(name):
    import keras

    module = keras.datasets.cifar10 if name == "cifar10" else keras.datasets.cifar100
    module.load_data()  # fills keras's cache; we then read it like any extracted folder


def load(name, data_dir=None):
    """Return `(x_train, y_train, x_test, y_test, meta)` for "cifar10" or "cifar100"."""
    folder, searched = _find_folder(name, data_dir)
    if folder is None:
        if offline.offline():
            reason = f"download skipped: {offline.ENV_OFFLINE} is set"
        else:
            try:
                _download(name)
                reason = None
            except Exception as error:  # keras raises several kinds on a failed fetch
                reason = f"download failed: {type(error).__name__}"
            folder, _ = _find_folder(name, None)
        if folder is None:
            raise DatasetNotFoundError(
                f"Dataset {name!r} not found in {', '.join(searched)} ({reason or 'download left no files'}). To fix: "
                f"run `python -c \"import keras; keras.datasets.{name}.load_data()\"` once while online, or pass "
                f"data_dir= (or set {offline.ENV_DATA_DIR}) to a folder holding the extracted {FOLDERS[name]}/."
            )
    x_train, y_train, x_test, y_test, class_names = _read_folder(name, folder)
    meta = dict(task="multiclass", class_names=list(class_names), extras={}, value_range=(0, 255), source=folder)
    return x_train, y_train.reshape(-1).astype("int32"), x_test, y_test.reshape(-1).astype("int32"), meta
