"""The transfer-learning recipe as two phases: the new head on a frozen backbone, then fine-tuning at a low rate."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from keras_course import training
from keras_course._checks import check_int, check_positive
from keras_course.transfer import freezing

if TYPE_CHECKING:
    from collections.abc import Sequence

    import keras
    import tensorflow as tf

    from keras_course.training.phases import Phase

__all__ = ["FineTuneResult", "fine_tune", "fine_tune_phases"]


@dataclasses.dataclass
class FineTuneResult:
    """The two phases' `History.history` dicts; epochs of the second continue the first's numbering."""

    head: dict
    fine_tune: dict


def fine_tune_phases(*, head_epochs: int = 5, fine_tune_epochs: int = 5, head_lr: float = 1e-3,
                     fine_tune_lr: float = 1e-5, unfreeze: dict | None = None,
                     discriminative_lr: float | None = None, head_schedule: str = "constant",
                     head_warmup_epochs: int = 0) -> list[Phase]:
    """[head, fine_tune]: the training.Phase list of the recipe (BatchNorm frozen throughout).

    Args:
        head_epochs, fine_tune_epochs: int >= 0 epochs of each phase.
        head_lr, fine_tune_lr: learning rates of each phase (fine-tuning usually 10-100x lower); head_lr None is
            the optimizer's usual rate.
        unfreeze: what phase 2 trains: None (the whole backbone) or a dict of `unfreeze()` arguments,
            e.g. {"stages": 2} or {"top": 20} or {"from_layer": "conv5_block1_1_conv"}.
        discriminative_lr: None, or a factor in (0, 1]: in phase 2 the top stage learns at fine_tune_lr x factor,
            the next at x factor², ... (the head at fine_tune_lr).
        head_schedule, head_warmup_epochs: the head phase's schedule (the fine-tuning rate is constant).
    """
    check_int("head_epochs", head_epochs)
    check_int("fine_tune_epochs", fine_tune_epochs)
    if head_lr is not None:  # None: the optimizer's usual rate
        check_positive("head_lr", head_lr)
    check_positive("fine_tune_lr", fine_tune_lr)
    if unfreeze is not None and (not isinstance(unfreeze, dict) or set(unfreeze) - {"top", "from_layer", "stages"}):
        raise ValueError(f"`unfreeze` must be None or a dict with one of top, from_layer, stages. Received: unfreeze={unfreeze!r}")
    def stage_multipliers(model):
        return freezing.stage_lr_multipliers(model, discriminative_lr)

    return [
        training.Phase("head", head_epochs, lr=head_lr, schedule=head_schedule, warmup_epochs=head_warmup_epochs,
                       trains=_freeze_backbone),
        training.Phase("fine_tune", fine_tune_epochs, lr=fine_tune_lr,
                       trains=lambda model: freezing.set_unfrozen(model, **(unfreeze or {})),
                       lr_multipliers=stage_multipliers if discriminative_lr is not None else None),
    ]


def _freeze_backbone(model):
    freezing.backbone_of(model).trainable = False  # fit_phases compiles next: no warning about recompiling


def fine_tune(model: keras.Model, train: tf.data.Dataset | tuple, val: tf.data.Dataset | tuple | None = None, *,
              head_epochs: int = 5, fine_tune_epochs: int = 5, head_lr: float = 1e-3, fine_tune_lr: float = 1e-5,
              unfreeze: dict | None = None, discriminative_lr: float | None = None, optimizer: str = "adam",
              callbacks: Sequence[keras.callbacks.Callback] | None = None, verbose: int = 1,
              **compile_options) -> FineTuneResult:
    """Head first, then fine-tune: the transfer-learning recipe, with the recompile nobody should forget.

    Args:
        model: a classifier from `build_classifier` (a nested backbone + head).
        train, val: what `model.fit` takes as data and validation_data (e.g. batched tf.data.Datasets).
        head_epochs, fine_tune_epochs, head_lr, fine_tune_lr, unfreeze, discriminative_lr: see `fine_tune_phases`.
        optimizer: a name from training.OPTIMIZERS.
        callbacks: list of Keras callbacks used in both phases.
        compile_options: passed to `training.compile_model` (weight_decay, label_smoothing, jit_compile, ...).
    """
    phases = fine_tune_phases(head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, head_lr=head_lr,
                              fine_tune_lr=fine_tune_lr, unfreeze=unfreeze, discriminative_lr=discriminative_lr)
    head, tuned = training.fit_phases(model, phases, train, val, optimizer=optimizer, callbacks=callbacks or [],
                                      verbose=verbose, **compile_options)
    return FineTuneResult(head=head, fine_tune=tuned)
