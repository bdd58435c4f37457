"""A fully connected network in numpy with the forward and backward passes written by hand.

Layer l computes z_l = a_{l-1} W_l + b_l and a_l = f(z_l); the last layer is linear (its outputs are the logits or
the regression outputs). Backpropagation runs the chain rule from the loss back: with delta_l = dL/dz_l,
dL/dW_l = a_{l-1}^T delta_l, dL/db_l = sum over the batch of delta_l, and delta_{l-1} = (delta_l W_l^T) * f'(z_{l-1}).
For softmax cross-entropy the output delta is (softmax(z) - onehot(y)) / n, for the mean squared error
2 (z - y) / (n * outputs): both losses are means over the batch, as Keras computes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_course._checks import check_choice

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from keras_course.scratch.optimizers import Optimizer


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


LEAKY_SLOPE = 0.2  # Keras's leaky_relu default (keras.activations.leaky_relu, negative_slope=0.2)
# name: (f(z), f'(z) written with z and a = f(z))
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "leaky_relu": (lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
                   lambda z, a: np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)),
}
LOSSES = ("mse", "softmax_cross_entropy")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class MLP:
    """sizes = [inputs, hidden..., outputs]; hidden layers use `activation`, the output layer is linear.

    Weights: Glorot-uniform from `seed`, biases zero; `params` is a list [W_1, b_1, W_2, b_2, ...] (float64 unless
    `dtype` says otherwise) that the optimizers update in place.
    """

    def __init__(self, sizes: Sequence[int], *, activation: str = "relu", loss: str = "softmax_cross_entropy",
                 seed: int = 0, dtype: str = "float64"):
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("loss", loss, LOSSES)
        if len(sizes) < 2 or not all(isinstance(s, int) and s > 0 for s in sizes):
            raise ValueError(f"`sizes` must be >= 2 positive ints [inputs, ..., outputs]. Received: sizes={sizes!r}")
        self.sizes, self.activation, self.loss_name = list(sizes), activation, loss
        rng = np.random.default_rng(seed)
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            self.params += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype), np.zeros(fan_out, dtype)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (or regression outputs) for `x`; keeps what backward needs."""
        f, _ = ACTIVATIONS[self.activation]
        a = np.asarray(x, dtype=self.params[0].dtype)
        self._cache = [(None, a)]
        layers = len(self.params) // 2
        for l in range(layers):
            z = a @ self.params[2 * l] + self.params[2 * l + 1]
            a = z if l == layers - 1 else f(z)
            self._cache.append((z, a))
        return a

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over the batch: softmax cross-entropy with integer labels, or mean squared error."""
        out = self.forward(x)
        if self.loss_name == "mse":
            return float(np.mean((out - np.asarray(y, out.dtype).reshape(out.shape)) ** 2))
        y = np.asarray(y).reshape(-1).astype(int)
        z = out - out.max(axis=1, keepdims=True)
        log_probabilities = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-np.mean(log_probabilities[np.arange(len(y)), y]))

    def backward(self, y: np.ndarray) -> list[np.ndarray]:
        """Gradients of the last `forward`'s mean loss, one per entry of `params`."""
        _, derivative = ACTIVATIONS[self.activation]
        out = self._cache[-1][1]
        n = len(out)
        if self.loss_name == "mse":
            delta = 2.0 * (out - np.asarray(y, out.dtype).reshape(out.shape)) / out.size
        else:
            delta = softmax(out)
            delta[np.arange(n), np.asarray(y).reshape(-1).astype(int)] -= 1.0
            delta /= n
        grads = [None] * len(self.params)
        for l in range(len(self.params) // 2 - 1, -1, -1):
            a_prev = self._cache[l][1]
            grads[2 * l] = a_prev.T @ delta
            grads[2 * l + 1] = delta.sum(axis=0)
            if l > 0:
                z_prev, a_prev_act = self._cache[l]
                delta = (delta @ self.params[2 * l].T) * derivative(z_prev, a_prev_act)
        return grads

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """(loss, gradients) on the batch (x, y)."""
        loss = self.loss(x, y)
        return loss, self.backward(y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = self.forward(x)
        return out if self.loss_name == "mse" else softmax(out)

    def fit(self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer, *, epochs: int = 100, batch_size: int = 32,
            seed: int = 0) -> list[float]:
        """Mini-batch training with a `scratch.optimizers` optimizer; returns the mean loss of each epoch."""
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(epochs):
            order = rng.permutation(len(x))
            losses = []
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                loss, grads = self.gradients(x[batch], y[batch])
                optimizer.step(self.params, grads)
                losses.append(loss)
            history.append(float(np.mean(losses)))
        return history


def numerical_gradient(f: Callable[[], float], params: Sequence[np.ndarray], *, h: float = 1e-6) -> list[np.ndarray]:
    """Central differences (f(p + h) - f(p - h)) / 2h of the scalar f() for every entry of every array in params."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + h
            up = f()
            p[index] = saved - h
            down = f()
            p[index] = saved
            g[index] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def gradient_check(model: MLP, x: np.ndarray, y: np.ndarray, *, h: float = 1e-6) -> float:
    """The largest relative error ||analytic - numeric|| / (||analytic|| + ||numeric||) over the parameter arrays."""
    _, analytic = model.gradients(x, y)
    numeric = numerical_gradient(lambda: model.loss(x, y), model.params, h=h)
    errors = [np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-300) for a, n in zip(analytic, numeric)]
    return float(max(errors))
