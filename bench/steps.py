"""Training-step throughput of a Keras model on synthetic in-memory batches: the model alone, no input pipeline."""

import numpy as np

from bench import common


def synthetic_batches(input_shape, num_classes, batch_size, seed=0):
    """A tf.data dataset repeating one batch of uint8 images and labels forever (no pipeline cost to speak of)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (batch_size, *input_shape), dtype=np.uint8).astype(np.float32)
    y = rng.integers(0, num_classes, batch_size)
    from keras_course.data.pipeline import without_autotune

    return without_autotune(tf.data.Dataset.from_tensors((x, y)).repeat())


def compiled(name_or_model, input_shape, *, num_classes=10, jit_compile=False, steps_per_execution=1,
             optimizer="momentum", options=None, seed=0):
    """A registry model (or a given one) compiled the way the library compiles it."""
    import keras

    from keras_course import models, training

    keras.utils.set_random_seed(seed)
    model = (models.build(name_or_model, input_shape=input_shape, num_classes=num_classes, **(options or {}))
             if isinstance(name_or_model, str) else name_or_model)
    training.compile_model(model, optimizer=optimizer, lr=0.01, jit_compile=jit_compile,
                           steps_per_execution=steps_per_execution)
    return model


def make_fit(model, dataset, steps):
    """fn() running `steps` training steps through model.fit (what users call), for `bench.common` timers.

    `steps` must be a multiple of the model's steps_per_execution: on a repeating dataset Keras 3.15 runs whole
    executions, so fit(steps_per_epoch=24) with 32 steps per execution trains 32 steps (and a timer would
    count 24)."""
    if steps % model.steps_per_execution:
        raise ValueError(f"steps={steps} is not a multiple of the model's steps_per_execution="
                         f"{model.steps_per_execution}: Keras would run more steps than counted")

    def fit():
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)

    return fit


def train_rate(model, input_shape, *, batch_size=128, steps=20, num_classes=10, repeats=3):
    """Images per second of `model.fit` training steps at `batch_size`: median of `repeats` timed calls after a
    warm-up call (which traces and compiles)."""
    fit = make_fit(model, synthetic_batches(input_shape, num_classes, batch_size), steps)
    return common.rate(fit, steps * batch_size, repeats=repeats)
