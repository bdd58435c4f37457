"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates"; fastai's `lr_find`).

Train for a few hundred steps while the learning rate grows exponentially from tiny to huge, record each step's
loss, smooth it (exponential moving average with bias correction), and read off where the loss falls fastest and
where it bottoms out before diverging. The suggested learning rate is a tenth of the one at the minimum of the
smoothed loss (fastai v1's rule): large enough to learn fast, far enough below the blow-up. The sweep runs on a
copy of the optimizer; every model variable is put back afterwards and the model is compiled as it was, so the
test leaves no trace.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_course._checks import check_int, check_positive

if TYPE_CHECKING:
    import os

    import tensorflow as tf

    from keras_course.experiments.config import RunConfig


@dataclasses.dataclass
class LRFindResult:
    """Per step: the learning rate, the batch loss and its smoothed value; and the learning rates read off."""

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested: float  # a tenth of `minimum`
    minimum: float  # learning rate at the lowest smoothed loss
    steepest: float  # learning rate where the smoothed loss falls fastest (before the minimum)
    diverged: bool  # the sweep stopped early because the loss blew up

    def to_dict(self) -> dict:
        return {"suggested_lr": self.suggested, "min_loss_lr": self.minimum, "steepest_lr": self.steepest,
                "diverged": self.diverged, "steps": len(self.losses)}


def _check_sweep(start_lr, end_lr, steps):
    check_positive("start_lr", start_lr)
    check_positive("end_lr", end_lr)
    if not start_lr < end_lr:
        raise ValueError(f"`start_lr` must be below `end_lr`. Received: start_lr={start_lr}, end_lr={end_lr}")
    check_int("steps", steps, minimum=10)


class _Sweep(keras.callbacks.Callback):
    """Sets each step's learning rate, records the step's own loss, stops once the smoothed loss has blown up."""

    def __init__(self, rates, smoothing, divergence):
        super().__init__()
        self.rates, self.smoothing, self.divergence = rates, smoothing, divergence
        self.losses, self.smoothed, self.diverged = [], [], False
        self._average = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.reset_metrics()  # Keras logs the epoch's running mean: reset, so `loss` is this step's own
        self.model.optimizer.learning_rate.assign(self.rates[len(self.losses)])

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        self.losses.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        self.smoothed.append(self._average / (1 - self.smoothing ** len(self.losses)))
        if not math.isfinite(loss) or self.smoothed[-1] > self.divergence * min(self.smoothed):
            self.diverged = True
            self.model.stop_training = True


def lr_find(model: keras.Model, dataset: tf.data.Dataset, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            steps: int = 200, smoothing: float = 0.95, divergence: float = 4.0) -> LRFindResult:
    """Run the learning-rate range test on a compiled `model`; returns an LRFindResult.

    Args:
        model: a compiled keras.Model. Its variables and compile settings are the same afterwards.
        dataset: batched tf.data.Dataset of (x, y) (repeated as needed), or a (x, y) tuple of arrays.
        start_lr, end_lr: float, 0 < start_lr < end_lr. The sweep's range.
        steps: int >= 10. Training steps of the sweep (fewer when the loss diverges first).
        smoothing: float in [0, 1). Exponential smoothing of the loss curve (fastai: 0.98 over 100 steps; less
            smoothing lags less behind the falling loss).
        divergence: float > 1. Stop once the smoothed loss exceeds this multiple of its minimum.
    """
    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None or not model.compiled:
        raise ValueError("lr_find needs a compiled keras.Model (e.g. training.compile_model(model, ...)). "
                         f"Received: {type(model).__name__}{'' if not isinstance(model, keras.Model) else ' (not compiled)'}")
    _check_sweep(start_lr, end_lr, steps)
    if not 0 <= smoothing < 1:
        raise ValueError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing!r}")
    if not divergence > 1:
        raise ValueError(f"`divergence` must be above 1. Received: divergence={divergence!r}")
    rates = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))

    saved = [v.numpy() for v in model.variables]
    original_optimizer = model.optimizer
    compile_args = keras.saving.deserialize_keras_object(model.get_compile_config())
    sweep_config = dict(keras.optimizers.serialize(original_optimizer))
    sweep_config["config"] = {**sweep_config["config"], "learning_rate": float(start_lr)}
    sweep = _Sweep(rates, smoothing, divergence)
    data = _repeating(dataset)
    try:
        model.compile(**{**compile_args, "optimizer": keras.optimizers.deserialize(sweep_config),
                         "metrics": None, "steps_per_execution": 1})
        model.fit(data, epochs=1, steps_per_epoch=steps, callbacks=[sweep], verbose=0)
    finally:
        for variable, value in zip(model.variables, saved):
            variable.assign(value)
        model.compile(**{**compile_args, "optimizer": original_optimizer})
    return _read_off(np.asarray(rates[:len(sweep.losses)]), np.asarray(sweep.losses), np.asarray(sweep.smoothed),
                     sweep.diverged)


def _repeating(dataset):
    import tensorflow as tf

    if isinstance(dataset, tuple):
        x, y = dataset
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(64)
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(f"`dataset` must be a batched tf.data.Dataset or an (x, y) tuple. Received: {type(dataset).__name__}")
    return dataset.repeat()


def _read_off(rates, losses, smoothed, diverged):
    if len(losses) < 3:
        raise ValueError(f"The loss diverged after {len(losses)} steps at learning rate {rates[-1]:.2g}: "
                         "lower start_lr.")
    lowest = int(np.nanargmin(smoothed))
    slopes = np.gradient(smoothed[: lowest + 1], np.log(rates[: lowest + 1])) if lowest >= 2 else np.zeros(1)
    steepest = float(rates[int(np.argmin(slopes))])
    return LRFindResult(learning_rates=rates, losses=losses, smoothed=smoothed, suggested=float(rates[lowest] / 10),
                        minimum=float(rates[lowest]), steepest=steepest, diverged=diverged)


def lr_find_run(config: RunConfig, out_dir: str | os.PathLike, *, start_lr: float = 1e-7, end_lr: float = 10.0,
                steps: int = 200, verbose: bool = False) -> LRFindResult:
    """The range test for a RunConfig (its data, model, optimizer, weight decay, augmentation and batch size; its
    learning rate and schedule are what the test replaces). Writes OUT_DIR/lr_find.png, lr_find.csv (learning
    rate, loss, smoothed loss per step) and lr_find.json (the learning rates read off, and the config) last.
    Returns the LRFindResult."""
    import json
    import os

    from keras_course import training, viz
    from keras_course.experiments import engine

    config = engine.as_config(config)
    if config.ssl is not None:
        raise ValueError(f"config.ssl={config.ssl!r}: the learning-rate finder sweeps a supervised loss, and a "
                         "self-supervised run has none; pretrain with experiments.train and tune the runs that use "
                         "its encoder.")
    _check_sweep(start_lr, end_lr, steps)
    train_ds, _, _, info = engine.load_splits(config)
    training.set_seed(config.seed)
    with training.dtype_policy(config.precision):
        model = engine.build_for(config, train_ds, info)
    training.compile_model(model, **engine.compile_options(config, info))
    pipe, _ = engine.pipelines(config, train_ds, info=info)
    result = lr_find(model, pipe, start_lr=start_lr, end_lr=end_lr, steps=steps)
    os.makedirs(out_dir, exist_ok=True)
    viz.lr_find_plot(result, os.path.join(out_dir, "lr_find.png"),
                     title=f"LR range test: {config.model} on {config.dataset}, {config.optimizer}, batch {config.batch_size}")
    with open(os.path.join(out_dir, "lr_find.csv"), "w") as f:
        f.write("step,learning_rate,loss,smoothed_loss\n")
        for i, row in enumerate(zip(result.learning_rates, result.losses, result.smoothed)):
            f.write(f"{i},{row[0]:.6g},{row[1]:.6g},{row[2]:.6g}\n")
    with open(os.path.join(out_dir, "lr_find.json.tmp"), "w") as f:
        json.dump({**result.to_dict(), "start_lr": start_lr, "end_lr": end_lr, "config": config.to_dict()}, f, indent=2)
    os.replace(os.path.join(out_dir, "lr_find.json.tmp"), os.path.join(out_dir, "lr_find.json"))
    return result
