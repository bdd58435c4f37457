"""Datasets served by tensorflow-datasets (cats_vs_dogs), used only once prepared on disk.

Offline, `tfds.load` of an unprepared dataset retries for minutes before failing, so we look for the prepared
files first and fail at once with the fix; `data.prepare(name)` is the explicit, online download.
"""

import glob
import os

import tensorflow as tf

from keras_course.data.info import DatasetNotFoundError

TFDS_NAMES = {"cats_vs_dogs": "cats_vs_dogs"}
CLASS_NAMES = {"cats_vs_dogs": ["cat", "dog"]}
TEST_PERCENT = 10  # cats_vs_dogs ships one split; its last 10% is our test set


def tfds_data_dir(data_dir=None):
    return os.fspath(data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets"))


def is_prepared(name, data_dir=None):
    pattern = os.path.join(tfds_data_dir(data_dir), TFDS_NAMES[name], "*", "dataset_info.json")
    return bool(glob.glob(pattern))


def prepare(name, data_dir=None):
    """Download and prepare `name` with tensorflow-datasets (needs the internet)."""
    import tensorflow_datasets as tfds

    tfds.builder(TFDS_NAMES[name], data_dir=tfds_data_dir(data_dir)).download_and_prepare()


def load(name, *, data_dir=None, image_size=(160, 160)):
    """Return `(train_pool, test, meta)` as tf.data.Datasets of (uint8 image, int32 label)."""
    root = tfds_data_dir(data_dir)
    if not is_prepared(name, data_dir):
        raise DatasetNotFoundError(
            f"Dataset {name!r} is not prepared in {root}. To fix: run `keras-course datasets --prepare {name}` once "
            f"while online, or pass data_dir= (or set TFDS_DATA_DIR) to the folder that holds a prepared {TFDS_NAMES[name]}/."
        )
    import tensorflow_datasets as tfds

    pool, test = tfds.load(
        TFDS_NAMES[name],
        split=[f"train[:{100 - TEST_PERCENT}%]", f"train[{100 - TEST_PERCENT}%:]"],
        data_dir=root,
        download=False,
        try_gcs=False,
        as_supervised=True,
    )

    def resize(image, label):
        image = tf.image.resize(image, image_size)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), tf.cast(label, tf.int32)

    pool = pool.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    test = test.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    meta = dict(task="binary", class_names=CLASS_NAMES[name], extras={"image_size": tuple(image_size)},
                value_range=(0, 255), source=root)
    return pool, test, meta
