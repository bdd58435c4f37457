"""Images in class folders (`PATH/<class>/*.jpg`), checked file by file before any training sees them.

Layouts: `PATH/train/<class>/…` with `PATH/test/<class>/…` (the test folder is the test split), or `PATH/<class>/…`
alone, in which case a seeded 20% of the files becomes the test split. The validation split is always carved from
the training files with the seed. A flat folder (`PATH/*.jpg`, no class folders) is unlabelled: every image is a
training image (labels all 0, no test split), for self-supervised pretraining alone.
"""

import os

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from keras_course.data.info import UNLABELLED, DatasetNotFoundError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
DEFAULT_IMAGE_SIZE = (160, 160)
TEST_FRACTION = 0.2


def _class_folders(root):
    return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))


def index_folder(root, class_names=None):
    """Return (paths, labels, class_names) for the images under `root/<class>/`, sorted for repeatability."""
    class_names = class_names or _class_folders(root)
    paths, labels = [], []
    for label, name in enumerate(class_names):
        folder = os.path.join(root, name)
        for dirpath, _, files in sorted(os.walk(folder)):
            for file in sorted(files):
                if file.lower().endswith(IMAGE_EXTENSIONS):
                    paths.append(os.path.join(dirpath, file))
                    labels.append(label)
    return paths, np.asarray(labels, dtype="int32"), class_names


def find_unreadable(paths):
    """The paths among `paths` that PIL cannot open and decode."""
    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
        except (OSError, UnidentifiedImageError, ValueError):
            bad.append(path)
    return bad


def _flat_images(root):
    """The images directly in `root` (not in sub-folders), sorted."""
    return sorted(os.path.join(root, f) for f in os.listdir(root)
                  if f.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(root, f)))


def _check_layout(root):
    if not os.path.isdir(root):
        raise DatasetNotFoundError(
            f"image_folder path {root!r} does not exist or is not a folder. Pass image_folder:PATH with PATH holding "
            "one sub-folder of images per class (or, to pretrain without labels, the images themselves)."
        )
    split_layout = os.path.isdir(os.path.join(root, "train")) and os.path.isdir(os.path.join(root, "test"))
    train_root = os.path.join(root, "train") if split_layout else root
    classes = _class_folders(train_root)
    if not classes and _flat_images(root):
        return "flat", root, []
    if len(classes) < 2:
        raise ValueError(
            f"image_folder {train_root!r} holds {len(classes)} class folder(s) ({', '.join(classes) or 'none'}); "
            "at least two are needed, one sub-folder of images per class."
        )
    return split_layout, train_root, classes


def _refuse_unreadable(root, paths):
    bad = find_unreadable(paths)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(f"image_folder {root!r} holds {len(bad)} unreadable image file(s): {shown}. Remove or replace them.")


def decode_dataset(paths, labels, image_size, channels):
    """A tf.data.Dataset of (uint8 image resized to image_size, label) from file paths."""

    def decode(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image = tf.image.resize(image, image_size)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), label

    ds = tf.data.Dataset.from_tensor_slices((np.asarray(paths, dtype=object).astype(str), labels))
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)


def load(root, *, image_size=None, channels=3, seed=0):
    """Return `(train_pool, test, meta)`: datasets of file-backed examples and the facts about them."""
    image_size = tuple(image_size or DEFAULT_IMAGE_SIZE)
    split_layout, train_root, classes = _check_layout(root)
    if split_layout == "flat":
        return _load_flat(root, image_size)
    paths, labels, classes = index_folder(train_root, classes)
    if split_layout:
        test_paths, test_labels, _ = index_folder(os.path.join(root, "test"), classes)
    else:
        order = np.random.default_rng(seed).permutation(len(paths))
        n_test = max(1, int(round(len(paths) * TEST_FRACTION)))
        test_idx, train_idx = order[:n_test], np.sort(order[n_test:])
        test_paths, test_labels = [paths[i] for i in test_idx], labels[test_idx]
        paths, labels = [paths[i] for i in train_idx], labels[train_idx]
    if not paths or not len(test_paths):
        raise ValueError(f"image_folder {root!r} holds no images with extensions {', '.join(IMAGE_EXTENSIONS)}.")
    _refuse_unreadable(root, list(paths) + list(test_paths))
    meta = dict(task="multiclass" if len(classes) > 2 else "binary", class_names=classes, extras={"image_size": image_size},
                value_range=(0, 255), source=os.path.abspath(root))
    return (paths, labels), (list(test_paths), np.asarray(test_labels, dtype="int32")), meta


def _load_flat(root, image_size):
    """An unlabelled folder: every image a training image labelled 0, an empty test split."""
    paths = _flat_images(root)
    _refuse_unreadable(root, paths)
    meta = dict(task=UNLABELLED, class_names=[], extras={"image_size": image_size}, value_range=(0, 255),
                source=os.path.abspath(root))
    return (paths, np.zeros(len(paths), "int32")), ([], np.zeros(0, "int32")), meta
