"""Per-variable learning-rate multipliers for any Keras optimizer (discriminative fine-tuning).

Keras 3 optimizers take one learning rate. Each optimizer class here is the Keras class with `update_step`
scaling the learning rate for the variables named in `lr_multipliers` ({variable path: factor}); the rest of the
optimizer (state, weight decay, schedules, saving) is Keras's own. Registered, so compiled models save and load.
"""

from __future__ import annotations

import keras

_WITH_MULTIPLIERS = {}


class _LrMultipliers:
    def __init__(self, *args, lr_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lr_multipliers = {str(k): float(v) for k, v in (lr_multipliers or {}).items()}
        self._factors = None

    def build(self, variables):
        super().build(variables)
        # one factor per variable index, the way Keras looks up its own per-variable state
        self._factors = [self.lr_multipliers.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factors[self._get_variable_index(variable)] if self._factors else 1.0
        if factor != 1.0:
            learning_rate = learning_rate * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": self.lr_multipliers}


for _base in (keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.AdamW, keras.optimizers.Nadam,
              keras.optimizers.RMSprop, keras.optimizers.Adagrad):
    _cls = type(f"{_base.__name__}WithLrMultipliers", (_LrMultipliers, _base), {"__module__": __name__})
    _WITH_MULTIPLIERS[_base] = keras.saving.register_keras_serializable(package="keras_course")(_cls)


def with_lr_multipliers(optimizer: keras.optimizers.Optimizer,
                        lr_multipliers: dict[str, float]) -> keras.optimizers.Optimizer:
    """A copy of `optimizer` (not yet built) whose learning rate is scaled per variable path."""
    base = type(optimizer)
    if base not in _WITH_MULTIPLIERS:
        raise ValueError(f"Learning-rate multipliers support {', '.join(c.__name__ for c in _WITH_MULTIPLIERS)}. "
                         f"Received: optimizer={base.__name__}")
    return _WITH_MULTIPLIERS[base].from_config({**optimizer.get_config(), "lr_multipliers": lr_multipliers})
