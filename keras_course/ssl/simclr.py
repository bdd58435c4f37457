"""SimCLR (Chen et al. 2020): two augmented views of each image, an encoder, a projection head, NT-Xent.

The model trains through Keras's own `fit` on batches of view pairs ((view_1, view_2),): its forward pass projects
both views, and its loss compares them. There is no label anywhere in it: `compute_loss` reads the projections
only, and the two-view pipeline drops the labels first.
"""

from __future__ import annotations

import keras

from keras_course import models
from keras_course.ssl.losses import nt_xent

MIN_BATCH = 16  # fewer than 15 negatives per view make the contrastive task trivial


def encoder_for(name: str, input_shape, *, normalization="rescale", **options) -> keras.Model:
    """Registry model `name` up to its features (the input of its classifier): image -> feature vector."""
    from keras_course.transfer.backbones import features_model

    model = models.build(name, input_shape=tuple(input_shape), num_classes=2, normalization=normalization, **options)
    if len(model.layers[-1].input.shape) != 2 or len(model.input_shape) != 4:
        raise ValueError(f"SimCLR needs an image model that ends in a feature vector and a classifier. Received: "
                         f"{name!r}; for example resnet20 or cnn4_bn.")
    return features_model(model, f"{name}_encoder")


@keras.saving.register_keras_serializable(package="keras_course")
class SimCLR(keras.Model):
    """An encoder and its projection head (Dense, batch norm, ReLU, Dense), trained by NT-Xent on view pairs.

    Called on one batch of images it returns the encoder's features (what is kept); on a pair of batches, both
    views' projections (what trains).
    """

    trains_without_labels = True  # training.compile_model compiles no label loss or metric for it

    def __init__(self, encoder: keras.Model, *, projection_dim: int = 128, hidden: int = 512,
                 temperature: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0 < temperature <= 10:
            raise ValueError(f"`temperature` must be in (0, 10]; SimCLR used 0.1 to 1. Received: {temperature!r}")
        self.encoder = encoder
        self.projection_dim, self.hidden, self.temperature = int(projection_dim), int(hidden), float(temperature)
        self.projector = keras.Sequential([
            keras.layers.Dense(self.hidden, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Dense(self.projection_dim, dtype="float32"),
        ], name="projector")
        # built now, not at the first batch: a resumed run loads its backup into the model before fit calls it
        self.projector.build(tuple(encoder.output_shape))
        self.built = True

    def call(self, inputs, training=False):
        if isinstance(inputs, (list, tuple)):
            return tuple(self.projector(self.encoder(view, training=training), training=training) for view in inputs)
        return self.encoder(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        first, second = y_pred
        loss = nt_xent(first, second, self.temperature)
        if self.losses:  # the layers' own (weight regularisers)
            loss = loss + keras.ops.sum(keras.ops.stack([keras.ops.cast(v, "float32") for v in self.losses]))
        return loss

    def get_config(self):
        return {"encoder": keras.saving.serialize_keras_object(self.encoder), "projection_dim": self.projection_dim,
                "hidden": self.hidden, "temperature": self.temperature, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
