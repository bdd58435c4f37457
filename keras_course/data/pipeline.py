"""The tf.data input pipeline: cache → shuffle → batch → augment the batch → prefetch.

Every epoch's order and augmentation are a pure function of (seed, epoch, batch index). The epoch comes from an
`EpochClock`: its Keras callback sets it at the start of each epoch, so a run resumed at epoch 7 sees exactly the
batches an uninterrupted run would have seen at epoch 7. Without the callback the clock simply advances by one
each time the dataset is iterated, so plain loops still get a new order and new augmentation every pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from keras_course import _private
from keras_course._checks import check_positive
from keras_course.data import augment as augmentation
from keras_course.data.augment_ops import fold

if TYPE_CHECKING:
    from collections.abc import Sequence

AUTOTUNE = tf.data.AUTOTUNE
MAX_STREAM_SHUFFLE_BUFFER = 10_000  # for datasets of unknown size: bounded memory, still well mixed


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with tf.data's model-based autotuning off; AUTOTUNE values then mean "one per core".

    Measured here (TF 2.21, 2 cores, python -m bench pipeline and time_to_accuracy): with the autotuner on, about
    half of all iterator teardowns wait for its background thread: 0.4 s at the end of every other `fit` or
    `evaluate` call, and 7 s before an epoch of the training pipeline (20.4 s epochs instead of 12.7 s).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


class EpochClock:
    """The epoch the training pipeline is in, as a tf.Variable the pipeline reads when an epoch's pass begins."""

    def __init__(self, start: int = 0):
        self.variable = tf.Variable(start, dtype=tf.int64, trainable=False, name="pipeline_epoch")

    def _take_epoch(self):
        epoch = self.variable.read_value()
        with tf.control_dependencies([epoch]):
            self.variable.assign_add(1)
        return tf.identity(epoch)

    def set(self, epoch: int) -> None:
        self.variable.assign(epoch)

    def callback(self) -> keras.callbacks.Callback:
        """A Keras callback that tells the pipeline which epoch `fit` is starting."""
        clock = self

        class SyncEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.set(epoch)

        return SyncEpoch()


def _stream_seed(seed, epoch):
    return tf.cast(seed, tf.int64) * 1_000_003 + epoch


def make_pipeline(dataset: tf.data.Dataset, *, batch_size: int, training: bool = False,
                  augment: str | Sequence[str] | None = None, seed: int = 0, clock: EpochClock | None = None,
                  cache: bool = True, drop_remainder: bool = False, num_classes: int | None = None,
                  views: int = 1) -> tf.data.Dataset:
    """Batch an unbatched `(x, y)` dataset for `fit`/`evaluate`.

    Args:
        dataset: tf.data.Dataset of unbatched `(x, y)`, as returned by `data.load`.
        batch_size: int > 0.
        training: bool. Shuffle each epoch and apply `augment`; evaluation pipelines do neither.
        augment: policy name, list of steps, or None (see `data.augment`). Only used when training.
        seed: int. Seeds the shuffle order and the augmentation.
        clock: EpochClock or None. Pass the same clock's `callback()` to `fit` for exact resumption.
        cache: bool. Cache the decoded examples in memory (before anything random). Datasets made from arrays
            are never cached: they are in memory already, and a cache would be a second copy.
        drop_remainder: bool. Drop the last incomplete batch.
        num_classes: int. Needed when `augment` mixes labels (MixUp, CutMix): the training labels then become
            soft rows of this length; evaluation pipelines keep class indices.
        views: 1, or 2 for self-supervised pretraining: the labels (if the dataset has any) are dropped first, and
            each batch becomes ((view_1, view_2),), two independent augmentations of the same images.

    Returns:
        A batched, prefetched tf.data.Dataset.
    """
    check_positive("batch_size", batch_size, integer=True)
    if views not in (1, 2) or isinstance(views, bool):
        raise ValueError(f"`views` must be 1 (supervised) or 2 (view pairs for self-supervised learning). "
                         f"Received: views={views!r}")
    if views == 2:
        if not training or augment in (None, "none", [], ()):
            raise ValueError("View pairs (views=2) are two augmentations of each image: pass training=True and an "
                             f"augmentation policy such as 'simclr'. Received: training={training!r}, "
                             f"augment={augment!r}")
        if isinstance(dataset.element_spec, tuple):
            dataset = dataset.map(lambda x, *labels: x)  # nothing after this point can read a label
    x_spec = dataset.element_spec[0] if isinstance(dataset.element_spec, tuple) else dataset.element_spec
    if training and augment not in (None, "none", [], ()) and len(x_spec.shape) != 3:
        raise ValueError(
            f"Augmentation needs image inputs of shape (height, width, channels). Received: augment={augment!r} "
            f"for inputs of shape {tuple(x_spec.shape)}; use augment='none'."
        )
    steps = augmentation.resolve_policy(augment, tuple(x_spec.shape)) if training else []
    mixing = augmentation.mixes_labels(steps)
    if mixing and views == 2:
        raise ValueError(f"Label mixing (augment={augment!r}) needs labels, and view pairs (views=2) have none: "
                         "choose a policy without mixup or cutmix.")
    if mixing and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2):
        raise ValueError(f"Label mixing (augment={augment!r}) needs the number of classes: pass num_classes, an int "
                         f">= 2. Received: num_classes={num_classes!r}")
    if cache and not _private.in_memory_dataset(dataset):
        dataset = dataset.cache()
    if not training:
        return without_autotune(dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(AUTOTUNE))

    size = int(dataset.cardinality())
    known = size > 0
    buffer = size if known else MAX_STREAM_SHUFFLE_BUFFER
    clock = clock or EpochClock()

    def one_epoch(epoch):
        _private.detach_graph_seed()  # the order depends on (seed, epoch) alone, not on TF's global seed
        shuffled = dataset.shuffle(buffer, seed=_stream_seed(seed, epoch), reshuffle_each_iteration=False)
        batches = shuffled.batch(batch_size, drop_remainder=drop_remainder)
        if not steps:
            return batches

        def augment_batch(index, batch):
            batch_seed = tf.stack([tf.cast(seed, tf.int32), tf.cast(epoch * 100_003 + index, tf.int32)])
            if views == 2:
                return ((augmentation.apply(steps, batch, fold(batch_seed, 0)),
                         augmentation.apply(steps, batch, fold(batch_seed, 1))),)
            x, y = batch
            if mixing:
                return augmentation.apply(steps, x, batch_seed, labels=y, num_classes=num_classes)
            return augmentation.apply(steps, x, batch_seed), y

        return batches.enumerate().map(augment_batch, num_parallel_calls=AUTOTUNE, deterministic=True)

    epochs = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(lambda _: clock._take_epoch())
    batched = epochs.flat_map(one_epoch)
    if known:
        n_batches = size // batch_size if drop_remainder else -(-size // batch_size)
        batched = batched.apply(tf.data.experimental.assert_cardinality(n_batches))
    return without_autotune(batched.prefetch(AUTOTUNE))
