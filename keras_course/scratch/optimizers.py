"""The update rules of SGD, momentum, Nesterov momentum, Adagrad, RMSprop, Adam and NAdam, from their equations.

Each optimizer's `step(params, grads)` updates the numpy arrays in `params` in place; the state (velocities,
moment estimates, step count) lives in the optimizer. g is the gradient, lr the learning rate, t the step (1, 2, ...).

- SGD: w <- w - lr g
- momentum (Polyak 1964, as Keras writes it): v <- mu v - lr g; w <- w + v
- Nesterov (Sutskever et al. 2013, the look-ahead rewritten at the current point): v <- mu v - lr g;
  w <- w + mu v - lr g
- Adagrad (Duchi et al. 2011): G <- G + g^2; w <- w - lr g / (sqrt(G) + eps); G starts at `initial_accumulator`
  (0.1 in Keras, 0 in the paper)
- RMSprop (Hinton, Lecture 6e): v <- rho v + (1 - rho) g^2; w <- w - lr g / (sqrt(v) + eps)
- Adam (Kingma & Ba 2015, Algorithm 1): m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
  m_hat = m / (1 - b1^t); v_hat = v / (1 - b2^t); w <- w - lr m_hat / (sqrt(v_hat) + eps)
- NAdam (Dozat 2016): Adam with a Nesterov look-ahead on the first moment and a momentum schedule
  mu_t = b1 (1 - 0.5 * 0.96^(t / period)); m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g /
  (1 - prod_{i<=t} mu_i); v_hat = v / (1 - b2^t); w <- w - lr m_hat / (sqrt(v_hat) + eps). Dozat's period is 250;
  Keras 3 uses 1 (0.96^t, keras/src/optimizers/nadam.py), hence the `schedule_period` argument.

Where Keras adds epsilon differs from the equations above. Adagrad and RMSprop in Keras divide by sqrt(G + eps),
not sqrt(G) + eps (keras/src/optimizers/adagrad.py and rmsprop.py, update_step): with small gradients (1e-4) that
makes Keras's step 3-10 times smaller (tested). `keras_epsilon=True` puts eps where Keras does. Adam in Keras folds the bias
corrections into the step size (the paper's Section 2 "efficient" form), which scales eps by sqrt(1 - b2^t): a
difference below 1e-5 over 100 steps in the tests, so Adam and NAdam keep the paper's form.
"""

from __future__ import annotations

import numpy as np

from keras_course._checks import check_choice, check_positive


class Optimizer:
    def __init__(self, lr):
        check_positive("lr", lr)
        self.lr, self.t, self.state = lr, 0, None

    def step(self, params, grads):
        if len(params) != len(grads):
            raise ValueError(f"`grads` must hold one array per parameter. Received: {len(grads)} for {len(params)}")
        if self.state is None:
            self.state = [self.init_state(p) for p in params]
        self.t += 1
        for p, g, s in zip(params, grads, self.state):
            p -= self.update(np.asarray(g, p.dtype), s)

    def init_state(self, p):
        return {}

    def update(self, g, s):
        """The amount subtracted from the parameter."""
        raise NotImplementedError


class SGD(Optimizer):
    def update(self, g, s):
        return self.lr * g


class Momentum(Optimizer):
    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        self.momentum, self.nesterov = momentum, nesterov

    def init_state(self, p):
        return {"v": np.zeros_like(p)}

    def update(self, g, s):
        s["v"] = self.momentum * s["v"] - self.lr * g
        step = self.momentum * s["v"] - self.lr * g if self.nesterov else s["v"]
        return -step


def _root(accumulated, epsilon, keras_epsilon):
    return np.sqrt(accumulated + epsilon) if keras_epsilon else np.sqrt(accumulated) + epsilon


class Adagrad(Optimizer):
    def __init__(self, lr, epsilon=1e-7, initial_accumulator=0.1, keras_epsilon=False):
        super().__init__(lr)
        self.epsilon, self.initial_accumulator, self.keras_epsilon = epsilon, initial_accumulator, keras_epsilon

    def init_state(self, p):
        return {"G": np.full_like(p, self.initial_accumulator)}

    def update(self, g, s):
        s["G"] += g * g
        return self.lr * g / _root(s["G"], self.epsilon, self.keras_epsilon)


class RMSprop(Optimizer):
    def __init__(self, lr, rho=0.9, epsilon=1e-7, keras_epsilon=False):
        super().__init__(lr)
        self.rho, self.epsilon, self.keras_epsilon = rho, epsilon, keras_epsilon

    def init_state(self, p):
        return {"v": np.zeros_like(p)}

    def update(self, g, s):
        s["v"] = self.rho * s["v"] + (1 - self.rho) * g * g
        return self.lr * g / _root(s["v"], self.epsilon, self.keras_epsilon)


class Adam(Optimizer):
    def __init__(self, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(lr)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def init_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def update(self, g, s):
        s["m"] = self.beta_1 * s["m"] + (1 - self.beta_1) * g
        s["v"] = self.beta_2 * s["v"] + (1 - self.beta_2) * g * g
        m_hat = s["m"] / (1 - self.beta_1 ** self.t)
        v_hat = s["v"] / (1 - self.beta_2 ** self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


class NAdam(Adam):
    def __init__(self, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_period=1.0):
        super().__init__(lr, beta_1, beta_2, epsilon)
        self.schedule_period = schedule_period

    def mu(self, t):
        return self.beta_1 * (1 - 0.5 * 0.96 ** (t / self.schedule_period))

    def step(self, params, grads):
        # prod_{i<=t} mu_i, shared by every parameter
        self.mu_product = getattr(self, "mu_product", 1.0) * self.mu(self.t + 1)
        super().step(params, grads)

    def update(self, g, s):
        mu_t, mu_next = self.mu(self.t), self.mu(self.t + 1)
        s["m"] = self.beta_1 * s["m"] + (1 - self.beta_1) * g
        s["v"] = self.beta_2 * s["v"] + (1 - self.beta_2) * g * g
        m_hat = mu_next * s["m"] / (1 - self.mu_product * mu_next) + (1 - mu_t) * g / (1 - self.mu_product)
        v_hat = s["v"] / (1 - self.beta_2 ** self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": lambda lr, **kw: Momentum(lr, nesterov=True, **kw),
              "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "nadam": NAdam}


def make_optimizer(name: str, lr: float, **options) -> Optimizer:
    """One of OPTIMIZERS by name, e.g. make_optimizer("adam", 1e-3, beta_2=0.99)."""
    check_choice("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[name](lr, **options)
