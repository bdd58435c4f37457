"""Rebuilding a functional model with some layers replaced, shrunk or split: the one way every compression that
changes a model's layers (pruning masks, channel pruning, factorization, fake quantization) makes its new model."""

from __future__ import annotations

from collections.abc import Callable

import keras

from keras_course import _private
from keras_course.models.common import layers_within


def check_rebuildable(model, technique: str) -> None:
    """ValueError unless `model` is a functional or Sequential keras.Model (a subclassed one cannot be rebuilt)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model for {technique}. Received: {type(model).__name__}")
    if not isinstance(model, keras.Sequential) and not _private.is_functional(model):
        raise ValueError(f"{technique} rebuilds the model layer by layer, which needs a functional or Sequential "
                         f"model; {model.name!r} is a subclassed {type(model).__name__}.")


def same_layer(layer):
    """A new, unbuilt copy of `layer` (clone_model's default)."""
    return layer.__class__.from_config(layer.get_config())


HANDLED = object()  # what a `weights` function returns when it set the new layer's variables itself


def rebuild(model: keras.Model, *, replace: Callable | None = None, split: dict | None = None,
            call: Callable | None = None, weights: Callable | None = None) -> keras.Model:
    """A copy of `model` (nested models too) with new layers and the old weights where they still fit.

    Args:
        replace: fn(layer) -> a new layer of the same name, or None for a copy of it.
        split: {layer name: (first, second)}: that layer becomes two, called one after the other (the second
            should keep the name, so that what follows still finds it).
        call: fn(new layer, *args, **kwargs) -> its outputs in the new graph (to add layers after it), or None.
        weights: fn(old layer or None, new layer) -> the new layer's weights, None to keep the old ones, or HANDLED
            when it set them itself (the old layer is the one of the same name; None for a layer that is new).
    """
    replace = replace or (lambda layer: None)
    split = split or {}

    def clone(layer):
        return replace(layer) or same_layer(layer)

    def call_layer(layer, *args, **kwargs):
        if layer.name in split:
            first, second = split[layer.name]
            return second(first(*args, **kwargs))
        return call(layer, *args, **kwargs) if call is not None else layer(*args, **kwargs)

    custom = bool(split) or call is not None
    copy = keras.models.clone_model(model, clone_function=clone, call_function=call_layer if custom else None,
                                    recursive=True)
    old_layers = {}
    for layer in layers_within(model):
        old_layers.setdefault(layer.name, layer)
    for new in layers_within(copy):
        if isinstance(new, keras.Model):
            continue
        old = old_layers.get(new.name)
        values = weights(old, new) if weights is not None else None
        if values is HANDLED:
            continue
        if values is None and old is not None and new.weights:
            values = old.get_weights()
        if values is not None:
            new.set_weights(values)
    return copy
