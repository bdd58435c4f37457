"""Batch augmentation with Keras preprocessing layers, seeded per batch so every epoch is reproducible.

A policy is a name from `POLICIES` or a list of steps; a step is a string from `STEPS` (optionally "name:strength",
e.g. "rotate:0.1", and "@p" to apply it to each image with probability p, e.g. "blur@0.5") or a Keras image
preprocessing layer. Augmentation runs in the tf.data pipeline on whole batches and is never part of a saved model.
Keras's layers are backend-neutral (`python -m bench gpu` applies them under JAX); the steps Keras lacks
(`augment_ops`: resized crop, RandAugment and AugMix per image; `label_mixing`: MixUp, CutMix) and `apply`, the
pipeline's seeded call, are TensorFlow's.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import keras

from keras_course._checks import check_choice

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np


class PadAndCrop:
    """Reflect-pad by a fraction of the size and randomly crop back, at an offset drawn per image: the CIFAR "pad
    4, crop 32" recipe. (Keras's RandomCrop draws one offset for the whole batch.) Written with Keras's backend
    ops, so that it runs in tf.data and under JAX alike."""

    def __init__(self, height, width, strength):
        self.pad = (max(1, int(round(height * strength))), max(1, int(round(width * strength))))
        self.size = (height, width)
        self._ops = keras.layers.RandomCrop(height, width)  # only for its backend: TensorFlow's inside tf.data

    def get_random_transformation(self, images, training=True, seed=None):
        backend = self._ops.backend
        batch = backend.core.shape(images)[0]
        (ph, pw) = self.pad
        top = backend.random.randint((batch,), 0, 2 * ph + 1, seed=seed)
        left = backend.random.randint((batch,), 0, 2 * pw + 1, seed=seed)
        return top, left

    def transform_images(self, images, transformation, training=True):
        backend = self._ops.backend
        top, left = transformation
        (ph, pw), (height, width) = self.pad, self.size
        padded = backend.numpy.pad(images, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")
        rows = backend.numpy.expand_dims(top, 1) + backend.numpy.arange(height, dtype="int32")
        cols = backend.numpy.expand_dims(left, 1) + backend.numpy.arange(width, dtype="int32")
        padded = backend.numpy.take_along_axis(padded, rows[:, :, None, None], axis=1)
        return backend.numpy.take_along_axis(padded, cols[:, None, :, None], axis=2)


@dataclasses.dataclass(frozen=True)
class Step:
    """A named augmentation step: `make(strength, height, width, channels)` builds it; `strength` is what "name:x"
    sets (its meaning is the step's own: a fraction, a probability, a magnitude or MixUp's alpha), within
    (low, high] (low excluded; `high_open`: high excluded too). `rgb`: it changes colours, so grayscale data refuses
    it. `mixes_labels`: it needs the labels too (MixUp, CutMix)."""

    make: Callable
    default: float | None
    low: float = 0.0
    high: float = 1.0
    high_open: bool = True
    rgb: bool = False
    mixes_labels: bool = False
    meaning: str = "fraction"


def _ops():  # TensorFlow's: imported when a step is made, so that resolving a policy stays backend-neutral
    from keras_course.data import augment_ops

    return augment_ops


def _mixing():
    from keras_course.data import label_mixing

    return label_mixing


STEPS = {
    "flip": Step(lambda s, h, w, c: keras.layers.RandomFlip("horizontal"), None),
    "flip_vertical": Step(lambda s, h, w, c: keras.layers.RandomFlip("vertical"), None),
    "translate": Step(lambda s, h, w, c: keras.layers.RandomTranslation(s, s, fill_mode="constant"), 0.1),
    "rotate": Step(lambda s, h, w, c: keras.layers.RandomRotation(s, fill_mode="constant"), 0.05),
    "zoom": Step(lambda s, h, w, c: keras.layers.RandomZoom(s, fill_mode="constant"), 0.1),
    "crop": Step(lambda s, h, w, c: PadAndCrop(h, w, s), 0.125),
    "resized_crop": Step(lambda s, h, w, c: _ops().RandomResizedCrop(h, w, scale=(s, 1.0)), 0.25,
                         meaning="smallest area kept"),
    "contrast": Step(lambda s, h, w, c: keras.layers.RandomContrast(s), 0.2),
    "brightness": Step(lambda s, h, w, c: keras.layers.RandomBrightness(s), 0.2),
    "erase": Step(lambda s, h, w, c: keras.layers.RandomErasing(factor=1.0, scale=(0.02, s), value_range=(0, 255)),
                  0.2),
    "blur": Step(lambda s, h, w, c: _ops().GaussianBlur(s), 1.0, high=5.0, high_open=False,
                 meaning="largest sigma in pixels"),
    "solarize": Step(lambda s, h, w, c: keras.layers.Solarization(threshold_factor=(s, s)), 0.5,
                     meaning="threshold"),
    "color_jitter": Step(lambda s, h, w, c: _ops().ColorJitter(s), 0.4, high_open=False, rgb=True,
                         meaning="strength"),
    "grayscale": Step(lambda s, h, w, c: keras.layers.RandomGrayscale(factor=s), 0.2, high_open=False, rgb=True,
                      meaning="probability"),
    "randaugment": Step(lambda s, h, w, c: _ops().RandAugment(magnitude=s, num_ops=2, channels=c), 0.5,
                        high_open=False, meaning="magnitude"),
    "augmix": Step(lambda s, h, w, c: _ops().AugMix(severity=s), 0.3, high_open=False, meaning="severity"),
    "mixup": Step(lambda s, h, w, c: _mixing().MixUp(s), 0.2, high=10.0, high_open=False, mixes_labels=True,
                  meaning="alpha"),
    "cutmix": Step(lambda s, h, w, c: _mixing().CutMix(s), 1.0, high=10.0, high_open=False, mixes_labels=True,
                   meaning="alpha"),
}


def _simclr(channels):
    """SimCLR's views (Chen et al. 2020, their CIFAR settings): a resized crop, a flip, colour jitter (80% of the
    images) and grayscale (20%). Grayscale data cannot take the colour steps: its views use the crop, the flip,
    brightness and contrast, blur on half of the images and erasing instead."""
    if channels == 3:
        return ["resized_crop:0.08", "flip", "color_jitter:0.5@0.8", "grayscale:0.2"]
    return ["resized_crop:0.2", "flip", "brightness:0.4@0.8", "contrast:0.4@0.8", "blur@0.5", "erase@0.5"]


POLICIES = {
    "none": [],
    "light": ["flip", "translate:0.08"],
    "standard": ["flip", "crop"],
    "strong": ["flip", "crop", "rotate", "zoom", "contrast", "erase"],
    "mixup": ["flip", "crop", "mixup"],
    "cutmix": ["flip", "crop", "cutmix"],
    "randaugment": ["flip", "crop", "randaugment"],
    "augmix": ["flip", "crop", "augmix"],
    "simclr": _simclr,  # a function of the number of channels
}


def _parse_step(step, height, width, channels):
    if not isinstance(step, str):
        if not hasattr(step, "augment") and not hasattr(step, "mix") and not (
                hasattr(step, "get_random_transformation") and hasattr(step, "transform_images")):
            raise ValueError(
                "Each custom augmentation step must be a step name or a Keras image preprocessing layer. "
                f"Received: {step!r}"
            )
        return step
    text, _, probability = step.partition("@")
    name, _, strength = text.partition(":")
    check_choice("augmentation step", name, STEPS)
    kind = STEPS[name]
    if kind.rgb and channels != 3:
        raise ValueError(f"Augmentation step {name!r} changes colours and needs RGB images; these images have "
                         f"{channels} channel{'s' if channels != 1 else ''}. Leave it out (the 'simclr' policy picks "
                         "views that suit grayscale).")
    value = _number(step, strength, kind.default, "strength", f"{name}:{kind.default}")
    if value is not None:
        too_high = value >= kind.high if kind.high_open else value > kind.high
        if not value > kind.low or too_high:
            closing = ")" if kind.high_open else "]"
            raise ValueError(f"Augmentation step {name!r} takes a {kind.meaning} in ({kind.low:g}, {kind.high:g}"
                             f"{closing}, as in '{name}:{kind.default}'. Received: {step!r}")
    made = kind.make(value, height, width, channels)
    if probability:
        p = _number(step, probability, None, "probability", f"{name}@0.5")
        if kind.mixes_labels or not 0 < p <= 1:
            raise ValueError(f"An image step's probability ('{name}@p') must be in (0, 1], and label mixing applies "
                             f"to every image. Received: {step!r}")
        made = _ops().Sometimes(made, p)
    return made


def _number(step, text, default, what, example):
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"Augmentation step {what} must be a number, as in '{example}'. Received: {step!r}") from None


def resolve_policy(policy: str | Sequence[str], image_shape: tuple[int, ...] = (32, 32, 3)) -> list:
    """Turn a policy name or list into augmentation steps for images of `image_shape` (height, width, channels);
    validates first. A step is "name", "name:strength" or "name@p" (applied to each image with probability p)."""
    if policy is None:
        return []
    channels = image_shape[2] if len(image_shape) > 2 else 1
    if isinstance(policy, str):
        check_choice("augmentation policy", policy, POLICIES)
        policy = POLICIES[policy]
        policy = policy(channels) if callable(policy) else policy
    if not isinstance(policy, (list, tuple)):
        raise ValueError(f"`augment` must be a policy name ({', '.join(POLICIES)}) or a list of steps. Received: {policy!r}")
    steps = [step if not isinstance(step, str) else step.strip() for step in policy]
    return [_parse_step(step, image_shape[0], image_shape[1], channels) for step in steps]


def mixes_labels(policy: str | Sequence | None, image_shape: tuple[int, ...] = (32, 32, 3)) -> bool:
    """Whether `policy` (a name, a list of steps, or steps already resolved) mixes labels (MixUp, CutMix): a run's
    training labels are then soft, and what it compiles must read them."""
    return any(getattr(step, "mixes_labels", False) for step in resolve_policy(policy, image_shape))


def check_policy(policy: str | Sequence | None, image_shape: tuple[int, ...], task: str) -> list:
    """`policy` resolved for images of `image_shape` (a colour step on grayscale images is refused, naming it),
    and refused when it mixes labels on a task that is not multiclass; returns the steps."""
    steps = resolve_policy(policy, image_shape)
    if task != "multiclass" and any(getattr(step, "mixes_labels", False) for step in steps):
        raise ValueError(f"Label mixing (augment={policy!r}) mixes class labels: it needs a multiclass task, and "
                         f"this is a {task} task. Choose a policy without mixup or cutmix.")
    return steps


def apply(steps, images, seed, labels=None, num_classes=None):
    """Augment a batch of images (float32, 0–255) with `steps`, randomness drawn from the 2-int `seed` tensor.

    Returns the images, or (images, labels) when `labels` are given; a label-mixing step needs them and
    `num_classes`, and turns them into soft labels.
    """
    import tensorflow as tf

    from keras_course.data.augment_ops import fold, run_step

    images = tf.cast(images, tf.float32)
    for index, step in enumerate(steps):
        step_seed = fold(seed, index)
        if getattr(step, "mixes_labels", False):
            if labels is None or num_classes is None:
                raise ValueError(f"{type(step).__name__} mixes labels: pass `labels` and `num_classes`.")
            images, labels = step.mix(images, labels, step_seed, num_classes)
        else:
            images = run_step(step, images, step_seed)
    return images if labels is None else (images, labels)


def augment_preview(images: np.ndarray, labels: np.ndarray, policy: str | Sequence, *, num_classes: int,
                    views: int = 4, seed: int = 0) -> tuple:
    """`views` augmented versions of a batch, as the training pipeline would draw them (each view its own batch
    seed): (views, n, height, width, channels) float32 images and (views, n, num_classes) labels, soft where
    the policy mixes them (partners come from the same batch). For looking at a policy before trusting it."""
    import numpy as np
    import tensorflow as tf

    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"`images` must be a batch shaped (n, height, width, channels). Received shape {images.shape}")
    steps = resolve_policy(policy, images.shape[1:])
    mixing = mixes_labels(steps)
    out_images, out_labels = [], []
    for view in range(views):
        batch_seed = tf.constant([seed, view], tf.int32)
        augmented, soft = apply(steps, images, batch_seed, labels=tf.constant(labels), num_classes=num_classes) \
            if mixing else (apply(steps, images, batch_seed), tf.one_hot(labels, num_classes))
        out_images.append(augmented.numpy())
        out_labels.append(np.asarray(soft, dtype="float32"))
    return np.stack(out_images), np.stack(out_labels)
