"""fine_tune: train the new head on a frozen backbone, then unfreeze and fine-tune at a low learning rate."""

import dataclasses

import tensorflow as tf

from keras_course import training
from keras_course._checks import check_positive
from keras_course.transfer import freezing


@dataclasses.dataclass
class FineTuneResult:
    """The two phases' `History.history` dicts; epochs of the second continue the first's numbering."""

    head: dict
    fine_tune: dict


def fine_tune(model, train, val=None, *, head_epochs=5, fine_tune_epochs=5, head_lr=1e-3, fine_tune_lr=1e-5,
              unfreeze=None, discriminative_lr=None, optimizer="adam", callbacks=None, verbose=1, **compile_options):
    """Head first, then fine-tune: the transfer-learning recipe, with the recompile nobody should forget.

    Args:
        model: a classifier from `build_classifier` (a nested backbone + head).
        train, val: what `model.fit` takes as data and validation_data (e.g. batched tf.data.Datasets).
        head_epochs, fine_tune_epochs: int >= 0 epochs of each phase.
        head_lr, fine_tune_lr: learning rates of each phase (fine-tuning usually 10-100x lower).
        unfreeze: what to unfreeze for phase 2: None (the whole backbone) or a dict of `unfreeze()` arguments,
            e.g. {"stages": 2} or {"top": 20} or {"from_layer": "conv5_block1_1_conv"}. BatchNorm stays frozen.
        discriminative_lr: None, or a factor in (0, 1]: in phase 2 the top stage learns at fine_tune_lr x factor,
            the next at x factor², ... (the head at fine_tune_lr).
        optimizer: a name from training.OPTIMIZERS.
        callbacks: list of Keras callbacks used in both phases.
        compile_options: passed to `training.compile_model` (weight_decay, label_smoothing, jit_compile, ...).
    """
    for argument, value in (("head_epochs", head_epochs), ("fine_tune_epochs", fine_tune_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{argument}` must be an int >= 0. Received: {argument}={value!r}")
    check_positive("head_lr", head_lr)
    check_positive("fine_tune_lr", fine_tune_lr)
    if unfreeze is not None and (not isinstance(unfreeze, dict) or set(unfreeze) - {"top", "from_layer", "stages"}):
        raise ValueError(f"`unfreeze` must be None or a dict with one of top, from_layer, stages. Received: unfreeze={unfreeze!r}")
    callbacks = list(callbacks or [])
    fit = dict(validation_data=val, callbacks=callbacks, verbose=verbose,
               shuffle=not isinstance(train, tf.data.Dataset))  # a tf.data pipeline shuffles itself

    freezing.backbone_of(model).trainable = False
    training.compile_model(model, optimizer=optimizer, lr=head_lr, **compile_options)
    head = model.fit(train, epochs=head_epochs, **fit) if head_epochs else None

    freezing.set_unfrozen(model, **(unfreeze or {}))
    multipliers = freezing.stage_lr_multipliers(model, discriminative_lr) if discriminative_lr is not None else None
    training.compile_model(model, optimizer=optimizer, lr=fine_tune_lr, lr_multipliers=multipliers, **compile_options)
    tuned = None
    if fine_tune_epochs:
        tuned = model.fit(train, initial_epoch=head_epochs, epochs=head_epochs + fine_tune_epochs, **fit)
    return FineTuneResult(head=head.history if head else {}, fine_tune=tuned.history if tuned else {})

