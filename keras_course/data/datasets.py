"""The dataset registry: `load(name)` gives train / validation / test tf.data.Datasets and a DatasetInfo."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from keras_course._checks import check_choice, check_positive, check_range
from keras_course.data import cifar, image_folder, mnist_like, synthetic, tfds_sets
from keras_course.data.info import UNLABELLED, DatasetInfo

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

IMAGE_FOLDER_PREFIX = "image_folder:"

# name -> loader(data_dir) returning (x_train, y_train, x_test, y_test, meta) as numpy arrays.
ARRAY_DATASETS = {
    "sine": lambda data_dir: synthetic.sine(),
    "and": lambda data_dir: synthetic.logic_gate("and"),
    "or": lambda data_dir: synthetic.logic_gate("or"),
    "xor": lambda data_dir: synthetic.logic_gate("xor"),
    "moons": lambda data_dir: synthetic.moons(),
    "circles": lambda data_dir: synthetic.circles(),
    "spirals": lambda data_dir: synthetic.spirals(),
    "blobs": lambda data_dir: synthetic.blobs(),
    "x_vs_o": lambda data_dir: synthetic.x_vs_o(),
    "digits": lambda data_dir: synthetic.digits(),
    "fashion_mnist": functools.partial(mnist_like.load, "fashion_mnist"),
    "mnist": functools.partial(mnist_like.load, "mnist"),
    "cifar10": functools.partial(cifar.load, "cifar10"),
    "cifar100": functools.partial(cifar.load, "cifar100"),
}
STREAMED_DATASETS = ("cats_vs_dogs",)
DESCRIPTIONS = {
    "sine": "noisy sinusoid, 1-D regression (lab T1)",
    "and": "logic gate AND on noisy corners, binary",
    "or": "logic gate OR on noisy corners, binary",
    "xor": "logic gate XOR on noisy corners, binary (needs a hidden layer)",
    "moons": "two interleaving half circles, binary 2-D (lab T2)",
    "circles": "circle inside a ring, binary 2-D (lab T2)",
    "spirals": "three spiral arms, 3-class 2-D (lab T3)",
    "blobs": "four Gaussian blobs, 4-class 2-D",
    "x_vs_o": "16x16 images of X and O with shifts, thickness and noise",
    "digits": "scikit-learn 8x8 handwritten digits (embedded, offline)",
    "fashion_mnist": "Zalando Fashion-MNIST 28x28x1, 10 classes (IDX files or keras download)",
    "mnist": "MNIST digits 28x28x1, 10 classes (IDX files or keras download)",
    "cifar10": "CIFAR-10 32x32x3, 10 classes (keras cache or download)",
    "cifar100": "CIFAR-100 32x32x3, 100 classes (keras cache or download)",
    "cats_vs_dogs": "cats vs dogs photos via tensorflow-datasets (prepared data_dir)",
    IMAGE_FOLDER_PREFIX + "PATH": "your images, one sub-folder per class",
}


def list_datasets() -> list[str]:
    """The names `load` accepts (`image_folder:PATH` stands for any folder of class sub-folders)."""
    return list(ARRAY_DATASETS) + list(STREAMED_DATASETS) + [IMAGE_FOLDER_PREFIX + "PATH"]


def check_name(name: str) -> None:
    """Raise ValueError naming the valid datasets unless `name` is loadable."""
    if not isinstance(name, str) or not (name.startswith(IMAGE_FOLDER_PREFIX) and len(name) > len(IMAGE_FOLDER_PREFIX)):
        check_choice("dataset", name, list(ARRAY_DATASETS) + list(STREAMED_DATASETS) + [IMAGE_FOLDER_PREFIX + "PATH"])
    return name


def _split_indices(n, val_fraction, seed):
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction))) if val_fraction else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _limit(n, limit, seed):
    """Indices of at most `limit` of `n` examples, drawn with the seed so every class can appear."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def _targets(y, task):
    """Class indices as int32; regression targets as float32 rows (an empty split too: val_fraction=0)."""
    if task != "regression":
        return y.astype("int32")
    return y.astype("float32")[:, None] if y.ndim == 1 else y.astype("float32")


def check_classes(classes: Sequence[int] | str, class_names: Sequence[str] | None = None) -> list[int] | None:
    """`classes` as a list of distinct class indices (below len(class_names) when given), or None."""
    if classes is None:
        return None
    values = list(classes) if isinstance(classes, (list, tuple, range, np.ndarray)) else None
    k = len(class_names) if class_names is not None else None
    if (not values or len(set(values)) != len(values)
            or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c and (k is None or c < k)
                       for c in values)):
        within = f" in [0, {k})" if k is not None else ""
        raise ValueError(f"`classes` must be a list of distinct class indices{within}, e.g. [0, 1, 2]. "
                         f"Received: classes={classes!r}")
    return [int(c) for c in values]


def _select_classes(x, y, classes):
    """Keep the examples of `classes`, relabelled 0..len(classes)-1 in the order given."""
    keep = np.isin(y, classes)
    relabel = np.zeros(int(max(classes)) + 1, dtype=y.dtype)
    relabel[classes] = np.arange(len(classes))
    return x[keep], relabel[y[keep]]


def _from_arrays(name, x_train, y_train, x_test, y_test, meta, *, val_fraction, seed, limit, classes=None):
    if classes is not None:
        if meta["task"] == "regression":
            raise ValueError(f"`classes` needs a classification dataset; {name!r} is regression. Received: classes={classes!r}")
        classes = check_classes(classes, meta["class_names"])
        x_train, y_train = _select_classes(x_train, y_train, classes)
        x_test, y_test = _select_classes(x_test, y_test, classes)
        meta = dict(meta, class_names=[meta["class_names"][c] for c in classes],
                    extras=dict(meta.get("extras", {}), classes=classes))
    keep = _limit(len(x_train), limit, seed)
    x_train, y_train = x_train[keep], y_train[keep]
    keep_test = _limit(len(x_test), limit, seed)
    x_test, y_test = x_test[keep_test], y_test[keep_test]
    train_idx, val_idx = _split_indices(len(x_train), val_fraction, seed)
    task = meta["task"]
    splits = {
        "train": (x_train[train_idx], _targets(y_train[train_idx], task)),
        "val": (x_train[val_idx], _targets(y_train[val_idx], task)),
        "test": (x_test, _targets(y_test, task)),
    }
    datasets = [tf.data.Dataset.from_tensor_slices(splits[k]) if k != "val" or val_fraction else None
                for k in ("train", "val", "test")]
    info = DatasetInfo(
        name=name,
        task=task,
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=(y_train.reshape(len(y_train), -1).shape[1] if task == "regression" else len(meta["class_names"])),
        class_names=list(meta["class_names"]),
        source=meta.get("source", f"generated by keras_course.data.synthetic ({name})"),
        sizes={k: int(len(v[0])) for k, v in splits.items()},
        value_range=meta.get("value_range"),
        extras=dict(meta.get("extras", {})),
    )
    return (*datasets, info)


def _from_image_folder(name, *, val_fraction, seed, limit, image_size, unlabelled):
    root = name[len(IMAGE_FOLDER_PREFIX):]
    (paths, labels), (test_paths, test_labels), meta = image_folder.load(root, image_size=image_size, seed=seed)
    if meta["task"] == UNLABELLED and not unlabelled:
        raise ValueError(f"{name!r} holds images but no class sub-folders, so it has no labels: sort the images into "
                         "one sub-folder per class, or pretrain on it without labels (ssl='simclr' or 'simsiam').")
    keep = _limit(len(paths), limit, seed)
    paths, labels = [paths[i] for i in keep], labels[keep]
    keep_test = _limit(len(test_paths), limit, seed)
    test_paths, test_labels = [test_paths[i] for i in keep_test], test_labels[keep_test]
    train_idx, val_idx = _split_indices(len(paths), val_fraction, seed)
    size = meta["extras"]["image_size"]
    decode = functools.partial(image_folder.decode_dataset, image_size=size, channels=3)
    train = decode([paths[i] for i in train_idx], labels[train_idx])
    val = decode([paths[i] for i in val_idx], labels[val_idx]) if val_fraction else None
    test = decode(test_paths, test_labels)
    info = DatasetInfo(name=name, task=meta["task"], input_shape=(*size, 3), num_classes=len(meta["class_names"]),
                       class_names=meta["class_names"], source=meta["source"],
                       sizes={"train": len(train_idx), "val": len(val_idx), "test": len(test_paths)},
                       value_range=(0, 255), extras=meta["extras"])
    return train, val, test, info


def _in_val(index, val_fraction, seed):
    """A seeded hash of the example index decides membership of the validation split (streamed data)."""
    mixed = tf.math.floormod((index + 7919 * (seed + 1)) * 2654435761, 2**32)
    return tf.cast(mixed, tf.float64) / 2.0**32 < val_fraction


def _from_tfds(name, *, val_fraction, seed, limit, data_dir, image_size):
    pool, test, meta = tfds_sets.load(name, data_dir=data_dir, image_size=tuple(image_size or (160, 160)))
    if limit is not None:
        pool, test = pool.take(limit), test.take(limit)
    def in_train(index, example):
        return tf.logical_not(_in_val(index, val_fraction, seed))

    def in_val(index, example):
        return _in_val(index, val_fraction, seed)

    def drop_index(index, example):
        return example

    indexed = pool.enumerate()
    train = indexed.filter(in_train).map(drop_index)
    val = indexed.filter(in_val).map(drop_index) if val_fraction else None
    info = DatasetInfo(name=name, task=meta["task"], input_shape=(*meta["extras"]["image_size"], 3),
                       num_classes=len(meta["class_names"]), class_names=meta["class_names"], source=meta["source"],
                       sizes={}, value_range=(0, 255), extras=meta["extras"])
    return train, val, test, info


def load(name: str, *, val_fraction: float = 0.1, seed: int = 0, limit: int | None = None,
         data_dir: str | os.PathLike | None = None, image_size: tuple[int, int] | None = None,
         classes: Sequence[int] | None = None,
         unlabelled: bool = False) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset, DatasetInfo]:
    """Load a dataset as train / validation / test `tf.data.Dataset`s of unbatched `(x, y)` and its info.

    Args:
        name: str. A name from `list_datasets()`, or "image_folder:PATH".
        val_fraction: float in [0, 1). Share of the training examples held out for validation. Default 0.1;
            0 trains on every training example and returns None for `val`.
        seed: int. Chooses the validation split (and the subset kept by `limit`); same seed, same split. Default 0.
        limit: int or None. Keep at most this many training and this many test examples, for quick runs.
        data_dir: str or None. A folder to look in first for files of downloadable datasets.
        image_size: (height, width) or None. Size images of image_folder and cats_vs_dogs are resized to.
        classes: list of class indices or None. Keep only these classes (array datasets), relabelled 0..k-1 in
            the order given; e.g. [5, 6, 7, 8, 9] of Fashion-MNIST becomes a 5-class task.
        unlabelled: bool. Accept a flat image folder (images without class sub-folders): its task is "unlabelled",
            its labels all 0 and its test split empty. For self-supervised pretraining and previews; default False.

    Returns:
        `(train, val, test, info)`: three datasets and a `DatasetInfo`. Images are uint8 0–255, classification
        labels int32, regression targets float32.

    Example:
        >>> train, val, test, info = load("moons", seed=1)
        >>> info.task, info.num_classes
        ('binary', 2)
    """
    check_name(name)
    check_range("val_fraction", val_fraction, 0, 1, example=0.1)
    if limit is not None:
        check_positive("limit", limit, integer=True)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"`seed` must be an integer. Received: seed={seed!r}")
    common = dict(val_fraction=val_fraction, seed=seed, limit=limit)
    if classes is not None and name not in ARRAY_DATASETS:
        raise ValueError(f"`classes` works with the in-memory datasets ({', '.join(ARRAY_DATASETS)}). "
                         f"Received: classes={classes!r} for dataset {name!r}")
    if name.startswith(IMAGE_FOLDER_PREFIX):
        return _from_image_folder(name, image_size=image_size, unlabelled=unlabelled, **common)
    if name in STREAMED_DATASETS:
        return _from_tfds(name, data_dir=data_dir, image_size=image_size, **common)
    arrays = ARRAY_DATASETS[name](data_dir)
    return _from_arrays(name, *arrays, classes=classes, **common)


def per_class_subset(x: np.ndarray, y: np.ndarray, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` examples of each class of (x, y), drawn with the seed (few-shot training sets)."""
    check_positive("per_class", per_class, integer=True)
    rng = np.random.default_rng(seed)
    picked = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < per_class:
            raise ValueError(f"Class {label} has {len(members)} examples. Received: per_class={per_class}")
        picked.append(rng.choice(members, size=per_class, replace=False))
    keep = np.sort(np.concatenate(picked))
    return x[keep], y[keep]


def prepare(name: str, data_dir: str | os.PathLike | None = None) -> None:
    """Download `name` into its cache while online, so that later `load` calls work offline."""
    check_name(name)
    if name in STREAMED_DATASETS:
        tfds_sets.prepare(name, data_dir)
    elif name in ARRAY_DATASETS:
        ARRAY_DATASETS[name](data_dir)


def to_numpy(dataset: tf.data.Dataset, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """All `(x, y)` of an unbatched dataset as two numpy arrays."""
    xs, ys = [], []
    for x, y in dataset.batch(batch_size):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)
