"""The one path from a RunConfig to a trained model: its data, its model, its pipelines and its phases.

    train, val, test, info = load_splits(config)
    model = build_for(config, train, info)
    train_pipe, val_pipe = pipelines(config, train, val, info=info)
    training.fit_phases(model, phases_for(config), train_pipe, val_pipe, **compile_options(config, info))

`train` (a run directory), the search's trials, the learning-rate finder, `fit` (in memory, for the labs), the
comparison and the transfer study all go through these functions; a new way of training adds phases, not a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from keras_course import data, models, training
from keras_course.experiments.config import RunConfig

if TYPE_CHECKING:
    import tensorflow as tf

    from keras_course.data.info import DatasetInfo
    from keras_course.data.pipeline import EpochClock

__all__ = ["as_config", "build_for", "compile_options", "knn_sets", "load_splits", "phases_for", "pipelines",
           "soft_labels"]

VAL_BATCH = 256  # evaluation batches: at least this, or the training batch when larger


def as_config(config: "RunConfig | dict") -> RunConfig:
    """`config` (a RunConfig or a dict of its fields) as a validated RunConfig."""
    if not isinstance(config, RunConfig):
        if not isinstance(config, dict):
            raise ValueError(f"`config` must be a RunConfig or a dict of its fields. Received: config={config!r}")
        config = RunConfig.from_dict(config)
    return config.validate()


def load_splits(config: RunConfig) -> tuple:
    """(train, val, test, info) of `config`'s dataset: unbatched `(x, y)` datasets, split by its seed."""
    splits = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed, limit=config.limit,
                       data_dir=config.data_dir, classes=config.classes, image_size=config.image_size,
                       unlabelled=config.ssl is not None)  # a flat image folder is enough to pretrain on
    info = splits[3]
    if config.ssl is not None and not info.is_image:
        raise ValueError(f"ssl={config.ssl!r} learns from images, and {config.dataset!r} has none (inputs of shape "
                         f"{tuple(info.input_shape)}).")
    if config.augment not in (None, "none", []) and not info.is_image:
        raise ValueError(f"`augment` applies to image datasets; {config.dataset!r} is not one. "
                         f"Received: augment={config.augment!r}")
    if info.is_image:
        data.check_policy(config.augment, info.input_shape, info.task)
    return splits


def soft_labels(config: RunConfig, info: DatasetInfo) -> bool:
    """Whether `config`'s training labels are soft (its augmentation mixes labels): it then compiles a loss and
    an accuracy that read soft labels and class indices alike."""
    return info.is_image and data.mixes_labels(config.augment, info.input_shape)


def build_for(config: RunConfig, train: tf.data.Dataset, info: DatasetInfo) -> keras.Model:
    """The registry model of `config` with the task's head and the normalisation inside (a transfer run: the
    backbone with a new head), in the current dtype policy."""
    settings = config.transfer_settings()
    if config.ssl is not None:
        from keras_course import ssl

        encoder = ssl.encoder_for(config.model, info.input_shape, normalization=data.normalization_for(train, info),
                                  **config.model_options)
        if config.bn_momentum is not None:
            models.set_batch_norm_momentum(encoder, config.bn_momentum)
        return ssl.METHODS[config.ssl](encoder, name=f"{config.ssl}_{config.model}")
    if settings is not None:
        from keras_course import transfer

        return transfer.build_classifier(
            config.model, models.head_options(info.task, info.num_classes)["num_classes"], weights=settings["weights"],
            input_shape=info.input_shape, dropout=settings["dropout"], resize=settings["resize"],
            options=settings["options"],
        )
    options = dict(models.head_options(info.task, info.num_classes))
    options["normalization"] = data.normalization_for(train, info)
    options.update(config.model_options)
    model = models.build(config.model, input_shape=info.input_shape, **options)
    if config.bn_momentum is not None:
        models.set_batch_norm_momentum(model, config.bn_momentum)
    return model


def pipelines(config: RunConfig, train: tf.data.Dataset, val: tf.data.Dataset | None = None, *,
              clock: EpochClock | None = None, info: DatasetInfo | None = None) -> tuple:
    """(training pipeline, validation pipeline or None): batched, the training one shuffled and augmented by
    `config`'s seed (and `clock`'s epoch, for an exact resume). `info` gives the classes that label mixing needs.
    A self-supervised run trains on view pairs without labels (its augmentation: the simclr views unless given)
    and has no validation pipeline: its kNN monitor (`knn_sets`) watches it instead."""
    if config.ssl is not None:
        views = "simclr" if config.augment in (None, "none", []) else config.augment
        return data.make_pipeline(train, batch_size=config.batch_size, training=True, augment=views, seed=config.seed,
                                  clock=clock, views=2), None
    train_pipe = data.make_pipeline(train, batch_size=config.batch_size, training=True, augment=config.augment,
                                    seed=config.seed, clock=clock,
                                    num_classes=None if info is None else info.num_classes)
    val_pipe = None if val is None else data.make_pipeline(val, batch_size=max(VAL_BATCH, config.batch_size))
    return train_pipe, val_pipe


KNN_REFERENCE, KNN_QUERIES = 2000, 1000  # the kNN monitor's labelled images: enough for a stable figure, quick
KNN_NEIGHBOURS = 20  # the monitor's k


def knn_sets(train: tf.data.Dataset, val: tf.data.Dataset | None, info: DatasetInfo) -> tuple | None:
    """(reference, queries) of the kNN monitor, as (images, labels): the first KNN_REFERENCE training images, and
    the validation split's first KNN_QUERIES (without one, the training images after the reference, the reference
    then at most two thirds of them). Never the test split: nothing is chosen on it. None for unlabelled images,
    which leave the monitor nothing to score."""
    if info.task == data.UNLABELLED:
        return None
    x, y = data.to_numpy(train.take(KNN_REFERENCE + (0 if val is not None else KNN_QUERIES)))
    cut = KNN_REFERENCE if val is not None else min(KNN_REFERENCE, 2 * len(x) // 3)
    reference = (x[:cut], y[:cut])
    queries = data.to_numpy(val.take(KNN_QUERIES)) if val is not None else (x[cut:], y[cut:])
    if len(reference[0]) < KNN_NEIGHBOURS or len(queries[0]) == 0:
        raise ValueError(f"The kNN monitor needs at least {KNN_NEIGHBOURS} labelled reference images and some to "
                         f"score; this run has {len(reference[0])} and {len(queries[0])}: use more training images "
                         "(limit) or keep a validation split (val_fraction).")
    return reference, queries


def phases_for(config: RunConfig, *, initial_epoch: int = 0) -> list:
    """The phases of `config`: one for a plain run (its epochs from `initial_epoch` on), the head and the
    fine-tuning for a transfer run (`transfer.fine_tune_phases`); phases of zero epochs are left out."""
    settings = config.transfer_settings()
    if settings is None:
        phases = [training.Phase("train", config.epochs - initial_epoch, lr=config.lr, schedule=config.schedule,
                                 # a run that continues another (a Hyperband trial) does not warm up again
                                 warmup_epochs=0 if initial_epoch else config.warmup_epochs)]
    else:
        from keras_course import transfer

        stages = settings["unfreeze_stages"]
        phases = transfer.fine_tune_phases(
            head_epochs=config.epochs, fine_tune_epochs=settings["fine_tune_epochs"], head_lr=config.lr,
            fine_tune_lr=settings["fine_tune_lr"], unfreeze=None if stages is None else {"stages": stages},
            head_schedule=config.schedule, head_warmup_epochs=config.warmup_epochs)
    return [phase for phase in phases if phase.epochs]


def compile_options(config: RunConfig, info: DatasetInfo, *, replicas: int = 1) -> dict:
    """What every phase of `config` compiles with besides its own optimizer settings (`training.fit_phases`)."""
    options = dict(task=info.task, optimizer=config.optimizer, weight_decay=config.weight_decay,
                   label_smoothing=config.label_smoothing, jit_compile=config.jit_compile)
    if soft_labels(config, info):
        options["soft_labels"] = True
    if replicas > 1:  # several steps per call fail in a distributed fit (keras-team/keras#19246)
        options["steps_per_execution"] = 1
    return options

