"""Learning-rate schedules by name. Each needs the total number of training steps, except "constant" and "plateau"."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_course._checks import check_choice, check_positive

SCHEDULES = ("constant", "step", "exponential", "cosine", "one_cycle", "plateau")
NEEDS_TOTAL_STEPS = ("step", "exponential", "cosine", "one_cycle")


@keras.saving.register_keras_serializable(package="keras_course")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle policy (as in fastai): warm up from max_lr/div_factor to max_lr over `pct_start` of the
    steps, then cosine-anneal to max_lr/(div_factor*final_div_factor)."""

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4):
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        start, peak = self.max_lr / self.div_factor, self.max_lr
        end = start / self.final_div_factor
        warm = max(1.0, self.pct_start * self.total_steps)
        cool = max(1.0, self.total_steps - warm)

        def anneal(a, b, fraction):
            fraction = ops.clip(fraction, 0.0, 1.0)
            return b + (a - b) * 0.5 * (1.0 + ops.cos(math.pi * fraction))

        return ops.where(step < warm, anneal(start, peak, step / warm), anneal(peak, end, (step - warm) / cool))

    def get_config(self) -> dict:
        return dict(max_lr=self.max_lr, total_steps=self.total_steps, pct_start=self.pct_start,
                    div_factor=self.div_factor, final_div_factor=self.final_div_factor)


def make_schedule(name: str, lr: float, *, total_steps: int | None = None,
                  warmup_steps: int = 0) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate for `name`: a float ("constant", "plateau") or a LearningRateSchedule.

    Args:
        name: one of SCHEDULES. "step" divides by 10 at 50% and 75% of training; "exponential" decays to 1% of
            `lr` by the end; "cosine" anneals to 0 after `warmup_steps` of linear warm-up; "one_cycle" is Smith's
            policy; "plateau" is constant here and lowered by ReduceLROnPlateau (see `make_callbacks`).
        lr: float > 0. Peak learning rate.
        total_steps: int. Optimizer steps in the whole run; required by the decaying schedules.
        warmup_steps: int >= 0. Linear warm-up for "cosine".
    """
    check_choice("schedule", name, SCHEDULES)
    check_positive("lr", lr)
    if name in ("constant", "plateau"):
        return float(lr)
    if total_steps is None:
        raise ValueError(f"Schedule {name!r} needs `total_steps` (epochs x steps per epoch). Received: total_steps=None")
    check_positive("total_steps", total_steps, integer=True)
    if name == "step":
        boundaries = [max(1, total_steps // 2), max(2, (3 * total_steps) // 4)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr / 10, lr / 100])
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=total_steps, decay_rate=0.01)
    if name == "cosine":
        if warmup_steps:
            return keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=max(1, total_steps - warmup_steps), warmup_target=lr, warmup_steps=warmup_steps
            )
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps)
    return OneCycle(lr, total_steps)
