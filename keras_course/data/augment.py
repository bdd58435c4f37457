"""Batch augmentation with Keras preprocessing layers, seeded per batch so every epoch is reproducible.

A policy is a name ("none", "light", "standard", "strong") or a list of steps; a step is a string from `STEPS`
(optionally "name:strength", e.g. "rotate:0.1") or a Keras image preprocessing layer. Augmentation runs in the
tf.data pipeline on whole batches and is never part of a saved model. The steps themselves are backend-neutral
(`python -m bench gpu` applies them under JAX); `apply`, the pipeline's seeded call, is TensorFlow's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

from keras_course._checks import check_choice

if TYPE_CHECKING:
    from collections.abc import Sequence


class PadAndCrop:
    """Reflect-pad by a fraction of the size and randomly crop back: the CIFAR "pad 4, crop 32" recipe."""

    def __init__(self, height, width, strength):
        self.pad = (max(1, int(round(height * strength))), max(1, int(round(width * strength))))
        self.crop = keras.layers.RandomCrop(height, width)

    def get_random_transformation(self, images, training=True, seed=None):
        padded = self._pad(images)
        return padded, self.crop.get_random_transformation(padded, training=training, seed=seed)

    def transform_images(self, images, transformation, training=True):
        padded, crop = transformation
        return self.crop.transform_images(padded, crop, training=training)

    def _pad(self, images):
        (ph, pw) = self.pad
        # the crop layer's backend: TensorFlow inside tf.data, else Keras's own (JAX in bench gpu)
        return self.crop.backend.numpy.pad(images, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")


# step name -> (factory taking a strength, default strength)
STEPS = {
    "flip": (lambda s, h, w: keras.layers.RandomFlip("horizontal"), None),
    "flip_vertical": (lambda s, h, w: keras.layers.RandomFlip("vertical"), None),
    "translate": (lambda s, h, w: keras.layers.RandomTranslation(s, s, fill_mode="constant"), 0.1),
    "rotate": (lambda s, h, w: keras.layers.RandomRotation(s, fill_mode="constant"), 0.05),
    "zoom": (lambda s, h, w: keras.layers.RandomZoom(s, fill_mode="constant"), 0.1),
    "crop": (lambda s, h, w: PadAndCrop(h, w, s), 0.125),
    "contrast": (lambda s, h, w: keras.layers.RandomContrast(s), 0.2),
    "brightness": (lambda s, h, w: keras.layers.RandomBrightness(s), 0.2),
    "erase": (lambda s, h, w: keras.layers.RandomErasing(factor=1.0, scale=(0.02, s), value_range=(0, 255)), 0.2),
}

POLICIES = {
    "none": [],
    "light": ["flip", "translate:0.08"],
    "standard": ["flip", "crop"],
    "strong": ["flip", "crop", "rotate", "zoom", "contrast", "erase"],
}


def _parse_step(step, height, width):
    if not isinstance(step, str):
        if not hasattr(step, "get_random_transformation") or not hasattr(step, "transform_images"):
            raise ValueError(
                "Each custom augmentation step must be a step name or a Keras image preprocessing layer. "
                f"Received: {step!r}"
            )
        return step
    name, _, strength = step.partition(":")
    check_choice("augmentation step", name, STEPS)
    factory, default = STEPS[name]
    try:
        value = float(strength) if strength else default
    except ValueError:
        raise ValueError(f"Augmentation step strength must be a number, as in 'rotate:0.1'. Received: {step!r}") from None
    if value is not None and not 0 < value < 1:
        raise ValueError(f"Augmentation step strength must be in (0, 1), as in 'rotate:0.1'. Received: {step!r}")
    return factory(value, height, width)


def resolve_policy(policy: str | Sequence[str], image_shape: tuple[int, ...] = (32, 32, 3)) -> list[keras.layers.Layer]:
    """Turn a policy name or list into augmentation steps (layers) for images of `image_shape`; validates first."""
    if policy is None:
        return []
    if isinstance(policy, str):
        check_choice("augmentation policy", policy, POLICIES)
        policy = POLICIES[policy]
    if not isinstance(policy, (list, tuple)):
        raise ValueError(f"`augment` must be a policy name ({', '.join(POLICIES)}) or a list of steps. Received: {policy!r}")
    steps = [step if not isinstance(step, str) else step.strip() for step in policy]
    return [_parse_step(step, image_shape[0], image_shape[1]) for step in steps]


class _FixedSeed(keras.random.SeedGenerator):
    """A SeedGenerator that hands out seeds folded from one stateless seed tensor: no variable, no shared state.

    Keras layers draw randomness through a SeedGenerator; giving each batch its own derived seed makes the
    augmentation a pure function of (seed, epoch, batch index), so parallel map and resumed runs agree exactly.
    """

    def __init__(self, seed_tensor):  # deliberately no super().__init__: that would create a state variable
        import tensorflow as tf

        self.name = "fixed_seed"
        self.backend = keras.backend
        self._seed = tf.cast(seed_tensor, tf.int32)
        self._count = 0

    def next(self, ordered=True):
        import tensorflow as tf

        self._count += 1
        return tf.random.experimental.stateless_fold_in(self._seed, self._count)


def apply(steps, images, seed):
    """Augment a batch of images (float32, 0–255) with `steps`, randomness drawn from the 2-int `seed` tensor."""
    import tensorflow as tf

    images = tf.cast(images, tf.float32)
    for index, step in enumerate(steps):
        step_seed = _FixedSeed(tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), index))
        transformation = step.get_random_transformation(images, training=True, seed=step_seed)
        images = step.transform_images(images, transformation, training=True)
    return images
