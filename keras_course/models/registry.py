"""The model registry: builders and what each model is, as data; `build`, `list_models`, `info`.

Every registered model has a ModelInfo: its description and default input, and the facts generic tools need
without inspecting layers (as timm's default_cfg / feature_info and fastai's model_meta record them): the
keras.applications twin with the same layers and names, the ImageNet weight file and the preprocessing those
weights expect, where each stage begins, and which convolutions sit inside a block (their filters can be removed
without changing a channel count that a residual addition or a concatenation shares).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import inspect
import re
from typing import TYPE_CHECKING, Any

from keras_course._checks import check_choice, closest

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import keras

_BUILDERS = {}
_INFO = {}


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What a registered model is, as data."""

    name: str
    description: str
    default_input_shape: tuple = None  # the input the architecture was designed for; None: any
    family: str = None  # "resnet", "vgg", ...
    keras_twin: str = None  # keras.applications constructor with the same layers and layer names, e.g. "ResNet50"
    imagenet_file: str = None  # stem of that twin's ImageNet weight files in Keras's cache, e.g. "resnet50"
    preprocessing: str = "rescale"  # what the ImageNet weights expect: caffe, tf or torch (see BackbonePreprocessing)
    stages: tuple = ()  # names of the stages, input to output; a stage begins at the first layer named NAME...
    inner_convs: str = None  # regex of the convolutions inside blocks (every conv of a network without blocks)

    def stage_of(self, layer_name: str) -> int | None:
        """The index of the stage a layer named `layer_name` begins, or None when it begins none."""
        return next((i for i, stage in enumerate(self.stages) if re.match(re.escape(stage) + r"(?!\d)", layer_name)),
                    None)

    def is_inner_conv(self, layer_name: str) -> bool:
        return bool(self.inner_convs and re.search(self.inner_convs, layer_name))


def register(name: str, description: str = "", *, default_input_shape: tuple[int, ...] | None = None,
             **metadata) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Register `builder(*, input_shape, num_classes, **options) -> keras.Model` under a lowercase `name`.

    `default_input_shape` is the input the architecture was designed for (None for shape-agnostic models);
    `metadata`: the other ModelInfo fields (family, keras_twin, imagenet_file, preprocessing, stages, inner_convs).
    """

    def decorator(builder):
        key = name.lower()
        if key in _BUILDERS:
            raise ValueError(f"A model named {key!r} is already registered.")
        _BUILDERS[key] = builder
        _INFO[key] = ModelInfo(key, description or (builder.__doc__ or "").strip().splitlines()[0],
                               tuple(default_input_shape) if default_input_shape else None, **metadata)
        return builder

    return decorator


def info(name: str) -> ModelInfo:
    """The ModelInfo of registered model `name`."""
    return _INFO[check_choice("model", name, _BUILDERS)]


def info_of_model(model: keras.Model) -> ModelInfo | None:
    """The ModelInfo of a built model: one of ours (named after its registry name) or a keras.applications twin
    (keras names ResNet50V2 "resnet50v2"); None for any other model."""
    found = _INFO.get(model.name)
    return found or next((i for i in _INFO.values() if i.keras_twin and i.keras_twin.lower() == model.name), None)


def keras_twins() -> dict[str, ModelInfo]:
    """{registry name: ModelInfo} of the models that have a keras.applications twin."""
    return {name: entry for name, entry in _INFO.items() if entry.keras_twin}


def register_variant(name: str, family_builder: Callable[..., keras.Model], spec: dict, *, description: str,
                     default_input_shape: tuple[int, ...] | None = None, **metadata) -> Callable[..., keras.Model]:
    """Register `family_builder(name=name, **spec, **options)` (ResNet, DenseNet, VGG, ...) as the builder `name`, with
    `metadata` (ModelInfo's fields).

    The builder's signature is the family's keyword options with `spec`'s values as their defaults (an option may
    still override them, e.g. stem="small"), so it stays inspectable and `build` can name a wrong option.
    """

    def builder(*, input_shape=None, num_classes=1000, **options):
        return family_builder(**{"name": name, **spec, "input_shape": input_shape, "num_classes": num_classes, **options})

    builder.__signature__ = inspect.Signature(
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=spec.get(p.name, p.default))
         for p in inspect.signature(family_builder).parameters.values()
         if p.name != "name" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)])
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"{description}. Options: see `{family_builder.__name__}`."
    return register(name, description, default_input_shape=default_input_shape, **metadata)(builder)


def options_of(name: str) -> list[str] | None:
    """The keyword options the builder of `name` takes (input_shape and num_classes included), or None when it
    takes any."""
    parameters = inspect.signature(get_builder(name)).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters]


def check_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first option `name`'s builder does not take, and the options it does."""
    known = options_of(name)
    unknown = [key for key in options if known is not None and key not in known]
    if unknown:
        hint = closest(unknown[0], known)
        raise ValueError(f"Model {name!r} has no option {unknown[0]!r}.{f' Did you mean {hint!r}?' if hint else ''} "
                         f"Its options: {', '.join(k for k in known if k not in ('input_shape', 'num_classes'))}. "
                         f"Received: {unknown[0]}={options[unknown[0]]!r}")


def default_input_shape(name: str) -> tuple[int, ...] | None:
    """The input `name` was designed for, e.g. (224, 224, 3); None when any input works."""
    return info(name).default_input_shape


def natural_key(name: str) -> list:
    """Sort key that orders the numbers inside names by value: resnet18 < resnet34 < resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_models(pattern: str = "*", exclude: str = None) -> list:
    """Registered model names matching a shell-style wildcard `pattern` and not `exclude`, in natural order.

    Example:
        >>> list_models("resnet1*", exclude="*_*")
        ['resnet14', 'resnet18', 'resnet101', 'resnet110', 'resnet152']
    """
    names = [n for n in _BUILDERS if fnmatch.fnmatchcase(n, pattern.lower())
             and not (exclude and fnmatch.fnmatchcase(n, exclude.lower()))]
    return sorted(names, key=natural_key)


def describe(name: str) -> str:
    return info(name).description


def get_builder(name: str) -> Callable[..., keras.Model]:
    return _BUILDERS[check_choice("model", name, _BUILDERS)]


def build(name: str, *, input_shape: tuple[int, ...] | None = None, num_classes: int, **overrides) -> keras.Model:
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
