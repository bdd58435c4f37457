"""The model registry: one dict of builders, a decorator to add to it, `build` and `list_models`."""

import fnmatch

from keras_course._checks import check_choice

_BUILDERS = {}
_DESCRIPTIONS = {}
_DEFAULT_SHAPES = {}


def register(name, description="", *, default_input_shape=None):
    """Register `builder(*, input_shape, num_classes, **options) -> keras.Model` under a lowercase `name`.

    `default_input_shape` is the input the architecture was designed for (None for shape-agnostic models).
    """

    def decorator(builder):
        key = name.lower()
        if key in _BUILDERS:
            raise ValueError(f"A model named {key!r} is already registered.")
        _BUILDERS[key] = builder
        _DESCRIPTIONS[key] = description or (builder.__doc__ or "").strip().splitlines()[0]
        _DEFAULT_SHAPES[key] = tuple(default_input_shape) if default_input_shape else None
        return builder

    return decorator


def default_input_shape(name):
    """The input `name` was designed for, e.g. (224, 224, 3); None when any input works."""
    return _DEFAULT_SHAPES[check_choice("model", name, _BUILDERS)]


def list_models(pattern="*"):
    """Registered model names matching a shell-style wildcard pattern, e.g. list_models("lenet*")."""
    return sorted(n for n in _BUILDERS if fnmatch.fnmatchcase(n, pattern.lower()))


def describe(name):
    return _DESCRIPTIONS[check_choice("model", name, _BUILDERS)]


def get_builder(name):
    return _BUILDERS[check_choice("model", name, _BUILDERS)]


def build(name, *, input_shape, num_classes, **overrides):
    """Build a registered model; `overrides` are the builder's keyword options.

    Example:
        >>> model = build("lenet5", input_shape=(28, 28, 1), num_classes=10)
        >>> model.count_params()
        61706
    """
    shape = None if input_shape is None else tuple(input_shape)  # None: the zoo models then use input_tensor
    return get_builder(name)(input_shape=shape, num_classes=num_classes, **overrides)
