"""Facts about a model: parameters, FLOPs per image, depth, the input it was designed for."""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np

from keras_course import _private
from keras_course.models import registry


def count_params(model: keras.Model) -> tuple[int, int]:
    """(all parameters as Keras counts them — batch norm's moving statistics included —, trainable parameters).

    Papers and torchvision count trainable parameters only; keras.applications' figures include the statistics.
    """
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return int(model.count_params()), trainable


def flops_per_image(model: keras.Model) -> int | None:
    """Floating-point operations of one forward pass at batch 1 (a multiply-add counts 2), as the backend's own
    counter sees the inference graph: TensorFlow's profiler, XLA's cost analysis under JAX, PyTorch's
    FlopCounterMode (matmuls and convolutions only). They agree on the convolutions and dense layers and differ
    in what else they count (batch norm, pooling, fusion): cnn4_bn at 28x28 is 20.3 M under TensorFlow and
    16.3 M under JAX. None under another backend."""
    counter = {"tensorflow": _tensorflow_flops, "jax": _xla_flops, "torch": _torch_flops}.get(keras.backend.backend())
    return None if counter is None else int(counter(model))


def _tensorflow_flops(model):
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder  # TF's own op-level FLOP counter

    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # the profiler is a TF1 API and says so on every call
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return model_analyzer.profile(graph=graph, options=options).total_float_ops
    finally:
        logger.setLevel(level)


def _xla_flops(model):
    import jax

    def forward(trainable, non_trainable, x):
        return model.stateless_call(trainable, non_trainable, x, training=False)[0]

    image = jax.ShapeDtypeStruct((1, *model.input_shape[1:]), "float32")
    compiled = jax.jit(forward).lower([v.value for v in model.trainable_variables],
                                      [v.value for v in model.non_trainable_variables], image).compile()
    cost = compiled.cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"]  # a list of one dict in older JAX


def _torch_flops(model):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(np.zeros((1, *model.input_shape[1:]), "float32"), training=False)
    return counter.get_total_flops()


def depth(model: keras.Model) -> int:
    """Weighted layers (conv, dense) on the longest path from input to output: 50 for ResNet-50, 16 for VGG-16,
    121 for DenseNet-121 (projection shortcuts are on shorter paths, so they do not count)."""
    longest = {}
    for layer in model.layers:  # functional models list layers parents-first
        before = 0
        for node in _private.inbound_nodes(layer):
            for parent in node.parent_nodes:
                before = max(before, longest.get(id(parent.operation), 0))
        longest[id(layer)] = before + (1 if hasattr(layer, "kernel") else 0)
    return max(longest[id(_private.producer(t))] for t in model.outputs)


def details(name: str, *, input_shape: tuple[int, ...] | None = None, num_classes: int | None = None,
            flops: bool = True) -> dict:
    """Parameters, trainable parameters, FLOPs per image, depth and input shape of registry model `name`.

    Defaults: the model's design input (28x28x1 for shape-agnostic models) and 1000 classes at ImageNet size,
    10 below it.
    """
    shape = input_shape or registry.default_input_shape(name) or (28, 28, 1)
    num_classes = num_classes or (1000 if min(shape[:2]) >= 224 else 10)
    model = registry.build(name, input_shape=shape, num_classes=num_classes)
    params, trainable = count_params(model)
    return {
        "model": name,
        "params": params,
        "trainable_params": trainable,
        "flops_per_image": flops_per_image(model) if flops else None,
        "depth": depth(model),
        "input_shape": tuple(shape),
        "default_input_shape": registry.default_input_shape(name),
    }
