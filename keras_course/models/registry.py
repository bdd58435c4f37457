"""The model registry: one dict of builders, a decorator to add to it, `build` and `list_models`."""

import fnmatch
import inspect
import re

from keras_course._checks import check_choice, closest

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


def register_variant(name, family, spec, *, description, default_input_shape=None):
    """Register `family(name=name, **spec, **options)` (ResNet, DenseNet, VGG, ...) as the builder `name`.

    The builder's signature is the family's keyword options with `spec`'s values as their defaults (an option may
    still override them, e.g. stem="small"), so it stays inspectable and `build` can name a wrong option.
    """

    def builder(*, input_shape=None, num_classes=1000, **options):
        return family(**{"name": name, **spec, "input_shape": input_shape, "num_classes": num_classes, **options})

    builder.__signature__ = inspect.Signature(
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=spec.get(p.name, p.default))
         for p in inspect.signature(family).parameters.values()
         if p.name != "name" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)])
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"{description}. Options: see `{family.__name__}`."
    return register(name, description, default_input_shape=default_input_shape)(builder)


def options_of(name):
    """The keyword options the builder of `name` takes (input_shape and num_classes included), or None when it
    takes any."""
    parameters = inspect.signature(get_builder(name)).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters]


def check_options(name, options):
    """Raise ValueError naming the first option `name`'s builder does not take, and the options it does."""
    known = options_of(name)
    unknown = [key for key in options if known is not None and key not in known]
    if unknown:
        hint = closest(unknown[0], known)
        raise ValueError(f"Model {name!r} has no option {unknown[0]!r}.{f' Did you mean {hint!r}?' if hint else ''} "
                         f"Its options: {', '.join(k for k in known if k not in ('input_shape', 'num_classes'))}. "
                         f"Received: {unknown[0]}={options[unknown[0]]!r}")


def default_input_shape(name):
    """The input `name` was designed for, e.g. (224, 224, 3); None when any input works."""
    return _DEFAULT_SHAPES[check_choice("model", name, _BUILDERS)]


def natural_key(name):
    """Sort key that orders the numbers inside names by value: resnet18 < resnet34 < resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_models(pattern="*", exclude=None):
    """Registered model names matching a shell-style wildcard `pattern` and not `exclude`, in natural order.

    Example:
        >>> list_models("resnet1*", exclude="*_*")
        ['resnet18', 'resnet101', 'resnet110', 'resnet152']
    """
    names = [n for n in _BUILDERS if fnmatch.fnmatchcase(n, pattern.lower())
             and not (exclude and fnmatch.fnmatchcase(n, exclude.lower()))]
    return sorted(names, key=natural_key)


def describe(name):
    return _DESCRIPTIONS[check_choice("model", name, _BUILDERS)]


def get_builder(name):
    return _BUILDERS[check_choice("model", name, _BUILDERS)]


def build(name, *, input_shape=None, num_classes, **overrides):
    """Build a registered model; `overrides` are the builder's keyword options (a zoo model may take
    `input_tensor=` instead of `input_shape`, as keras.applications' do). An unknown option is a ValueError.

    Example:
        >>> model = build("lenet5", input_shape=(28, 28, 1), num_classes=10)
        >>> model.count_params()
        61706
    """
    builder = get_builder(name)
    check_options(name, {"num_classes": num_classes, **overrides})
    known = options_of(name)
    if input_shape is None and known is not None and "input_tensor" not in known:
        raise ValueError(f"Model {name!r} needs `input_shape`, e.g. input_shape=(28, 28, 1). Received: input_shape=None")
    shape = None if input_shape is None else tuple(input_shape)  # None: the zoo models then use input_tensor
    return builder(input_shape=shape, num_classes=num_classes, **overrides)
