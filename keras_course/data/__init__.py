"""Datasets, the tf.data input pipeline and augmentation.

The tf.data parts load on first use, so that `keras_course.data.mnist_like` (the IDX reader) and `data.info` serve a
machine without TensorFlow, such as the GPU one `python -m bench gpu` runs on under JAX.
"""

import importlib

from keras_course.data.info import UNLABELLED, DatasetInfo, DatasetNotFoundError, TASKS

__all__ = ["DESCRIPTIONS", "POLICIES", "STEPS", "TASKS", "UNLABELLED", "check_classes", "check_name", "DatasetInfo",
           "DatasetNotFoundError", "EpochClock", "augment_preview", "check_policy", "list_datasets", "load",
           "make_pipeline", "mixes_labels", "normalization_for", "per_class_subset", "prepare", "resolve_policy",
           "to_numpy", "without_autotune"]

_HOME = {**dict.fromkeys(("POLICIES", "STEPS", "augment_preview", "check_policy", "mixes_labels", "resolve_policy"),
                          "augment"),
         **dict.fromkeys(("DESCRIPTIONS", "check_classes", "check_name", "list_datasets", "load", "per_class_subset",
                          "prepare", "to_numpy"), "datasets"),
         **dict.fromkeys(("EpochClock", "make_pipeline", "without_autotune"), "pipeline"),
         "normalization_for": "stats"}


def __getattr__(name):
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
