"""The registry's ModelInfo table: twins, weight files, stages and the convolutions inside blocks, checked on the
models themselves."""

import keras
import pytest

from keras_course import models, transfer
from keras_course.models import weights

# layers a convolution's output passes through unchanged in channel count
PASS_THROUGH = ("BatchNormalization", "Activation", "ReLU", "ZeroPadding2D", "MaxPooling2D", "AveragePooling2D",
                "Dropout")
SHARING = ("Add", "Concatenate", "ZeroPadShortcut")  # a channel count the next layers share with others
SMALL = {"alexnet": (224, 224, 3), "googlenet": (64, 64, 3), "simple_cnn": (16, 16, 1)}


def _small_input(name):
    default = models.default_input_shape(name)
    if name in SMALL or default is None:
        return SMALL.get(name, default)
    return (min(default[0], 64), min(default[1], 64), default[2])


def _consumers(model):
    """{layer name: [names of the layers that take its output]}, read from the functional config."""
    found = {}

    def producers(value):
        if isinstance(value, dict):
            if "keras_history" in value.get("config", {}):
                yield value["config"]["keras_history"][0]
            for item in value.values():
                yield from producers(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from producers(item)

    for layer in model.get_config()["layers"]:
        for producer in producers(layer.get("inbound_nodes", [])):
            found.setdefault(producer, []).append(layer["config"]["name"])
    return found


def _shares_channels(model, name, consumers):
    classes = {layer.name: type(layer).__name__ for layer in model.layers}
    for consumer in consumers.get(name, []):
        if classes[consumer] in SHARING:
            return True
        if classes[consumer] in PASS_THROUGH and _shares_channels(model, consumer, consumers):
            return True
    return False


@pytest.mark.parametrize("name", [n for n in models.list_models() if models.info(n).inner_convs or models.info(n).stages])
def test_the_declared_stages_and_inner_convs_match_the_built_model(name):
    """Every declared stage begins at a layer of the model, and the inner convolutions are exactly those whose
    output channels no residual addition or concatenation shares (found from the model's own graph)."""
    model = models.build(name, input_shape=_small_input(name), num_classes=10,
                         **({"stem": "small"} if name in ("resnet18", "preact_resnet18", "vgg11_bn") else {}))
    info = models.info(name)
    begun = {info.stage_of(layer.name) for layer in model.layers} - {None}
    assert begun == set(range(len(info.stages)))
    if info.inner_convs:
        consumers = _consumers(model)
        convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        free = {c for c in convs if not _shares_channels(model, c, consumers)}
        assert {c for c in convs if info.is_inner_conv(c)} == free
        assert free, "no convolution inside a block"


def test_the_twins_table_is_the_one_source_of_keras_names_weight_files_and_preprocessing():
    twins = models.keras_twins()
    assert sorted(twins) == ["densenet121", "densenet169", "densenet201", "preact_resnet101", "preact_resnet152",
                             "preact_resnet50", "resnet101", "resnet152", "resnet50", "vgg16", "vgg19"]
    assert weights.imagenet_file_name("preact_resnet50", include_top=False) == \
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert transfer.KERAS_BACKBONES["ResNet50V2"].notop_file == weights.imagenet_file_name("preact_resnet50", False)
    for name, info in twins.items():
        assert transfer.KERAS_BACKBONES[info.keras_twin].mode == info.preprocessing
    assert (twins["resnet50"].preprocessing, twins["preact_resnet50"].preprocessing,
            twins["densenet121"].preprocessing) == ("caffe", "tf", "torch")
    assert models.info("resnet20").keras_twin is None and "keras twin ResNet50" in models.describe("resnet50")
