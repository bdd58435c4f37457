"""Augmentations Keras lacks, or draws in a way a pipeline cannot reproduce, written once and vectorised over the
batch: a random resized crop, a per-image probability, RandAugment and AugMix with a choice per image.

Each is a pure function of (images, seed): every random draw is a stateless TensorFlow op on a seed folded from
the batch's seed, so (seed, epoch, batch index) fixes every image, and the images of a batch draw apart. Keras's
own RandAugment draws its choice from its layer's generator (it ignores the seed it is handed) and applies one choice
to the whole batch, and its AugMix draws from Python's `random` once, when the pipeline is traced; the two here
choose per image and from the seed. Images are float32 in [0, 255], channels last.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

VALUE_RANGE = (0, 255)


class FixedSeed(keras.random.SeedGenerator):
    """A SeedGenerator that hands out seeds folded from one stateless seed tensor: no variable, no shared state.

    Keras layers draw randomness through a SeedGenerator; giving each batch its own derived seed makes the
    augmentation a pure function of (seed, epoch, batch index), so parallel map and resumed runs agree exactly.
    """

    def __init__(self, seed_tensor):  # deliberately no super().__init__: that would create a state variable
        self.name = "fixed_seed"
        self.backend = keras.backend
        self._seed = tf.cast(seed_tensor, tf.int32)
        self._count = 0

    def next(self, ordered=True):
        self._count += 1
        return tf.random.experimental.stateless_fold_in(self._seed, self._count)


def fold(seed, index):
    """The `index`-th seed derived from the 2-int `seed` tensor."""
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), index)


def run_step(step, images, seed):
    """`step` (a Keras image preprocessing layer or one of this module's) on a batch, its randomness from `seed`;
    float32 out whatever the layer computes in (a mixed-precision policy makes Keras's layers compute in bfloat16)."""
    if step is None:
        return images
    if hasattr(step, "augment"):
        out = step.augment(images, seed)
    else:
        transformation = step.get_random_transformation(images, training=True, seed=FixedSeed(seed))
        out = step.transform_images(images, transformation, training=True)
    return tf.cast(out, tf.float32)


class RandomResizedCrop:
    """The Inception crop (Szegedy et al. 2015; SimCLR's main view): a box covering `scale` of the image's area
    (uniform) with aspect ratio in `ratio` (log-uniform), at a uniform position, resized back to the image's size,
    per image. A box that would leave the image is clipped to it (torchvision redraws up to ten times instead), so
    the largest crops are a little more frequent than the range says."""

    def __init__(self, height, width, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size = (int(height), int(width))
        self.scale = (float(scale[0]), float(scale[1]))
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def augment(self, images, seed):
        batch = tf.shape(images)[0]
        area = tf.random.stateless_uniform([batch], fold(seed, 0), *self.scale)
        aspect = tf.exp(tf.random.stateless_uniform([batch], fold(seed, 1), *self.log_ratio))  # width / height
        # as fractions of the image's height and width (an image that is not square keeps its proportions)
        height = tf.minimum(tf.sqrt(area / aspect), 1.0)
        width = tf.minimum(tf.sqrt(area * aspect), 1.0)
        top = tf.random.stateless_uniform([batch], fold(seed, 2)) * (1.0 - height)
        left = tf.random.stateless_uniform([batch], fold(seed, 3)) * (1.0 - width)
        boxes = tf.stack([top, left, top + height, left + width], axis=1)
        return tf.image.crop_and_resize(images, boxes, tf.range(batch), self.size)


class GaussianBlur:
    """A Gaussian blur whose sigma is drawn per image, uniform in [0.1, `max_sigma`] pixels (Keras's
    RandomGaussianBlur draws one sigma for the whole batch): separable, over a kernel reaching 2 * max_sigma
    (at least one pixel) each side, the borders reflected."""

    def __init__(self, max_sigma=1.0):
        self.max_sigma = float(max_sigma)
        self.radius = max(1, math.ceil(2 * self.max_sigma))

    def augment(self, images, seed):
        sigma = tf.random.stateless_uniform([tf.shape(images)[0]], fold(seed, 0), min(0.1, self.max_sigma),
                                            self.max_sigma)
        offsets = tf.range(-self.radius, self.radius + 1, dtype=tf.float32)
        taps = tf.exp(-tf.square(offsets)[None, :] / (2 * tf.square(sigma)[:, None]))
        taps = taps / tf.reduce_sum(taps, axis=1, keepdims=True)  # (batch, 2 * radius + 1)
        return self._along(self._along(images, taps, axis=1), taps, axis=2)

    def _along(self, images, taps, axis):
        r = self.radius
        pad = [[0, 0], [0, 0], [0, 0], [0, 0]]
        pad[axis] = [r, r]
        padded = tf.pad(images, pad, mode="REFLECT")
        size = tf.shape(images)[axis]
        out = tf.zeros_like(images)
        for j in range(2 * r + 1):
            window = padded[:, j:j + size] if axis == 1 else padded[:, :, j:j + size]
            out += tf.reshape(taps[:, j], [-1, 1, 1, 1]) * window
        return out


class ColorJitter:
    """Brightness, contrast, saturation and hue, each by a random amount per image, in that order (SimCLR shuffles
    the order; a fixed one keeps the step a plain chain). Keras's RandomColorJitter draws from its sub-layers' own
    generators and ignores the seed it is handed, so this chains the sub-layers itself."""

    def __init__(self, strength):
        value_range = dict(value_range=VALUE_RANGE)
        self.layers = [keras.layers.RandomBrightness(strength / 2, **value_range),
                       keras.layers.RandomContrast(strength, **value_range),
                       keras.layers.RandomSaturation((0.5 - strength / 2, 0.5 + strength / 2), **value_range),
                       keras.layers.RandomHue(strength / 4, **value_range)]

    def augment(self, images, seed):
        for index, layer in enumerate(self.layers):
            images = run_step(layer, images, fold(seed, index))
        return images


class Sometimes:
    """`step` applied to each image with probability `p`; the other images pass unchanged."""

    def __init__(self, step, p):
        self.step = step
        self.p = float(p)

    def augment(self, images, seed):
        changed = run_step(self.step, images, fold(seed, 0))
        chosen = tf.random.stateless_uniform([tf.shape(images)[0]], fold(seed, 1)) < self.p
        return tf.where(tf.reshape(chosen, [-1, 1, 1, 1]), changed, images)


def choose_per_image(ops, images, seed):
    """Each image through one of `ops` (None: unchanged), chosen uniformly per image.

    Every op runs on the whole batch and each image keeps its own op's result: K times the work of one op, the
    price of staying vectorised (a per-image `switch` inside `map_fn` is slower on small images).
    """
    choice = tf.random.stateless_uniform([tf.shape(images)[0]], fold(seed, 0), 0, len(ops), dtype=tf.int32)
    out = images
    for index, op in enumerate(ops):
        if op is None:
            continue
        out = tf.where(tf.reshape(choice == index, [-1, 1, 1, 1]), run_step(op, images, fold(seed, index + 1)), out)
    return out


def geometric_ops(magnitude):
    """The shape-changing operations of RandAugment and AugMix at `magnitude` in (0, 1] (1 = the papers' M=10)."""
    fill = dict(fill_mode="constant")
    return {
        "rotate": keras.layers.RandomRotation(30 / 360 * magnitude, **fill),
        "shear_x": keras.layers.RandomShear(x_factor=0.3 * magnitude, **fill),
        "shear_y": keras.layers.RandomShear(y_factor=0.3 * magnitude, **fill),
        "translate_x": keras.layers.RandomTranslation(0, 0.3 * magnitude, **fill),
        "translate_y": keras.layers.RandomTranslation(0.3 * magnitude, 0, **fill),
    }


def tone_ops(magnitude):
    """The intensity operations both policies share (they act on each channel, so on grayscale too)."""
    return {
        "auto_contrast": keras.layers.AutoContrast(value_range=VALUE_RANGE),
        "equalize": keras.layers.Equalization(value_range=VALUE_RANGE),
        "posterize": keras.layers.RandomPosterization(max(1, int(round(8 - 4 * magnitude))), value_range=VALUE_RANGE),
        "solarize": keras.layers.Solarization(threshold_factor=(1 - magnitude, 1.0), value_range=VALUE_RANGE),
    }


def randaugment_ops(magnitude, channels):
    """RandAugment's operations (Cubuk et al. 2020) at `magnitude`: "identity" included; "color" (saturation)
    only for RGB images. Each op draws its own strength per image up to the magnitude, with a random sign."""
    ops = {"identity": None, **tone_ops(magnitude), **geometric_ops(magnitude),
           "contrast": keras.layers.RandomContrast(0.9 * magnitude, value_range=VALUE_RANGE),
           "brightness": keras.layers.RandomBrightness(0.5 * magnitude, value_range=VALUE_RANGE),
           "sharpness": keras.layers.RandomSharpness(0.9 * magnitude, value_range=VALUE_RANGE)}
    if channels == 3:
        ops["color"] = keras.layers.RandomColorDegeneration(0.9 * magnitude, value_range=VALUE_RANGE)
    return ops


class RandAugment:
    """RandAugment: `num_ops` operations in a row, each chosen per image from `randaugment_ops`."""

    def __init__(self, magnitude=0.5, num_ops=2, channels=3):
        self.ops = list(randaugment_ops(magnitude, channels).values())
        self.num_ops = int(num_ops)

    def augment(self, images, seed):
        for index in range(self.num_ops):
            images = choose_per_image(self.ops, images, fold(seed, index))
        return images


class AugMix:
    """AugMix (Hendrycks et al. 2020): `width` chains of 1 to `depth` operations (the depth drawn per chain and per
    image), mixed with Dirichlet(1) weights, then blended with the original by m ~ Beta(1, 1), per image. Its
    operations leave out those that overlap the ImageNet-C corruptions (contrast, colour, brightness, sharpness),
    as the paper does. The paper's Jensen-Shannon consistency loss, which needs three views per image, is not
    part of this augmentation."""

    def __init__(self, severity=0.3, width=3, depth=3):
        self.ops = list({**tone_ops(severity), **geometric_ops(severity)}.values())
        self.width = int(width)
        self.depth = int(depth)

    def augment(self, images, seed):
        # The chains and their steps run as graph loops, so each operation is traced once rather than once per
        # (chain, step) position: building the pipeline's graph is what took seconds, not running it.
        batch = tf.shape(images)[0]
        weights = _gamma([batch, self.width], fold(seed, 0))
        weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)
        skip = beta([batch], 1.0, fold(seed, 1))

        def one_chain(chain, mixed):
            chain_seed = fold(seed, 2 + chain)
            depth = tf.random.stateless_uniform([batch], fold(chain_seed, 0), 1, self.depth + 1, dtype=tf.int32)

            def one_step(step, out):
                changed = choose_per_image(self.ops, out, fold(chain_seed, 1 + step))
                return step + 1, tf.where(tf.reshape(step < depth, [-1, 1, 1, 1]), changed, out)

            _, out = tf.while_loop(lambda step, _: step < self.depth, one_step, (tf.constant(0), images))
            return chain + 1, mixed + tf.reshape(tf.gather(weights, chain, axis=1), [-1, 1, 1, 1]) * out

        _, mixed = tf.while_loop(lambda chain, _: chain < self.width, one_chain,
                                 (tf.constant(0), tf.zeros_like(images)))
        skip = tf.reshape(skip, [-1, 1, 1, 1])
        return skip * images + (1 - skip) * mixed


def _gamma(shape, seed, alpha=1.0):
    return tf.random.stateless_gamma(shape, seed, alpha=alpha)


def beta(shape, alpha, seed):
    """Beta(alpha, alpha) samples from two stateless gammas."""
    first, second = _gamma(shape, fold(seed, 0), alpha), _gamma(shape, fold(seed, 1), alpha)
    return first / (first + second)
