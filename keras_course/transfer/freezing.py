"""freeze / unfreeze a classifier's backbone, by stage, by layer or by count; BatchNorm always stays frozen.

A stage is a group of layers the architecture defines (the way timm's feature_info splits networks): the stem,
then each residual stage, dense block or VGG block. ResNet50 has five (conv1 to conv5: 112, 56, 28, 14 and 7 px
at 224 px input), VGG16 five blocks, ResNet-20 four (its stem works at the input's resolution, like conv2). Our
models and their keras.applications twins say where each stage begins (models.ModelInfo.stages); for other
backbones (MobileNetV2, EfficientNet, a model of your own) a stage begins where a layer with weights works at a
new resolution. Layers that begin no stage (padding, pooling, activations) belong to the stage before them.
"""

from __future__ import annotations

import dataclasses
import warnings

import keras

from keras_course import models
from keras_course._checks import check_positive, check_range, closest
from keras_course.transfer.classifier import backbone_of


@dataclasses.dataclass
class Stage:
    name: str
    layers: list
    size: tuple = None  # (height, width) of the stage's feature maps; None for non-spatial layers

    def params(self, trainable_only=False):
        return sum(int(keras.ops.size(w)) for layer in self.layers
                   for w in (layer.trainable_weights if trainable_only else layer.weights))


def _spatial(layer):
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):  # shared layers have several outputs
        return None
    return tuple(shape[1:3]) if len(shape) == 4 else None


def split_stages(backbone: keras.Model, *, by_resolution: bool = False) -> list[Stage]:
    """The backbone's layers split into stages (list of Stage), from the input to the features: where its
    ModelInfo says (ours and their keras.applications twins), else (or with `by_resolution`) at each new
    resolution."""
    info = None if by_resolution else models.info_of_model(backbone)
    found = []
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        size = _spatial(layer)
        if info is not None and info.stages:
            begins = info.stage_of(layer.name) is not None and info.stage_of(layer.name) >= len(found)
        else:
            begins = layer.weights and found and None not in (size, found[-1].size) and size != found[-1].size
        if not found or begins:
            found.append(Stage(f"stage{len(found) + 1}", [], size if layer.weights else None))
        if found[-1].size is None and layer.weights:
            found[-1].size = size
        found[-1].layers.append(layer)
    for stage in found:
        if stage.size:
            stage.name += f" ({stage.size[0]}x{stage.size[1]})"
    return found


def _is_batch_norm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def _warn_if_compiled(model, action):
    if getattr(model, "compiled", False):
        warnings.warn(
            f"{action} changed which weights train, but {model.name!r} was compiled before: call model.compile(...) "
            "again (or use keras_course.transfer.fine_tune, which does) or the change is ignored.",
            stacklevel=3,
        )


def freeze(model: keras.Model) -> keras.Model:
    """Freeze the whole backbone (the head stays trainable). Recompile afterwards."""
    backbone_of(model).trainable = False
    _warn_if_compiled(model, "freeze()")
    return model


def select_layers(backbone, *, top=None, from_layer=None, stages=None):
    """The backbone layers that unfreezing would make trainable (BatchNorm included; it is filtered later)."""
    chosen = [name for name, value in (("top", top), ("from_layer", from_layer), ("stages", stages)) if value is not None]
    if len(chosen) > 1:
        raise ValueError(f"Pass at most one of top, from_layer, stages. Received: {', '.join(chosen)}")
    layers = [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]
    if top is not None:
        check_positive("top", top, integer=True)
        weighted = [layer for layer in layers if layer.weights]
        return weighted[-top:]
    if from_layer is not None:
        names = [layer.name for layer in layers]
        if from_layer not in names:
            hint = closest(from_layer, names)
            raise ValueError(f"No layer {from_layer!r} in backbone {backbone.name!r}.{f' Did you mean {hint!r}?' if hint else ''} "
                             f"Received: from_layer={from_layer!r}")
        return layers[names.index(from_layer):]
    if stages is not None:
        check_positive("stages", stages, integer=True)
        split = split_stages(backbone)
        if stages > len(split):
            raise ValueError(f"Backbone {backbone.name!r} has {len(split)} stages. Received: stages={stages}")
        return [layer for stage in split[-stages:] for layer in stage.layers]
    return layers


def unfreeze(model: keras.Model, *, top: int | None = None, from_layer: str | None = None,
             stages: int | None = None) -> keras.Model:
    """Make part of the backbone trainable; BatchNorm layers stay frozen (inference mode, fixed statistics).

    Args:
        top: the last `top` backbone layers that have weights.
        from_layer: a backbone layer name; it and every layer after it.
        stages: the last `stages` resolution stages (see `split_stages()`).
        With none of them, the whole backbone. Recompile afterwards (fine_tune does).
    """
    set_unfrozen(model, top=top, from_layer=from_layer, stages=stages)
    _warn_if_compiled(model, "unfreeze()")
    return model


def set_unfrozen(model, *, top=None, from_layer=None, stages=None):
    """`unfreeze` without the recompile warning, for callers that recompile next."""
    backbone = backbone_of(model)
    selected = {id(layer) for layer in select_layers(backbone, top=top, from_layer=from_layer, stages=stages)}
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = id(layer) in selected and not _is_batch_norm(layer)
    return model


def stage_lr_multipliers(model: keras.Model, factor: float) -> dict[str, float]:
    """{variable path: multiplier}: the head learns at 1, the top backbone stage at `factor`, the next at factor², …

    Discriminative learning rates (ULMFiT, fastai): early layers hold general features and should move least.
    """
    check_range("discriminative_lr", factor, 0, 1, low_open=True, high_open=False, example=0.3)
    multipliers = {}
    for depth, stage in enumerate(reversed(split_stages(backbone_of(model))), start=1):
        for layer in stage.layers:
            for variable in layer.trainable_weights:
                multipliers[variable.path] = float(factor) ** depth
    return multipliers
