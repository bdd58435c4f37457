"""Two self-supervised methods over two augmented views of each image: SimCLR (with negatives) and SimSiam
(without).

Each is a keras.Model that trains through Keras's own `fit` on batches of view pairs ((view_1, view_2),): its
forward pass maps both views through the encoder and its heads, and its loss compares them. There is no label
anywhere in them: `compute_loss` reads the heads' outputs only, and the two-view pipeline drops the labels first.
Called on one batch of images, a method returns the encoder's features: what is kept.

Why SimSiam for the method without negatives (Chen & He 2021): a predictor and a stop-gradient are all it adds, so
its whole step is Keras's compiled one on every backend. BYOL (Grill et al. 2020) would need a target network that
is updated by a moving average and whose batch norms still normalise by the batch; Keras's BatchNormalization
computes in inference mode whenever its layer is not trainable, so such a target would need its own layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from keras_course import models
from keras_course.ssl.losses import negative_cosine, nt_xent

MIN_BATCH = 16  # SimCLR: fewer than 15 negatives per view make the task trivial; batch norm needs a batch too


def encoder_for(name: str, input_shape: tuple[int, ...], *, normalization: Any = "rescale",
                **options: Any) -> keras.Model:
    """Registry model `name` up to its features (the input of its classifier): image -> feature vector."""
    from keras_course.transfer.backbones import features_model

    model = models.build(name, input_shape=tuple(input_shape), num_classes=2, normalization=normalization, **options)
    if len(model.layers[-1].input.shape) != 2 or len(model.input_shape) != 4:
        raise ValueError(f"Self-supervised pretraining needs an image model that ends in a feature vector and a "
                         f"classifier. Received: {name!r}; for example resnet20 or cnn4_bn.")
    return features_model(model, f"{name}_encoder")


def mlp(widths: Sequence[int], *, name: str, last_norm: bool = False) -> keras.Sequential:
    """Dense layers (batch norm and ReLU between them; batch norm after the last too when `last_norm`)."""
    layers = []
    for index, width in enumerate(widths):
        last = index == len(widths) - 1
        layers.append(keras.layers.Dense(width, use_bias=last and not last_norm,
                                         dtype="float32" if last else None))
        if not last:
            layers += [keras.layers.BatchNormalization(), keras.layers.ReLU()]
        elif last_norm:
            layers.append(keras.layers.BatchNormalization(dtype="float32"))
    return keras.Sequential(layers, name=name)


class TwoViews(keras.Model):
    """What both methods share: the encoder, heads built at once, features for one batch, both views for two."""

    trains_without_labels = True  # training.compile_model compiles no label loss or metric for it

    def __init__(self, encoder: keras.Model, **kwargs: Any):
        super().__init__(**kwargs)
        self.encoder = encoder

    def build_heads(self, *heads: keras.layers.Layer) -> None:
        # built now, not at the first batch: a resumed run loads its backup into the model before fit calls it
        shape = tuple(self.encoder.output_shape)
        for head in heads:
            head.build(shape)
            shape = tuple(head.compute_output_shape(shape))
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if isinstance(inputs, (list, tuple)):
            return tuple(self.heads(self.encoder(view, training=training), training) for view in inputs)
        return self.encoder(inputs, training=training)

    def heads(self, features: Any, training: bool) -> Any:
        raise NotImplementedError

    def pair_loss(self, first: Any, second: Any) -> Any:
        raise NotImplementedError

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        loss = self.pair_loss(*y_pred)
        if self.losses:  # the layers' own (weight regularisers)
            loss = loss + keras.ops.sum(keras.ops.stack([keras.ops.cast(v, "float32") for v in self.losses]))
        return loss

    def get_config(self) -> dict:
        return {"encoder": keras.saving.serialize_keras_object(self.encoder), "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "TwoViews":
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_course")
class SimCLR(TwoViews):
    """SimCLR (Chen et al. 2020): a projection head (Dense, batch norm, ReLU, Dense) and NT-Xent, each view's
    positive its partner and its negatives the batch's other images."""

    def __init__(self, encoder: keras.Model, *, projection_dim: int = 128, hidden: int = 512,
                 temperature: float = 0.5, **kwargs: Any):
        super().__init__(encoder, **kwargs)
        if not 0 < temperature <= 10:
            raise ValueError(f"`temperature` must be in (0, 10]; SimCLR used 0.1 to 1. Received: {temperature!r}")
        self.projection_dim, self.hidden, self.temperature = int(projection_dim), int(hidden), float(temperature)
        self.projector = mlp([self.hidden, self.projection_dim], name="projector")
        self.build_heads(self.projector)

    def heads(self, features: Any, training: bool) -> Any:
        return self.projector(features, training=training)

    def pair_loss(self, first: Any, second: Any) -> Any:
        return nt_xent(first, second, self.temperature)

    def get_config(self) -> dict:
        return {**super().get_config(), "projection_dim": self.projection_dim, "hidden": self.hidden,
                "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="keras_course")
class SimSiam(TwoViews):
    """SimSiam (Chen & He 2021): a projector (two Dense layers with batch norm, batch norm on its output too) and a
    bottleneck predictor; each view's prediction must match the other view's projection, which is held fixed
    (stop-gradient): -cos(p1, sg(z2)) / 2 - cos(p2, sg(z1)) / 2. The stop-gradient is what keeps it from
    collapsing to a constant without negatives."""

    def __init__(self, encoder: keras.Model, *, projection_dim: int = 256, hidden: int = 256, **kwargs: Any):
        super().__init__(encoder, **kwargs)
        self.projection_dim, self.hidden = int(projection_dim), int(hidden)
        self.projector = mlp([self.hidden, self.projection_dim], name="projector", last_norm=True)
        self.predictor = mlp([max(self.projection_dim // 4, 8), self.projection_dim], name="predictor")
        self.build_heads(self.projector, self.predictor)

    def heads(self, features: Any, training: bool) -> Any:
        projection = self.projector(features, training=training)
        return projection, self.predictor(projection, training=training)

    def pair_loss(self, first: Any, second: Any) -> Any:
        (z1, p1), (z2, p2) = first, second
        stop = keras.ops.stop_gradient
        return 0.5 * negative_cosine(p1, stop(z2)) + 0.5 * negative_cosine(p2, stop(z1))

    def get_config(self) -> dict:
        return {**super().get_config(), "projection_dim": self.projection_dim, "hidden": self.hidden}
