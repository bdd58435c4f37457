"""Magnitude pruning (Zhu & Gupta 2017): the smallest weights zeroed on a polynomial schedule while fine-tuning.

    masked = compress.prunable(model)                       # the same model, its kernels masked
    phase = compress.pruning_phase(0.9, epochs=6, steps_per_epoch=422, lr=1e-3)
    training.fit_phases(masked, [phase], train, val)
    plain = compress.strip(masked)                          # Keras's own layers, pruned weights at exactly zero

The sparsity grows from `initial` to `sparsity` as s(t) = s_f + (s_i - s_f)(1 - t/T)^3 over the first `ramp` of
the phase's steps (fast at first, while the network can recover, slowly at the end), updated every `frequency`
steps, then stays while the rest of the phase fine-tunes. Masks are chosen globally (one threshold over every pruned
kernel, so layers with many redundant weights give up more; the default) or per layer (each layer at the target).
On cnn4_bn, 90% of the weights after 3 epochs of fine-tuning: global 0.9222 test accuracy, per layer 0.8860 (0.8999
after 6 epochs), from 0.9306 dense. Per layer, the first convolution keeps 29 of its 288 weights and the classifier
256 of its 2,560; globally, the big conv4 gives up 96% of its weights while those two keep 79% and 74%.
"""

from __future__ import annotations

import re

import keras
import numpy as np

from keras_course._checks import check_choice, check_int, check_range
from keras_course.compress.masked import MASKED, PLAIN, is_masked
from keras_course.compress.rebuild import check_rebuildable, rebuild
from keras_course.models.common import layers_within
from keras_course.training.phases import Phase

__all__ = ["SCOPES", "PolynomialSparsity", "UpdateMasks", "check_sparsity", "kernel_sparsity", "prunable",
           "pruning_phase", "strip"]

SCOPES = ("layer", "global")


def check_sparsity(sparsity: float, argument: str = "sparsity") -> float:
    """A fraction of weights to zero: a number in [0, 1)."""
    return float(check_range(argument, sparsity, 0, 1, example=0.9))


def _selected(layer, pattern):
    return type(layer) in MASKED and (pattern is None or re.search(pattern, layer.name))


def prunable(model: keras.Model, layers: str | None = None) -> keras.Model:
    """A copy of `model` whose Dense, Conv and DepthwiseConv kernels (those whose names match the regex `layers`,
    or all) carry masks, all ones; batch norm, biases and every other layer are copied as they are.

    Raises:
        ValueError: `model` is not a functional or Sequential model, or no layer matches `layers`.
    """
    check_rebuildable(model, "pruning")
    if not any(_selected(layer, layers) for layer in layers_within(model)):
        raise ValueError(f"No Dense or Conv layer of {model.name!r} matches layers={layers!r}; pruning needs one.")

    def replace(layer):
        return MASKED[type(layer)].from_config(layer.get_config()) if _selected(layer, layers) else None

    def weights(old, new):
        if is_masked(new) and not is_masked(old):
            return old.get_weights() + [np.ones(new.kernel_mask.shape, "float32")]
        return None

    return rebuild(model, replace=replace, weights=weights)


def strip(model: keras.Model) -> keras.Model:
    """`model` with its masked layers back as Keras's own, each kernel times its mask (pruned weights exactly zero):
    what to save, export or hand in."""
    if not any(is_masked(layer) for layer in layers_within(model)):
        return model

    def replace(layer):
        return PLAIN[type(layer)].from_config(layer.get_config()) if is_masked(layer) else None

    def weights(old, new):
        if not is_masked(old):
            return None
        kernel, *rest, mask = old.get_weights()
        return [kernel * mask, *rest]

    return rebuild(model, replace=replace, weights=weights)


def masked_layers(model: keras.Model) -> list:
    return [layer for layer in layers_within(model) if is_masked(layer)]


def kernel_sparsity(model: keras.Model) -> dict:
    """{layer name: fraction of its kernel that is zero} for every Dense and Conv layer, masked or not."""
    return {layer.name: float(np.mean(keras.ops.convert_to_numpy(layer.kernel) == 0))
            for layer in layers_within(model) if type(layer) in MASKED or is_masked(layer)}


class PolynomialSparsity:
    """s(step) = final + (initial - final) * (1 - progress)^power, progress = (step - begin) / (end - begin) in
    [0, 1], evaluated at the last update step (begin + a multiple of `frequency`), so the target only changes
    there: a resumed run sees the sparsity its masks already have."""

    def __init__(self, final: float, *, end: int, begin: int = 0, initial: float = 0.0, frequency: int = 32,
                 power: float = 3.0):
        self.final, self.initial = check_sparsity(final), check_sparsity(initial, "initial")
        self.begin = check_int("begin", begin)
        self.end = check_int("end", end, minimum=self.begin)
        self.frequency = check_int("frequency", frequency, minimum=1)
        self.power = float(power)

    def __call__(self, step: int) -> float:
        if step < self.begin:
            return 0.0
        if self.end == self.begin:
            return self.final
        updated = self.begin + (min(step, self.end) - self.begin) // self.frequency * self.frequency
        if step >= self.end:
            updated = self.end
        progress = (updated - self.begin) / (self.end - self.begin)
        return self.final + (self.initial - self.final) * (1.0 - progress) ** self.power

    def get_config(self) -> dict:
        return dict(final=self.final, initial=self.initial, begin=self.begin, end=self.end,
                    frequency=self.frequency, power=self.power)


def _smallest(magnitudes, count):
    """A boolean array, True at the `count` smallest entries of the 1-D `magnitudes` (ties broken by position)."""
    chosen = np.zeros(magnitudes.size, bool)
    if count > 0:
        chosen[np.argsort(magnitudes, kind="stable")[:count]] = True
    return chosen


class UpdateMasks(keras.callbacks.Callback):
    """Set the masks of the model's masked layers to the schedule's sparsity, from the kernels' magnitudes.

    Runs between calls into the graph (every `steps_per_execution` steps, 32 in our engine); between updates the
    masks act inside the compiled step (compress.masked). A mask is recomputed only when the schedule asks for
    more zeros than it has, so weights already pruned stay pruned and a resumed run keeps its masks.
    """

    def __init__(self, schedule: PolynomialSparsity, scope: str = "layer"):
        super().__init__()
        self.schedule = schedule
        self.scope = check_choice("scope", scope, SCOPES)

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.update(self._step())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:  # an epoch shorter than a call into the graph still advances
        self.update(self._step())

    def on_train_end(self, logs: dict | None = None) -> None:  # the promised sparsity, even when the phase ended before the ramp did
        self.update(max(self._step(), self.schedule.end))

    def update(self, step: int) -> None:
        target = self.schedule(step)
        layers = masked_layers(self.model)
        kernels = [np.abs(keras.ops.convert_to_numpy(layer.kernel) * keras.ops.convert_to_numpy(layer.kernel_mask))
                   for layer in layers]
        masks = [keras.ops.convert_to_numpy(layer.kernel_mask) for layer in layers]
        if self.scope == "global":
            total = sum(k.size for k in kernels)
            if round(target * total) <= sum(int((m == 0).sum()) for m in masks):
                return
            pruned = np.split(_smallest(np.concatenate([k.ravel() for k in kernels]), round(target * total)),
                              np.cumsum([k.size for k in kernels])[:-1])
        else:
            pruned = [_smallest(k.ravel(), round(target * k.size)) if round(target * k.size) > (m == 0).sum()
                      else None for k, m in zip(kernels, masks)]
        for layer, chosen in zip(layers, pruned):
            if chosen is None:
                continue
            mask = (~chosen).reshape(layer.kernel_mask.shape).astype("float32")
            layer.kernel_mask.assign(mask)
            layer.kernel.assign(keras.ops.convert_to_numpy(layer.kernel) * mask)


def pruning_phase(sparsity: float, *, epochs: int, steps_per_epoch: int, lr: float | None = None,
                  schedule: str = "constant", scope: str = "global", ramp: float = 0.7, frequency: int = 32,
                  name: str = "prune") -> Phase:
    """A phase that prunes a `prunable` model to `sparsity` over the first `ramp` of its steps and fine-tunes it
    for the rest (Phase.lr and schedule as any phase)."""
    check_sparsity(sparsity)
    check_choice("scope", scope, SCOPES)
    check_range("ramp", ramp, 0, 1, high_open=False, example=0.7)
    steps = check_int("epochs", epochs) * check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    end = int(round(ramp * steps))
    updates = UpdateMasks(PolynomialSparsity(sparsity, end=end, frequency=max(1, min(frequency, end or 1))), scope)
    return Phase(name, epochs, lr=lr, schedule=schedule, callbacks=[updates])
