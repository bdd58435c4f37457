"""Training helpers around model.fit: compile by name, schedules, callbacks, exact resume, seeding.

Everything here but `distribute` and `layer_statistics` runs on every Keras backend; those two are TensorFlow's
(tf.distribute, GradientTape) and load on first use, so that `import keras_course.training` needs no TensorFlow
under JAX or PyTorch.
"""

import importlib

from keras_course.training.callbacks import (EpochSeconds, ExactBackupAndRestore, NaNLossError, StopOnNaN, TimeBudget,
                                             make_callbacks, resume_epoch)
from keras_course.training.compile import (DEFAULT_LR, DEFAULT_STEPS_PER_EXECUTION, OPTIMIZERS, compile_model, infer_task, loss_and_metrics,
                                           resolve_jit)
from keras_course.training.layerwise import with_lr_multipliers
from keras_course.training.phases import Phase, fit_phases, phase_starts
from keras_course.training.precision import PRECISIONS, dtype_policy, resolve_precision
from keras_course.training.schedules import SCHEDULES, OneCycle, make_schedule
from keras_course.training.seeding import set_seed

__all__ = ["DEFAULT_LR", "EpochSeconds", "DEFAULT_STEPS_PER_EXECUTION", "OPTIMIZERS", "PRECISIONS", "SCHEDULES", "STRATEGIES",
           "compile_model", "dtype_policy", "ExactBackupAndRestore", "fit_phases", "infer_task", "is_chief",
           "is_multiworker", "layer_statistics", "loss_and_metrics", "make_callbacks", "make_schedule",
           "make_strategy", "multiworker_fit_patch", "NaNLossError", "OneCycle", "Phase", "phase_starts",
           "resolve_jit", "resolve_precision", "resume_epoch", "set_batch_norm_synchronized", "set_seed",
           "split_cpu", "StopOnNaN", "TimeBudget", "with_lr_multipliers", "worker_dir"]

_TENSORFLOW_ONLY = {"layer_statistics": "diagnostics", **{name: "distribute" for name in (
    "STRATEGIES", "is_chief", "is_multiworker", "make_strategy", "multiworker_fit_patch", "set_batch_norm_synchronized",
    "split_cpu", "worker_dir")}}


def __getattr__(name):
    if name in _TENSORFLOW_ONLY:
        return getattr(importlib.import_module(f"{__name__}.{_TENSORFLOW_ONLY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
