"""Callbacks for a run directory: early stopping, best checkpoint, exact resume, TensorBoard, CSV, NaN stop."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_course import _private
from keras_course._checks import check_positive
from keras_course.models.weights import readable_weights_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keras_course.data.pipeline import EpochClock

BACKUP_DIR = "backup"
BEST_WEIGHTS = "best.weights.h5"
STATE_FILE = "training_state.npz"
# Attributes of Keras callbacks that decide what they do next; restored on resume so a resumed run acts alike.
CALLBACK_STATE = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    keras.callbacks.ModelCheckpoint: ("best",),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
}


class NaNLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite loss and say where it happened and what to try."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            lr = getattr(self.model.optimizer, "learning_rate", None)
            lr_text = f" (learning rate {float(keras.ops.convert_to_numpy(lr)):.3g})" if lr is not None else ""
            raise NaNLossError(
                f"Loss became {float(loss)} at epoch {self.epoch + 1}, step {batch + 1}{lr_text}: training diverged. "
                "Lower the learning rate (e.g. 10x), or add gradient clipping or batch norm."
            )


class EpochSeconds(keras.callbacks.Callback):
    """Adds the wall-clock seconds of each epoch to the logs, so history.csv adds up across resumed sessions."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class TimeBudget(keras.callbacks.Callback):
    """Stops training when another epoch would overrun `minutes` of epochs, counted over every phase and every
    resumed session (its `spent` seconds are part of the resume backup). Checked at each epoch's end against the
    last epoch's length, so the first epoch always runs; `exhausted` tells training.fit_phases to start no
    further phase. The schedules still span the planned epochs: a run cut short ends at a higher learning rate."""

    def __init__(self, minutes: float):
        super().__init__()
        check_positive("minutes", minutes)
        self.seconds = 60.0 * minutes
        self.spent = 0.0  # seconds of finished epochs
        self.last = 0.0  # seconds of the latest epoch: the guess for the next one

    @property
    def exhausted(self) -> bool:
        """Whether another epoch would overrun the budget: once true, the budget has stopped the run."""
        return self.spent + self.last > self.seconds

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.last = time.perf_counter() - self._start
        self.spent += self.last
        if self.exhausted:
            self.model.stop_training = True


CALLBACK_STATE[TimeBudget] = ("spent", "last")


def _rng_variables(model):
    """The model's random-generator states (dropout's seed generators): variables that are not weights."""
    weight_ids = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weight_ids]


class ExactBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that also saves what decides the *rest* of a run, so a resumed run ends with the same
    weights as an uninterrupted one: the random-generator states of dropout and friends, and the state of the
    other callbacks (early stopping's patience and best weights, the best checkpoint's score, the plateau
    schedule's counters and learning rate). The data order is restored by the pipeline's EpochClock.

    Each backup is written whole into BACKUP_DIR/epoch_N/ (weights, optimizer, that state), renamed into place,
    and only then does BACKUP_DIR/training_metadata.json point to it: a kill at any moment leaves the previous
    backup complete and pointed to. (Keras's own writes its weights over the last ones and then the epoch
    number, so a kill between the two resumes the wrong epoch from the right weights.)

    Place it last in the callback list, so it restores after the other callbacks have reset themselves. It
    overrides BackupAndRestore's private `_save_model` hook and reads its `_current_epoch` (checked by
    tests/test_private_apis.py). Under training.fit_phases every backup also records its phase.
    """

    def __init__(self, backup_dir: str | os.PathLike, peers: Sequence[keras.callbacks.Callback] = (), **kwargs):
        super().__init__(backup_dir, delete_checkpoint=False, **kwargs)
        self.peers = [c for c in peers if c is not self]
        self._pointer = os.path.join(backup_dir, "training_metadata.json")
        # Set by training.fit_phases before each fit: the phase's index (recorded in every backup) and whether
        # this fit resumes from the backup (a later phase of the same run continues in memory instead).
        self.phase = 0
        self.restore = True

    def position(self) -> dict | None:
        """The backup's pointer: {"epoch", "phase", "phase_done", "stopped"}, or None when there is no backup."""
        if not os.path.exists(self._pointer):
            return None
        with open(self._pointer) as f:
            return json.load(f)

    def on_train_begin(self, logs: dict | None = None) -> None:
        position = self.position() if self.restore else None
        if position is None:
            return
        epoch = int(position["epoch"])
        folder = os.path.join(self.backup_dir, f"epoch_{epoch}")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        # readable_weights_file: a backup written before our batch norm took Keras's class name resumes too
        with readable_weights_file(os.path.join(folder, "latest.weights.h5")) as path:
            self.model.load_weights(path)
        _private.fit_restart_epoch(self.model, epoch)
        self._current_epoch = epoch
        self._restore_state(os.path.join(folder, STATE_FILE))

    def on_train_end(self, logs: dict | None = None) -> None:
        super().on_train_end(logs)
        _private.fit_restart_epoch(self.model, None)  # Keras keeps it after fit: the next phase would start there

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._stopped = bool(self.model.stop_training)  # early stopping (placed before this callback) decided
        super().on_epoch_end(epoch, logs)

    def finish_phase(self) -> None:
        """Back up the state at the end of a phase (after early stopping put its best weights back), marked done."""
        self._stopped = False
        self._save_model(phase_done=True)

    def _save_model(self, phase_done=False):
        epoch = self._current_epoch
        folder = os.path.join(self.backup_dir, f"epoch_{epoch}")
        staging = folder + ".tmp"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        self.model.save_weights(os.path.join(staging, "latest.weights.h5"))
        self._save_state(os.path.join(staging, STATE_FILE))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        pointer = {"epoch": epoch, "batch": 0, "phase": self.phase, "phase_done": phase_done,
                   "stopped": getattr(self, "_stopped", False)}
        with open(self._pointer + ".tmp", "w") as f:
            json.dump(pointer, f)
        os.replace(self._pointer + ".tmp", self._pointer)  # the backup counts from here on
        for name in os.listdir(self.backup_dir):
            if name.startswith("epoch_") and name != f"epoch_{epoch}":
                shutil.rmtree(os.path.join(self.backup_dir, name), ignore_errors=True)

    def _save_state(self, path):
        arrays = {f"rng_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_rng_variables(self.model))}
        callbacks_state = {}
        for index, callback in enumerate(self._peers()):
            for attr in CALLBACK_STATE.get(type(callback), ()):
                callbacks_state[f"{index}.{attr}"] = _to_json(getattr(callback, attr, None))
            best = getattr(callback, "best_weights", None)
            if best is not None:
                for j, w in enumerate(best):
                    arrays[f"cb{index}_best_{j}"] = np.asarray(w)
        if _lr_variable(self.model) is not None:  # a plateau schedule may have lowered it
            callbacks_state["learning_rate"] = float(keras.ops.convert_to_numpy(_lr_variable(self.model)))
        np.savez(path, callbacks=np.asarray(json.dumps(callbacks_state)), **arrays)

    def _restore_state(self, path):
        with np.load(path) as saved:
            for i, v in enumerate(_rng_variables(self.model)):
                if f"rng_{i}" in saved:
                    v.assign(saved[f"rng_{i}"])
            callbacks_state = json.loads(str(saved["callbacks"]))
            for index, callback in enumerate(self._peers()):
                for attr in CALLBACK_STATE.get(type(callback), ()):
                    if f"{index}.{attr}" in callbacks_state:
                        setattr(callback, attr, callbacks_state[f"{index}.{attr}"])
                keys = sorted((k for k in saved.files if k.startswith(f"cb{index}_best_")), key=lambda k: int(k.rsplit("_", 1)[1]))
                if keys:
                    callback.best_weights = [saved[k] for k in keys]
        if "learning_rate" in callbacks_state and _lr_variable(self.model) is not None:
            _lr_variable(self.model).assign(callbacks_state["learning_rate"])

    def _peers(self):
        return self.peers


def _lr_variable(model):
    return _private.learning_rate_variable(model.optimizer)


def _to_json(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")




def resume_epoch(run_dir: str | os.PathLike) -> int:
    """The epoch a run in `run_dir` would resume at (0 when there is nothing to resume)."""
    path = os.path.join(run_dir, BACKUP_DIR, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f).get("epoch", 0))


def make_callbacks(run_dir: str | os.PathLike, *, patience: int | None = None, monitor: str = "val_loss",
                   checkpoint: bool = True, resume: bool = True, tensorboard: bool = True, csv: bool = True,
                   plateau: bool = False, clock: EpochClock | None = None, nan_stop: bool = True,
                   minutes: float | None = None) -> list[keras.callbacks.Callback]:
    """The callbacks of a run directory, ordered so that resuming restores everything.

    Args:
        run_dir: str. Where logs, checkpoints and the resume backup go.
        patience: int or None. Early stopping patience in epochs (best weights restored); None disables it.
        monitor: str. Metric watched by early stopping, the checkpoint and the plateau schedule.
        checkpoint: bool. Keep the best weights in `run_dir/best.weights.h5`.
        resume: bool. Back up after every epoch so the same call resumes an interrupted run exactly.
        tensorboard: bool. TensorBoard logs in `run_dir/logs`.
        csv: bool. Per-epoch history in `run_dir/history.csv` (appended when resuming).
        plateau: bool. Divide the learning rate by 10 when `monitor` stalls (the "plateau" schedule).
        clock: data.EpochClock or None. The training pipeline's clock, synchronised with `fit`'s epochs.
        nan_stop: bool. Raise NaNLossError at the first non-finite loss.
        minutes: float or None. Stop when another epoch would overrun this many minutes of training (TimeBudget).
    """
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise ValueError(f"`patience` must be a positive int or None. Received: patience={patience!r}")
    os.makedirs(run_dir, exist_ok=True)
    callbacks = []
    if clock is not None:
        callbacks.append(clock.callback())
    if nan_stop:
        callbacks.append(StopOnNaN())
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True))
    if plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.1,
                                                           patience=max(1, (patience or 6) // 3), min_lr=1e-6))
    if checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(run_dir, BEST_WEIGHTS), monitor=monitor,
                                                         save_best_only=True, save_weights_only=True))
    if csv:
        callbacks.append(keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")))
    if minutes is not None:  # before the backup, which records whether it stopped the run
        callbacks.append(TimeBudget(minutes))
    if resume:
        callbacks.append(ExactBackupAndRestore(os.path.join(run_dir, BACKUP_DIR), peers=callbacks))
    return callbacks
