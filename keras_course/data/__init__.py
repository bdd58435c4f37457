"""Datasets, the tf.data input pipeline and augmentation."""

from keras_course.data.augment import POLICIES, STEPS, resolve_policy
from keras_course.data.datasets import (DESCRIPTIONS, check_classes, check_name, list_datasets, load,
                                       per_class_subset, prepare, to_numpy)
from keras_course.data.info import DatasetInfo, DatasetNotFoundError, TASKS
from keras_course.data.pipeline import EpochClock, make_pipeline, without_autotune
from keras_course.data.stats import normalization_for

__all__ = ["DESCRIPTIONS", "POLICIES", "STEPS", "TASKS", "check_classes", "check_name", "DatasetInfo",
           "DatasetNotFoundError", "EpochClock", "list_datasets", "load", "make_pipeline", "normalization_for",
           "per_class_subset", "prepare", "resolve_policy", "to_numpy", "without_autotune"]
