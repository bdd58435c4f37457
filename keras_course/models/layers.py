"""Custom layers of our models (the zoo and the transfer classifiers); each round-trips through the .keras format."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_course._checks import check_choice


@keras.saving.register_keras_serializable(package="keras_course")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013): `pieces` affine maps per unit, the unit outputs their maximum.

    Args:
        units: int. Number of output units.
        pieces: int. Affine pieces per unit (k in the paper). Default 2.
        kernel_initializer, kernel_regularizer: as for `keras.layers.Dense`.
    """

    def __init__(self, units: int, pieces: int = 2, kernel_initializer: str = "glorot_uniform",
                 kernel_regularizer: keras.regularizers.Regularizer | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 2:
            raise ValueError(f"Maxout needs units >= 1 and pieces >= 2. Received: units={units}, pieces={pieces}")
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape: tuple) -> None:
        self.dense = keras.layers.Dense(
            self.units * self.pieces,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            name="affine",
        )
        self.dense.build(input_shape)

    def call(self, inputs: Any) -> Any:
        z = self.dense(inputs)
        z = ops.reshape(z, (-1, self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config


@keras.saving.register_keras_serializable(package="keras_course")
class ZeroPadShortcut(keras.layers.Layer):
    """The parameter-free shortcut of He et al. (2015) option A: subsample by `stride`, zero-pad the new channels.

    Args:
        filters: int. Channels of the output (>= the input's).
        stride: int. Spatial subsampling (1 or 2).
    """

    def __init__(self, filters, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.stride = int(stride)

    def call(self, inputs):
        x = inputs[:, :: self.stride, :: self.stride, :]
        extra = self.filters - inputs.shape[-1]
        if extra < 0:
            raise ValueError(f"ZeroPadShortcut cannot shrink {inputs.shape[-1]} channels to {self.filters}.")
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape):
        size = lambda d: None if d is None else -(-d // self.stride)  # noqa: E731
        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


# caffe: RGB→BGR, minus the ImageNet mean; tf: scale to [-1, 1]; torch: [0, 1] then the ImageNet mean/std;
# rescale: [0, 1]; none: the backbone rescales its own 0–255 input (EfficientNet, ConvNeXt, our project models).
PREPROCESSING_MODES = ("caffe", "tf", "torch", "rescale", "none")


@keras.saving.register_keras_serializable(package="keras_course")
class BackbonePreprocessing(keras.layers.Layer):
    """Raw 0–255 images in, what the backbone was trained on out; grayscale is replicated to RGB when `to_rgb`."""

    def __init__(self, mode: str, to_rgb: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, PREPROCESSING_MODES)
        self.to_rgb = bool(to_rgb)

    def call(self, images: Any) -> Any:
        x = keras.ops.cast(images, self.compute_dtype)
        if self.to_rgb:
            x = keras.ops.repeat(x, 3, axis=-1)
        if self.mode in ("caffe", "tf", "torch"):
            # Keras's own function, so the arithmetic is exactly what keras.applications.*.preprocess_input does
            return keras.applications.imagenet_utils.preprocess_input(x, data_format="channels_last", mode=self.mode)
        if self.mode == "rescale":
            return x / 255.0
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], 3) if self.to_rgb else tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "to_rgb": self.to_rgb}


@keras.saving.register_keras_serializable(package="keras_course")
class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization computed by TensorFlow's fused kernel where it applies.

    Named as Keras's own class on purpose: Keras 3's `.weights.h5` files key each layer by its snake-cased class
    name (`batch_normalization_3`), so weights saved from keras.applications load into our twins and ours into
    theirs. Registered as keras_course>BatchNormalization, so `.keras` files rebuild this class.

    Keras 3 builds batch norm from separate ops (moments, then normalise), which on the CPU costs as much as the
    convolutions of a small CNN; the fused kernel (oneDNN's on x86) does forward and backward in one pass each and
    made cnn4_bn train 2x faster here (`python -m bench roofline`). Same variables, same outputs (to float32
    rounding), same moving statistics (the fused op returns the unbiased batch variance; Keras averages the biased
    one, so it is rescaled). Masks, renorm, synchronized (multi-replica) statistics, inputs that are not 4-D
    channels-last float32/float16/bfloat16, and backends other than TensorFlow take Keras's own path.
    """

    def _fused_applies(self, inputs, mask):
        return (keras.backend.backend() == "tensorflow" and mask is None and not self.renorm
                and not self.synchronized and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and inputs.dtype in ("float32", "float16", "bfloat16"))

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma = self.gamma if self.scale else tf.ones_like(self.moving_mean)
        beta = self.beta if self.center else tf.zeros_like(self.moving_mean)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(inputs, gamma, beta, epsilon=self.epsilon,
                                                                       is_training=True)
            count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], variance.dtype)
            variance = variance * (count - 1.0) / tf.maximum(count, 1.0)  # unbiased -> biased, as Keras keeps it
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            return outputs
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(inputs, gamma, beta, mean=self.moving_mean,
                                                         variance=self.moving_variance, epsilon=self.epsilon,
                                                         is_training=False)
        return outputs


@keras.saving.register_keras_serializable(package="keras_course")
class FusedBatchNormalization(BatchNormalization):
    """The same layer under the name models were saved with before it was renamed: `.keras` and `.weights.h5` files
    saved then (their batch norms keyed `fused_batch_normalization`) still load. New models do not use it."""
