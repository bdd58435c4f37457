"""MixUp and CutMix: each image of a batch mixed with a partner from the same batch, and its label with the
partner's, giving soft labels. They run in the tf.data pipeline after the image steps, on training batches only,
seeded like every step (same seed, epoch and batch: same mix).

Labels arrive as class indices (or as soft labels from an earlier mixing step) and leave as float32 rows that sum
to one. Validation and test labels stay class indices: the loss and accuracy compiled for a run with label mixing
read both forms (training.compile's `soft_labels`).
"""

from __future__ import annotations

import tensorflow as tf

from keras_course.data.augment_ops import beta, fold


class LabelMixing:
    """Base: `mix(images, labels, seed, num_classes)` -> (images, soft labels)."""

    mixes_labels = True

    def __init__(self, alpha):
        self.alpha = float(alpha)

    @staticmethod
    def soft(labels, num_classes):
        """Class indices as one-hot float32 rows; soft labels as they are."""
        if labels.shape.rank == 2 and labels.shape[-1] == num_classes and labels.dtype.is_floating:
            return tf.cast(labels, tf.float32)
        return tf.one_hot(tf.cast(tf.reshape(labels, [-1]), tf.int32), num_classes, dtype=tf.float32)

    @staticmethod
    def partners(batch, seed):
        """A random permutation of the batch: image i is mixed with image partners[i]."""
        return tf.argsort(tf.random.stateless_uniform([batch], seed))

    def mix(self, images, labels, seed, num_classes):
        raise NotImplementedError


class MixUp(LabelMixing):
    """MixUp (Zhang et al. 2018): image and label blended, lam * own + (1 - lam) * partner's, lam ~ Beta(alpha,
    alpha) drawn per image."""

    def mix(self, images, labels, seed, num_classes):
        labels = self.soft(labels, num_classes)
        batch = tf.shape(images)[0]
        partner = self.partners(batch, fold(seed, 0))
        lam = beta([batch], self.alpha, fold(seed, 1))
        weight = tf.reshape(lam, [-1, 1, 1, 1])
        mixed = weight * images + (1 - weight) * tf.gather(images, partner)
        return mixed, lam[:, None] * labels + (1 - lam[:, None]) * tf.gather(labels, partner)


class CutMix(LabelMixing):
    """CutMix (Yun et al. 2019): a box of the partner pasted into each image. The box's area is 1 - lam of the
    image's, lam ~ Beta(alpha, alpha) per image, centred at a uniform pixel and clipped to the image; the label
    weight is the fraction of pixels actually pasted, counted on the pixel grid (Keras's CutMix layer computes it
    from the unrounded box, which the pasted pixels do not match)."""

    def box_masks(self, shape, seed):
        """float32 (batch, height, width, 1): 1 where the partner's pixels go."""
        batch, height, width = shape[0], shape[1], shape[2]
        lam = beta([batch], self.alpha, fold(seed, 0))
        side = tf.sqrt(1.0 - lam)
        box_h = tf.round(side * tf.cast(height, tf.float32))
        box_w = tf.round(side * tf.cast(width, tf.float32))
        centre_y = tf.floor(tf.random.stateless_uniform([batch], fold(seed, 1)) * tf.cast(height, tf.float32))
        centre_x = tf.floor(tf.random.stateless_uniform([batch], fold(seed, 2)) * tf.cast(width, tf.float32))
        top = tf.maximum(centre_y - tf.floor(box_h / 2), 0.0)
        bottom = tf.minimum(centre_y - tf.floor(box_h / 2) + box_h, tf.cast(height, tf.float32))
        left = tf.maximum(centre_x - tf.floor(box_w / 2), 0.0)
        right = tf.minimum(centre_x - tf.floor(box_w / 2) + box_w, tf.cast(width, tf.float32))
        rows = tf.cast(tf.range(height), tf.float32)[None, :, None]
        cols = tf.cast(tf.range(width), tf.float32)[None, None, :]
        inside = ((rows >= top[:, None, None]) & (rows < bottom[:, None, None])
                  & (cols >= left[:, None, None]) & (cols < right[:, None, None]))
        return tf.cast(inside, tf.float32)[..., None]

    def mix(self, images, labels, seed, num_classes):
        labels = self.soft(labels, num_classes)
        partner = self.partners(tf.shape(images)[0], fold(seed, 0))
        masks = self.box_masks(tf.shape(images), fold(seed, 1))
        mixed = masks * tf.gather(images, partner) + (1 - masks) * images
        pasted = tf.reduce_mean(masks, axis=[1, 2, 3])[:, None]
        return mixed, (1 - pasted) * labels + pasted * tf.gather(labels, partner)
