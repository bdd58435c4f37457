"""Structured (channel) pruning: whole filters removed, giving a genuinely smaller and faster Keras model.

Each chosen convolution keeps its most important filters: the largest L1 norms of their weights (Li et al. 2017,
"l1") or the largest batch-norm scales after it (Liu et al. 2017's network slimming, "bn_scale"). What reads those
channels follows: the batch norm, activations, pooling and dropout in between keep the same channels, a depthwise
convolution its slices, and the next convolution or dense layer drops the inputs that are gone (after a Flatten,
every position's copy of them). A filter can only be removed where its channel reaches nothing else: not a residual
addition, a concatenation or the model's output, whose channel counts other layers share. The model family's
metadata says which convolutions sit inside blocks (models.info(name).inner_convs), and a walk through the graph
checks each one; a layer that fails the check is named. A model nested in the model (a transfer classifier's
backbone) is a graph of its own: its convolutions are pruned inside it, and its outputs count as outputs.

Before fine-tuning, the smaller model computes what the original computes with the removed channels zeroed after
their batch norm and activation (tests/test_compress_channels.py checks it to 1e-5).
"""

from __future__ import annotations

import re

import keras
import numpy as np

from keras_course import _private
from keras_course._checks import check_choice, check_range
from keras_course.compress.pruning import strip
from keras_course.compress.rebuild import check_rebuildable, rebuild
from keras_course.models import registry

__all__ = ["CRITERIA", "channel_plan", "prune_channels"]

CRITERIA = ("l1", "bn_scale")
# Layers that act on each channel alone: a channel removed before them is removed after them.
_CHANNELWISE = (keras.layers.BatchNormalization, keras.layers.ReLU, keras.layers.Activation, keras.layers.LeakyReLU,
                keras.layers.ELU, keras.layers.PReLU, keras.layers.MaxPooling1D, keras.layers.MaxPooling2D,
                keras.layers.MaxPooling3D, keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
                keras.layers.AveragePooling3D, keras.layers.Dropout, keras.layers.SpatialDropout1D,
                keras.layers.SpatialDropout2D, keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D,
                keras.layers.Identity, keras.layers.GaussianNoise)
_POOLS = (keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling1D,
          keras.layers.GlobalMaxPooling2D)
_CONVS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


class _Unprunable(Exception):
    """Why a convolution's filters cannot be removed (the layer its channels reach)."""


def _graphs(model):
    """The model and every functional model nested in it (depth first): the graphs whose convolutions can go."""
    graphs = [model]
    for layer in model.layers:
        if _private.is_functional(layer):
            graphs += _graphs(layer)
    return graphs


def _consumers(model):
    """{id(layer): [layers that take its output]} over one graph (the model's own layers, not those of a model
    nested in it), and the ids of that graph's output layers."""
    consumers = {id(layer): [] for layer in model.layers}
    for layer in model.layers:
        for node in _private.inbound_nodes(layer):
            for parent in node.parent_nodes:
                if id(parent.operation) in consumers and layer not in consumers[id(parent.operation)]:
                    consumers[id(parent.operation)].append(layer)
    outputs = {id(_private.producer(t)) for t in model.outputs}
    return consumers, outputs


def _is_plain_conv(layer):
    return type(layer) in _CONVS and layer.groups == 1


def _follow(layer, consumers, outputs, flattened=False):
    """[(layer, role)] of what a channel of `layer`'s output reaches: "channelwise", "depthwise", "conv", "dense"
    or "dense_after_flatten"; raises _Unprunable naming a layer that shares the channel count."""
    if id(layer) in outputs:
        raise _Unprunable(f"its channels are the output of layer {layer.name!r}")
    reached = []
    for consumer in consumers[id(layer)]:
        if len(_private.inbound_nodes(consumer)) != 1 or len(_private.inbound_nodes(consumer)[0].parent_nodes) != 1:
            raise _Unprunable(f"layer {consumer.name!r} ({type(consumer).__name__}) combines it with other tensors")
        if _is_plain_conv(consumer) and not flattened:
            reached.append((consumer, "conv"))
        elif type(consumer) is keras.layers.Dense:
            reached.append((consumer, "dense_after_flatten" if flattened else "dense"))
        elif isinstance(consumer, keras.layers.DepthwiseConv2D) and consumer.depth_multiplier == 1 and not flattened:
            reached += [(consumer, "depthwise"), *_follow(consumer, consumers, outputs)]
        elif (isinstance(consumer, _CHANNELWISE) and not (flattened and consumer.weights)) or (
                isinstance(consumer, _POOLS) and not flattened):  # after a Flatten, only layers without weights
            reached += [(consumer, "channelwise"), *_follow(consumer, consumers, outputs, flattened)]
        elif isinstance(consumer, keras.layers.Flatten) and not flattened:
            reached += [(consumer, "channelwise"), *_follow(consumer, consumers, outputs, flattened=True)]
        else:
            raise _Unprunable(f"layer {consumer.name!r} ({type(consumer).__name__}) shares its channel count")
    return reached


def _importance(layer, reached, criterion):
    if criterion == "bn_scale":
        norm = next((c for c, role in reached if isinstance(c, keras.layers.BatchNormalization)), None)
        if norm is None or not norm.scale:
            raise ValueError(f"criterion='bn_scale' needs a batch norm with a scale after layer {layer.name!r}; use "
                             "criterion='l1'.")
        return np.abs(keras.ops.convert_to_numpy(norm.gamma))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)


def channel_plan(model: keras.Model, fraction: float, *, layers: str | None = None, criterion: str = "l1") -> dict:
    """{conv layer name: sorted indices of the filters it keeps} for `prune_channels`.

    Args:
        model: a functional keras.Model.
        fraction: float in [0, 1). The share of each chosen layer's filters to remove.
        layers: regex of the convolutions to prune; None: the family's inner convolutions
            (models.info(name).inner_convs) for a registry model, every convolution whose channels can go otherwise.
        criterion: "l1" (filter weights) or "bn_scale" (the following batch norm's |gamma|).

    Raises:
        ValueError: a fraction outside [0, 1) or one that leaves a layer no filter; a chosen layer whose channels
            reach a residual addition, a concatenation or the output (named); no layer to prune.
    """
    check_rebuildable(model, "channel pruning")
    check_range("fraction", fraction, 0, 1, example=0.5)
    check_choice("criterion", criterion, CRITERIA)
    plan = {}
    for graph in _graphs(model):
        plan.update(_graph_plan(graph, fraction, layers, criterion))
    if not plan:
        raise ValueError(f"No convolution of {model.name!r} to prune (layers={layers!r}).")
    return plan


def _graph_plan(graph, fraction, layers, criterion):
    """channel_plan's choice within one graph."""
    consumers, outputs = _consumers(graph)
    family = registry.info_of_model(graph)
    plan = {}
    for layer in graph.layers:
        if not _is_plain_conv(layer):
            continue
        if layers is not None:
            chosen = re.search(layers, layer.name)
        else:
            chosen = family.is_inner_conv(layer.name) if family is not None and family.inner_convs else True
        if not chosen:
            continue
        try:
            reached = _follow(layer, consumers, outputs)
        except _Unprunable as why:
            if layers is None and family is None:
                continue  # an unknown model: take the convolutions that can go, skip the rest
            raise ValueError(f"Channel pruning cannot remove filters of layer {layer.name!r}: {why}. Prune the "
                             "convolutions inside blocks (`layers`).") from None
        filters = layer.filters
        keep = filters - int(round(fraction * filters))
        if keep < 1:
            raise ValueError(f"fraction={fraction!r} would remove every filter of layer {layer.name!r} ({filters} "
                             "filters); choose a smaller fraction.")
        order = np.argsort(-_importance(layer, reached, criterion), kind="stable")
        plan[layer.name] = np.sort(order[:keep])
    return plan


def prune_channels(model: keras.Model, fraction: float = 0.5, *, layers: str | None = None, criterion: str = "l1",
                   plan: dict | None = None) -> keras.Model:
    """A smaller copy of `model`: each chosen convolution keeps `1 - fraction` of its filters (`channel_plan`, or
    the given `plan`), and the layers after it follow. Masks of a pruned model are applied first (`strip`)."""
    model = strip(model)
    plan = plan if plan is not None else channel_plan(model, fraction, layers=layers, criterion=criterion)
    slices = {}  # layer name -> [fn(its weights) -> the sliced weights]: a conv may lose outputs and inputs
    for conv, reached in _reached(model, plan):
        keep, channels = plan[conv.name], conv.filters
        slices.setdefault(conv.name, []).append(_slice_outputs(keep, channels))
        for layer, role in reached:
            slices.setdefault(layer.name, []).append(_ROLES[role](keep, channels))

    def replace(layer):
        if layer.name not in plan:
            return None
        return type(layer).from_config({**layer.get_config(), "filters": len(plan[layer.name])})

    def weights(old, new):
        if old is None or old.name not in slices:
            return None
        values = old.get_weights()
        for sliced in slices[old.name]:
            values = sliced(values)
        return values

    return rebuild(model, replace=replace, weights=weights)


def _reached(model, plan):
    """[(conv, what its channels reach)] for each convolution named in `plan`, found in whichever graph holds it."""
    found = []
    for graph in _graphs(model):
        consumers, outputs = _consumers(graph)
        found += [(layer, _follow(layer, consumers, outputs)) for layer in graph.layers if layer.name in plan]
    missing = set(plan) - {conv.name for conv, _ in found}
    if missing:
        raise ValueError(f"`plan` names layers that {model.name!r} does not have: {sorted(missing)}.")
    return found


def _slice_outputs(keep, channels):
    """A pruned conv: its kernel's last axis and its bias."""
    return lambda w: [w[0][..., keep], *(b[keep] for b in w[1:])]


def _slice_channelwise(keep, channels):
    """Batch norm (gamma, beta, moving mean and variance), PReLU: per-channel weights; pooling etc. have none."""
    return lambda w: [v[..., keep] for v in w]


def _slice_depthwise(keep, channels):
    return lambda w: [w[0][..., keep, :], *(b[keep] for b in w[1:])]


def _slice_inputs(keep, channels):
    """The next conv, or a dense layer reading the channels directly: its kernel's input axis."""
    return lambda w: [w[0][..., keep, :], *w[1:]]


def _slice_flattened_inputs(keep, channels):
    """A dense layer after a Flatten: the rows of every position's copy of the kept channels (channels last, so a
    position's channels are consecutive rows)."""
    def sliced(w):
        kernel = w[0].reshape(-1, channels, w[0].shape[-1])[:, keep, :]
        return [kernel.reshape(-1, w[0].shape[-1]), *w[1:]]

    return sliced


_ROLES = {"channelwise": _slice_channelwise, "depthwise": _slice_depthwise, "conv": _slice_inputs,
          "dense": _slice_inputs, "dense_after_flatten": _slice_flattened_inputs}
