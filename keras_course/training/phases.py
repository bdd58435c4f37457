"""Phases: the one loop that trains. Every way of training is a list of phases run by `fit_phases`.

A phase is one stretch of training with one optimizer: what trains, the optimizer and its schedule, the epochs.
A plain run is one phase; transfer learning is two (the head on a frozen backbone, then fine-tuning); the
compression and self-supervised techniques add theirs. Epochs are numbered across phases, so the history,
TensorBoard and the resume backup see one run.

With an `ExactBackupAndRestore` among the callbacks, a run interrupted anywhere resumes in the phase it was in,
with what that phase trains and that phase's optimizer state, and ends with the weights of an uninterrupted run:
every epoch's backup records its phase, and the end of each phase is backed up once more, marked done.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import keras

from keras_course._checks import check_int
from keras_course.training.callbacks import ExactBackupAndRestore, TimeBudget
from keras_course.training.compile import compile_model

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Phase", "fit_phases", "phase_starts"]


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stretch of training with one optimizer.

    Args:
        name: str. Shown in logs, e.g. "head" or "fine_tune".
        epochs: int >= 0. Epochs of this phase (0: set up what trains and compile, but train nothing).
        lr: float or None. Peak learning rate (None: the optimizer's usual one).
        schedule: a name from training.SCHEDULES; a decaying schedule spans this phase's steps.
        warmup_epochs: int >= 0. Linear warm-up at the start of this phase ("cosine").
        optimizer: a name from training.OPTIMIZERS, or None for the optimizer `fit_phases` is given.
        trains: callable(model) setting which layers train, or None to leave them as they are. It must set them
            outright (not relative to the previous phase): a resumed run enters this phase directly.
        lr_multipliers: callable(model) -> {variable path: factor}, called after `trains`, or None.
        callbacks: extra Keras callbacks of this phase only (they run before the fit's own).
    """

    name: str
    epochs: int
    lr: float | None = None
    schedule: str = "constant"
    warmup_epochs: int = 0
    optimizer: str | None = None
    trains: Callable[[keras.Model], Any] | None = None
    lr_multipliers: Callable[[keras.Model], dict] | None = None
    callbacks: Sequence[keras.callbacks.Callback] = ()

    def __post_init__(self):
        for argument in ("epochs", "warmup_epochs"):
            check_int(argument, getattr(self, argument), why=f" (phase {self.name!r})")


def phase_starts(phases: Sequence[Phase], initial_epoch: int = 0) -> list:
    """The first epoch of each phase, numbered across phases from `initial_epoch`."""
    starts, epoch = [], initial_epoch
    for phase in phases:
        starts.append(epoch)
        epoch += phase.epochs
    return starts


def _steps_per_epoch(train):
    cardinality = getattr(train, "cardinality", None)
    if cardinality is None:
        return None
    steps = int(cardinality())
    return steps if steps > 0 else None


def _entry(backup, phases):
    """(index of the phase to start in, whether it resumes from the backup, the epoch that phase ended at or None)."""
    position = backup.position() if backup is not None else None
    if position is None:
        return 0, False, None
    phase = min(int(position.get("phase", 0)), len(phases) - 1)
    ended = position.get("phase_done") or position.get("stopped")
    return phase, True, int(position["epoch"]) if ended else None


def fit_phases(model: keras.Model, phases: Sequence[Phase], train: tf.data.Dataset | tuple,
               val: tf.data.Dataset | tuple | None = None, *, task: str = None, optimizer: str = "adam",
               callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 0, initial_epoch: int = 0,
               steps_per_epoch: int = None, scope: Callable[[], contextlib.AbstractContextManager] | None = None,
               **compile_options) -> list:
    """Train `model` through `phases` in order, compiling it afresh for each; returns each phase's history dict.

    Args:
        model: keras.Model.
        phases: list of Phase.
        train: a batched tf.data.Dataset, or an (x, y) tuple of arrays.
        val: validation data as `model.fit` takes it (a batched tf.data.Dataset, an (x, y) tuple), or None.
        task: the model's task (training.compile's TASKS), or None to infer it from the output layer.
        optimizer: the optimizer of phases that name none.
        callbacks: Keras callbacks shared by every phase (early stopping, checkpoint, logs, resume backup...);
            a TimeBudget among them that runs out ends the whole run, no later phase starting.
        verbose: passed to `fit`.
        initial_epoch: the first phase's first epoch (e.g. a Hyperband trial that continues another).
        steps_per_epoch: optimizer steps per epoch for the schedules; None reads it from a tf.data `train`.
        scope: callable returning a context manager to compile in (a distribution strategy's `scope`), or None.
        compile_options: passed to `training.compile_model` (weight_decay, label_smoothing, jit_compile,
            steps_per_execution, ...).

    Returns:
        A list with one `History.history` dict per phase ({} for phases that trained nothing here).
    """
    phases = list(phases)
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ValueError(f"`phases` must be a non-empty list of Phase. Received: phases={phases!r}")
    callbacks = list(callbacks)
    backup = next((c for c in callbacks if isinstance(c, ExactBackupAndRestore)), None)
    budget = next((c for c in callbacks if isinstance(c, TimeBudget)), None)
    steps = steps_per_epoch or _steps_per_epoch(train)
    starts = phase_starts(phases, initial_epoch)
    first, resuming, ended_at = _entry(backup, phases)
    histories = [{} for _ in phases]
    for index in range(first, len(phases)):
        if budget is not None and budget.exhausted and index > first:
            break  # the time budget ran out in an earlier phase (restored from the backup when resuming)
        phase = phases[index]
        if phase.trains is not None:
            phase.trains(model)
        multipliers = phase.lr_multipliers(model) if phase.lr_multipliers is not None else None
        with scope() if scope is not None else contextlib.nullcontext():
            compile_model(model, task=task, optimizer=phase.optimizer or optimizer, lr=phase.lr,
                          schedule=phase.schedule, total_steps=steps * phase.epochs if steps and phase.epochs else None,
                          warmup_steps=(steps or 0) * phase.warmup_epochs, lr_multipliers=multipliers,
                          **compile_options)
        restore = resuming and index == first
        if not phase.epochs and not restore:
            continue
        start, end = starts[index], starts[index] + phase.epochs
        if backup is not None:
            backup.phase, backup.restore = index, restore
        if restore and ended_at is not None:
            start = end = ended_at  # the phase had ended: restore it, train nothing more
        history = model.fit(*(train if isinstance(train, tuple) else (train,)), validation_data=val,
                            initial_epoch=start, epochs=end, callbacks=[*phase.callbacks, *callbacks],
                            verbose=verbose, shuffle=not hasattr(train, "cardinality"))  # tf.data shuffles itself
        histories[index] = history.history
        if backup is not None:
            backup.finish_phase()
    return histories

