"""Custom layers of the model zoo; each round-trips through get_config and the .keras format."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_course")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013): `pieces` affine maps per unit, the unit outputs their maximum.

    Args:
        units: int. Number of output units.
        pieces: int. Affine pieces per unit (k in the paper). Default 2.
        kernel_initializer, kernel_regularizer: as for `keras.layers.Dense`.
    """

    def __init__(self, units, pieces=2, kernel_initializer="glorot_uniform", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 2:
            raise ValueError(f"Maxout needs units >= 1 and pieces >= 2. Received: units={units}, pieces={pieces}")
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.dense = keras.layers.Dense(
            self.units * self.pieces,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            name="affine",
        )
        self.dense.build(input_shape)

    def call(self, inputs):
        z = self.dense(inputs)
        z = ops.reshape(z, (-1, self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
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
