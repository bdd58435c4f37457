"""Rosenblatt's perceptron (1958): a threshold unit and its error-correction rule.

Prediction: y_hat = 1 if w . x + b > 0 else 0. For each example in turn: w <- w + lr (y - y_hat) x and
b <- b + lr (y - y_hat), which changes nothing when the prediction is right. On linearly separable data it stops
making mistakes after finitely many updates (Novikoff 1962); on XOR it never does.
"""

from __future__ import annotations

import numpy as np

from keras_course._checks import check_positive


class Perceptron:
    def __init__(self, inputs: int, *, lr: float = 1.0):
        check_positive("inputs", inputs, integer=True)
        check_positive("lr", lr)
        self.w, self.b, self.lr = np.zeros(inputs), 0.0, lr

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) @ self.w + self.b > 0).astype(int)

    def fit(self, x: np.ndarray, y: np.ndarray, *, epochs: int = 100) -> list[int]:
        """Passes over the data in order until an epoch makes no mistake; returns the mistakes of each epoch."""
        x, y = np.asarray(x, dtype=float), np.asarray(y).reshape(-1).astype(int)
        if set(np.unique(y)) - {0, 1}:
            raise ValueError(f"The perceptron's labels are 0 and 1. Received: {sorted(set(np.unique(y)))}")
        mistakes = []
        for _ in range(epochs):
            errors = 0
            for xi, yi in zip(x, y):
                error = yi - int(xi @ self.w + self.b > 0)
                if error:
                    self.w += self.lr * error * xi
                    self.b += self.lr * error
                    errors += 1
            mistakes.append(errors)
            if errors == 0:
                break
        return mistakes
