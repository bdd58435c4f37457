"""Backbones for transfer learning: keras.applications models, our registry's, and the project's own pretrained ones.

A backbone is a headless keras.Model plus the preprocessing its weights expect. Weights come from the Keras
cache (ImageNet; downloaded by Keras when online), a local file, or `project:NAME` (a model in saved_models/).
"""

from __future__ import annotations

import dataclasses
import glob
import inspect
import json
import os

import keras

from keras_course import _offline as offline
from keras_course import _private, models
from keras_course._checks import closest
from keras_course.models import weights as zoo_weights


@dataclasses.dataclass(frozen=True)
class KerasBackbone:
    """A keras.applications constructor: its preprocessing mode, default and minimum input size, ImageNet file."""

    mode: str
    default_size: int = 224
    min_size: int = 32
    notop_file: str = None  # name of the no-top ImageNet weights file in the Keras cache; None: ask Keras


# The twins of our zoo (ResNet50, ResNet50V2, VGG16, DenseNet121, ...) come from the registry's table; the rest:
KERAS_BACKBONES = {
    **{twin.keras_twin: KerasBackbone(twin.preprocessing,
                                      notop_file=zoo_weights.imagenet_file_name(name, include_top=False))
       for name, twin in models.registry.keras_twins().items()},
    "MobileNetV2": KerasBackbone("tf"),  # the file depends on the input size; Keras picks it
    "EfficientNetB0": KerasBackbone("none", notop_file="efficientnetb0_notop.h5"),
    "EfficientNetB1": KerasBackbone("none", 240, notop_file="efficientnetb1_notop.h5"),
    "EfficientNetB2": KerasBackbone("none", 260, notop_file="efficientnetb2_notop.h5"),
    "EfficientNetB3": KerasBackbone("none", 300, notop_file="efficientnetb3_notop.h5"),
    "InceptionV3": KerasBackbone("tf", 299, 75, "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "Xception": KerasBackbone("tf", 299, 71, "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "ConvNeXtTiny": KerasBackbone("none", notop_file="convnext_tiny_notop.h5"),
}
PROJECT_PREFIX = "project:"
ENV_SAVED_MODELS = "KERAS_COURSE_SAVED_MODELS"


@dataclasses.dataclass
class Backbone:
    """A headless model (features out) and how raw 0–255 pixels must be prepared for it."""

    model: keras.Model
    mode: str  # a BackbonePreprocessing mode


def list_backbones() -> list[str]:
    """keras.applications names, then registry names that can drop their head (`include_top`)."""
    return list(KERAS_BACKBONES) + [name for name in models.list_models() if _has_top_option(name)]


def _has_top_option(name):
    """The zoo families take keras.applications options (include_top, pooling, ...) through **options."""
    parameters = inspect.signature(models.get_builder(name)).parameters
    return "include_top" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def saved_models_dirs():
    """Where `project:NAME` is looked up: $KERAS_COURSE_SAVED_MODELS, ./saved_models, the repository's saved_models."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "saved_models")
    dirs = [os.environ.get(ENV_SAVED_MODELS), os.path.abspath("saved_models"), here]
    return list(dict.fromkeys(d for d in dirs if d))


def project_models() -> list[str]:
    """Names usable as `weights="project:NAME"`."""
    names = set()
    for root in saved_models_dirs():
        names.update(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(root, "*", "manifest.json")))
    return sorted(names)


def project_model_dir(name):
    for root in saved_models_dirs():
        folder = os.path.join(root, name)
        if os.path.isfile(os.path.join(folder, "manifest.json")) and os.path.isfile(os.path.join(folder, "model.keras")):
            return folder
    known = project_models()
    hint = closest(name, known)
    raise ValueError(
        f"No project model {name!r} in {', '.join(saved_models_dirs())}.{f' Did you mean {hint!r}?' if hint else ''} "
        f"Available: {', '.join(known) or 'none'}. Received: weights='{PROJECT_PREFIX}{name}'"
    )


def read_manifest(name: str) -> dict:
    with open(os.path.join(project_model_dir(name), "manifest.json")) as f:
        return json.load(f)


def check_backbone_name(backbone):
    if isinstance(backbone, str) and (backbone in KERAS_BACKBONES or (backbone in models.list_models() and _has_top_option(backbone))):
        return backbone
    choices = list_backbones()
    hint = closest(backbone, choices) if isinstance(backbone, str) else None
    raise ValueError(
        f"Unknown backbone {backbone!r}.{f' Did you mean {hint!r}?' if hint else ''} Expected a keras.applications name "
        f"({', '.join(KERAS_BACKBONES)}) or a registry model with `include_top` (`keras-course models`). "
        f"Received: backbone={backbone!r}"
    )


def check_weights_argument(weights):
    ok = weights is None or weights == "imagenet" or (isinstance(weights, str) and weights.startswith(PROJECT_PREFIX))
    if not ok and not (isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError(
            "`weights` must be None, 'imagenet', 'project:NAME' (a model in saved_models/) or the path of a weights "
            f"file. Received: weights={weights!r}"
        )


def load_backbone(backbone: str, *, weights: str | None, input_shape: tuple[int, ...], pooling: str,
                  options: dict | None = None) -> Backbone:
    """Build the headless backbone for `input_shape` (h, w, c) with `weights`; returns a Backbone."""
    check_weights_argument(weights)
    if isinstance(weights, str) and weights.startswith(PROJECT_PREFIX):  # the saved model is the architecture
        return _project_backbone(weights[len(PROJECT_PREFIX):], input_shape)
    check_backbone_name(backbone)
    if backbone in KERAS_BACKBONES:
        if options:
            raise ValueError(f"`options` apply to registry backbones only; {backbone} takes none. Received: options={options!r}")
        return _keras_backbone(backbone, weights, input_shape, pooling)
    return _registry_backbone(backbone, weights, input_shape, pooling, options or {})


def keras_imagenet_path(name, input_shape):
    spec = KERAS_BACKBONES[name]
    file_name = spec.notop_file
    if file_name is None:  # MobileNetV2: one file per input size
        rows = input_shape[0] if input_shape[0] in (96, 128, 160, 192, 224) else 224
        file_name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    return os.path.join(zoo_weights.keras_models_cache(), file_name)


def _keras_backbone(name, weights, input_shape, pooling):
    constructor = getattr(keras.applications, name)
    spec = KERAS_BACKBONES[name]
    if min(input_shape[:2]) < spec.min_size:
        raise ValueError(
            f"{name} needs inputs of at least {spec.min_size}x{spec.min_size}. Received: input_shape={tuple(input_shape)}; "
            f"pass resize=({spec.default_size}, {spec.default_size}) to resize inside the model."
        )
    path = weights
    if weights == "imagenet":
        path = keras_imagenet_path(name, input_shape)
        if not os.path.isfile(path):
            path = _download_imagenet(name, constructor, input_shape, path)
    model = constructor(weights=None, include_top=False, input_shape=tuple(input_shape), pooling=pooling)
    if path is not None:  # a cached ImageNet file and a user's file take the same path, with the same checks
        zoo_weights.load_weights(model, path, name=name, include_top=False)
    return Backbone(model, spec.mode)


def _download_imagenet(name, constructor, input_shape, path):
    """Let Keras fetch its file into the cache (it checks the hash); one actionable line when that fails."""
    if offline.offline():
        raise ValueError(_missing_imagenet(name, path, f"{offline.ENV_OFFLINE} is set"))
    try:
        constructor(weights="imagenet", include_top=False, input_shape=tuple(input_shape))
    except Exception as error:  # a failed fetch surfaces as Exception, OSError or ValueError depending on the cause
        if "fetch failure" not in str(error) and "download" not in str(error).lower():
            raise
        raise ValueError(_missing_imagenet(name, path, "download failed, no internet?")) from None
    if not os.path.isfile(path):  # Keras chose another file name than ours
        raise ValueError(_missing_imagenet(name, path, "Keras stored its file under another name"))
    return path


def _missing_imagenet(name, path, reason):
    return (
        f"ImageNet weights for {name} not found at {path} ({reason}). To fix: copy {os.path.basename(path)} into "
        f"{os.path.dirname(path)}, or pass weights=PATH (a weights file), or weights=None to train from scratch."
    )


def _registry_backbone(name, weights, input_shape, pooling, options):
    options = dict(options)  # the caller's dict (a run's saved config) stays as given
    mode = options.pop("preprocessing", "rescale")
    if weights == "imagenet":  # ImageNet weights expect their twin's preprocessing (a twin is checked when built)
        mode = models.registry.info(name).preprocessing
    model = models.build(name, input_shape=tuple(input_shape), num_classes=None, include_top=False, pooling=pooling,
                         weights=weights, **options)
    return Backbone(model, mode)


def _project_backbone(name, input_shape):
    """The saved model up to its features (the input of its classifier), its own normalisation included."""
    folder = project_model_dir(name)
    full = keras.models.load_model(os.path.join(folder, "model.keras"), compile=False)
    saved_shape = tuple(full.input_shape[1:])
    if input_shape is not None and tuple(input_shape) != saved_shape:
        raise ValueError(
            f"Project model {name!r} takes inputs of shape {saved_shape}. Received: input_shape={tuple(input_shape)}; "
            f"pass resize={saved_shape[:2]} (and the images' own channels) to resize inside the model."
        )
    if read_manifest(name).get("kind") == "encoder":  # a self-supervised encoder: its output is the features
        return Backbone(keras.Model(full.inputs, full.output, name=name), "none")
    return Backbone(features_model(full, name), "none")  # its own pooling and normalisation


def features_model(classifier: keras.Model, name: str | None = None) -> keras.Model:
    """`classifier` up to its features: the input of its last layer (the head), before the head's dropout."""
    features = classifier.layers[-1].input
    while isinstance(_private.producer(features), keras.layers.Dropout):  # features, not their dropout
        features = _private.producer(features).input
    return keras.Model(classifier.inputs, features, name=name or classifier.name)
