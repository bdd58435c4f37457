"""The k-nearest-neighbour monitor: how well an encoder's features separate classes, measured without training
anything on them (Wu et al. 2018's weighted kNN). Its labels are those of a small labelled reference set and of
the queries; the pretraining loss never sees them."""

from __future__ import annotations

import keras
import numpy as np


def features(encoder: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """L2-normalised features of `images` (inference mode)."""
    out = encoder.predict(np.asarray(images, dtype="float32"), batch_size=batch_size, verbose=0).astype("float32")
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def knn_accuracy(encoder: keras.Model, reference: tuple, queries: tuple, *, k: int = 20,
                 temperature: float = 0.07) -> float:
    """Accuracy on `queries` (x, y) of a vote among each query's `k` most cosine-similar `reference` (x, y)
    images, each vote weighted by exp(similarity / temperature)."""
    (x_ref, y_ref), (x_query, y_query) = reference, queries
    y_ref = np.asarray(y_ref).reshape(-1).astype(int)
    y_query = np.asarray(y_query).reshape(-1).astype(int)
    if not 1 <= k <= len(y_ref):
        raise ValueError(f"`k` must be between 1 and the {len(y_ref)} reference images. Received: k={k!r}")
    similarity = features(encoder, x_query) @ features(encoder, x_ref).T
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.exp(np.take_along_axis(similarity, nearest, axis=1) / temperature)
    votes = np.zeros((len(y_query), int(max(y_ref.max(), y_query.max())) + 1))
    np.add.at(votes, (np.arange(len(y_query))[:, None], y_ref[nearest]), weights)
    return float(np.mean(votes.argmax(axis=1) == y_query))


class KNNMonitor(keras.callbacks.Callback):
    """Adds `knn_accuracy` (the encoder's kNN accuracy) to each epoch's logs, so it lands in history.csv."""

    def __init__(self, encoder: keras.Model, reference: tuple, queries: tuple, *, k: int = 20):
        super().__init__()
        self.encoder, self.reference, self.queries, self.k = encoder, reference, queries, k

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["knn_accuracy"] = knn_accuracy(self.encoder, self.reference, self.queries, k=self.k)
