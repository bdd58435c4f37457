"""Fashion-MNIST and MNIST from IDX files on disk, falling back to keras's download."""

import gzip
import os

import numpy as np

from keras_course import _offline as offline
from keras_course.data.info import DatasetNotFoundError

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]

# Where Debian's packages put the IDX files (`apt-get install dataset-fashion-mnist`).
DEBIAN_DIRS = {"fashion_mnist": ["/usr/share/datasets/fashion-mnist"], "mnist": ["/usr/share/datasets/mnist"]}
KERAS_CACHE_SUBDIR = {"fashion_mnist": "fashion-mnist", "mnist": ""}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
HOW_TO_GET = {
    "fashion_mnist": "run `apt-get install dataset-fashion-mnist`",
    "mnist": "download mnist.npz or the four IDX files while online",
}


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a numpy array, checking its header against its size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex()}).")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise ValueError(f"{path} is truncated or corrupt: header says {shape} ({expected} bytes), found {len(raw) - offset}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _find_idx(folder):
    """Paths of the four IDX files in `folder` (plain or .gz), or None if any is missing."""
    found = []
    for stem in IDX_FILES:
        for candidate in (stem, stem + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                found.append(path)
                break
        else:
            return None
    return found


def _from_folder(folder):
    paths = _find_idx(folder)
    if paths:
        x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
        return x_train, y_train, x_test, y_test
    npz = os.path.join(folder, "mnist.npz")
    if os.path.isfile(npz):
        with np.load(npz) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    return None


def _download(name):
    import keras

    module = {"fashion_mnist": keras.datasets.fashion_mnist, "mnist": keras.datasets.mnist}[name]
    (x_train, y_train), (x_test, y_test) = module.load_data()
    return x_train, y_train, x_test, y_test


def load(name, data_dir=None):
    """Return `(x_train, y_train, x_test, y_test, meta)` for "fashion_mnist" or "mnist"."""
    cache = os.path.join(offline.keras_cache_dir(), KERAS_CACHE_SUBDIR[name])
    searched = offline.candidate_dirs(data_dir, *DEBIAN_DIRS[name], cache)
    arrays, source = None, None
    for folder in searched:
        if os.path.isdir(folder):
            arrays = _from_folder(folder)
            if arrays is not None:
                source = folder
                break
    reason = ""
    if arrays is None and offline.offline():
        reason = f" (download skipped: {offline.ENV_OFFLINE} is set)"
    elif arrays is None:
        try:
            arrays, source = _download(name), "keras.datasets download"
        except Exception as error:  # keras raises several kinds on a failed fetch
            reason = f" (download failed: {type(error).__name__})"
    if arrays is None:
        raise DatasetNotFoundError(
            f"Dataset {name!r} not found in {', '.join(searched)}{reason}. To fix: {HOW_TO_GET[name]}, "
            f"or pass data_dir= (or set {offline.ENV_DATA_DIR}) to a folder holding the four IDX files."
        )
    x_train, y_train, x_test, y_test = arrays
    meta = dict(
        task="multiclass",
        class_names=FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES,
        extras={},
        value_range=(0, 255),
        source=source,
    )
    return x_train[..., None], y_train.astype("int32"), x_test[..., None], y_test.astype("int32"), meta
