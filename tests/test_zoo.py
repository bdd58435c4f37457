"""The model zoo against keras.applications and the published counts, and every option string."""

import os

import h5py
import keras
import numpy as np
import pytest

from keras_course import models

KERAS_COUNTS = {  # keras.applications' own figures (moving statistics included)
    "resnet50": 25_636_712, "resnet101": 44_707_176, "resnet152": 60_419_944,
    "vgg16": 138_357_544, "vgg19": 143_667_240,
    "densenet121": 8_062_504, "densenet169": 14_307_880, "densenet201": 20_242_984,
    "preact_resnet50": 25_613_800, "preact_resnet101": 44_675_560, "preact_resnet152": 60_380_648,
}
TORCHVISION_COUNTS = {  # trainable parameters, as torchvision counts them (no batch-norm statistics)
    "resnet18": 11_689_512, "resnet34": 21_797_672, "alexnet": 61_100_840,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248,
}
PAPER_COUNTS = {"resnet20": 0.27e6, "resnet56": 0.85e6}  # He et al. 2015, table 6 (CIFAR-10, 10 classes)
# Published to fewer digits than 1% needs: checked at the precision printed in the paper.
ROUNDED_PAPER_COUNTS = {"resnet110": (1.7e6, 0.1e6), "densenet_bc_100": (0.8e6, 0.1e6)}


@pytest.mark.parametrize("name", sorted(KERAS_COUNTS))
def test_parameter_counts_equal_keras_applications(name):
    assert models.build(name, input_shape=(224, 224, 3), num_classes=1000).count_params() == KERAS_COUNTS[name]


@pytest.mark.parametrize("name", sorted(TORCHVISION_COUNTS))
def test_trainable_counts_equal_torchvision(name):
    model = models.build(name, input_shape=(224, 224, 3), num_classes=1000)
    assert models.count_params(model)[1] == TORCHVISION_COUNTS[name]


@pytest.mark.parametrize("name", sorted(PAPER_COUNTS))
def test_cifar_resnet_counts_within_one_percent(name):
    trainable = models.count_params(models.build(name, input_shape=(32, 32, 3), num_classes=10))[1]
    assert abs(trainable - PAPER_COUNTS[name]) / PAPER_COUNTS[name] <= 0.01


@pytest.mark.parametrize("name", sorted(ROUNDED_PAPER_COUNTS))
def test_counts_at_the_papers_precision(name):
    published, step = ROUNDED_PAPER_COUNTS[name]
    trainable = models.count_params(models.build(name, input_shape=(32, 32, 3), num_classes=10))[1]
    assert round(trainable / step) * step == pytest.approx(published)


@pytest.mark.parametrize("name", ["preact_resnet18", "preact_resnet34", "googlenet", "densenet_bc_100"])
def test_other_models_build_at_their_design_size(name):
    shape = models.default_input_shape(name)
    model = models.build(name, input_shape=shape, num_classes=10)
    assert model.output_shape == (None, 10) and model.count_params() > 0


PARITY = [("resnet50", "ResNet50"), ("preact_resnet50", "ResNet50V2"), ("vgg16", "VGG16"),
          ("densenet121", "DenseNet121")]


def _seeded_keras_model(constructor, **kwargs):
    keras.utils.set_random_seed(11)
    model = getattr(keras.applications, constructor)(weights=None, **kwargs)
    rng = np.random.default_rng(11)
    for layer in model.layers:  # non-trivial batch-norm statistics, so the comparison tests them too
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
    return model


def _copy_by_name(source, target):
    copied = 0
    for layer in source.layers:
        if layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())
            copied += 1
    assert copied == sum(1 for layer in target.layers if layer.weights)


@pytest.mark.parametrize("name, constructor", PARITY)
def test_outputs_equal_keras_applications_with_copied_weights(name, constructor):
    reference = _seeded_keras_model(constructor, include_top=False, pooling="avg", input_shape=(64, 64, 3))
    ours = models.build(name, input_shape=(64, 64, 3), num_classes=1000, include_top=False, pooling="avg")
    _copy_by_name(reference, ours)
    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 64, 64, 3)).astype("float32")
    expected = np.asarray(reference(x, training=False))  # eager: tracing predict() costs seconds on deep graphs
    assert np.abs(np.asarray(ours(x, training=False)) - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def test_resnet50_with_top_matches_at_224():
    reference = _seeded_keras_model("ResNet50")
    ours = models.build("resnet50", input_shape=(224, 224, 3), num_classes=1000)
    _copy_by_name(reference, ours)
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 224, 224, 3)).astype("float32")
    assert np.abs(np.asarray(ours(x, training=False)) - np.asarray(reference(x, training=False))).max() <= 1e-4


def test_imagenet_weights_load_from_the_keras_cache(tmp_path, monkeypatch):
    """The real `weights="imagenet"` path, fed a keras-format file written where keras caches it."""
    from keras.src.legacy.saving import legacy_h5_format

    from keras_course.models import weights

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    reference = _seeded_keras_model("DenseNet121", include_top=False, input_shape=(64, 64, 3))
    os.makedirs(tmp_path / "models")
    with h5py.File(tmp_path / "models" / weights.imagenet_file_name("densenet121", include_top=False), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    ours = models.build("densenet121", input_shape=(64, 64, 3), num_classes=1000, include_top=False,
                        weights="imagenet")
    x = np.random.default_rng(2).uniform(-1, 1, size=(2, 64, 64, 3)).astype("float32")
    assert np.abs(np.asarray(ours(x, training=False)) - np.asarray(reference(x, training=False))).max() <= 1e-4


def test_missing_imagenet_weights_offline_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    with pytest.raises(ValueError, match="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5") as error:
        models.build("resnet50", input_shape=(64, 64, 3), num_classes=1000, include_top=False, weights="imagenet")
    assert "\n" not in str(error.value)


def test_weights_file_round_trip_and_mismatch(tmp_path):
    model = models.build("resnet20", input_shape=(32, 32, 3), num_classes=10)
    path = str(tmp_path / "r20.weights.h5")
    model.save_weights(path)
    again = models.build("resnet20", input_shape=(32, 32, 3), num_classes=10, weights=path)
    x = np.random.default_rng(3).uniform(0, 1, size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(again(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)
    with pytest.raises(ValueError, match="does not match the architecture of resnet32"):
        models.build("resnet32", input_shape=(32, 32, 3), num_classes=10, weights=path)
    with pytest.raises(ValueError, match="does not match the architecture of resnet20"):
        models.build("resnet20", input_shape=(32, 32, 3), num_classes=5, weights=path)


@pytest.mark.parametrize("kwargs, argument", [
    ({"name": "resnet50", "weights": "imagenet", "num_classes": 10}, "num_classes=1000"),
    ({"name": "resnet18", "weights": "imagenet"}, "twin"),
    ({"name": "resnet20", "weights": "/no/such/file.h5"}, "weights"),
    ({"name": "resnet50", "input_shape": (28, 28, 1)}, "stem='small'"),
    ({"name": "vgg11_bn", "input_shape": (8, 8, 3), "stem": "small"}, "at least 16x16"),
    ({"name": "densenet121", "pooling": "mean", "include_top": False}, "pooling"),
    ({"name": "googlenet", "stem": "tiny"}, "stem"),
    ({"name": "alexnet", "width": 0}, "width"),
    ({"name": "resnet20", "include_top": "yes"}, "include_top"),
    ({"name": "googlenet", "aux_logits": True, "include_top": False}, "aux_logits"),
])
def test_bad_options_are_named(kwargs, argument):
    name = kwargs.pop("name")
    kwargs.setdefault("num_classes", 1000)
    kwargs.setdefault("input_shape", models.default_input_shape(name))
    with pytest.raises(ValueError, match=argument.replace("(", r"\(").replace(")", r"\)")):
        models.build(name, **kwargs)


FAMILIES = ["alexnet", "vgg11_bn", "resnet18", "preact_resnet18", "densenet121", "googlenet"]


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("pooling, rank", [(None, 4), ("avg", 2), ("max", 2)])
def test_pooling_without_top(name, pooling, rank):
    model = models.build(name, input_shape=(32, 32, 3), num_classes=10, stem="small", include_top=False,
                         pooling=pooling)
    assert len(model.output_shape) == rank


@pytest.mark.parametrize("activation", ["softmax", "sigmoid", None])
def test_classifier_activation(activation):
    model = models.build("resnet20", input_shape=(32, 32, 3), num_classes=4, classifier_activation=activation)
    out = model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0)
    if activation == "softmax":
        assert out.sum() == pytest.approx(1.0, rel=1e-5)
    elif activation == "sigmoid":
        assert np.all((out > 0) & (out < 1))
    assert model.get_layer("predictions").activation.__name__ == (activation or "linear")


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("stem, shape", [("imagenet", (224, 224, 3)), ("small", (32, 32, 3))])
def test_both_stems_build(name, stem, shape):
    model = models.build(name, input_shape=shape, num_classes=10, stem=stem, include_top=False, pooling="avg")
    assert model.output_shape[0] is None and len(model.output_shape) == 2


def test_input_tensor_and_classes_alias():
    tensor = keras.Input(shape=(32, 32, 3))
    model = models.build("resnet20", input_shape=None, num_classes=1000, input_tensor=tensor, classes=7)
    assert model.inputs[0] is tensor and model.output_shape == (None, 7)


def test_googlenet_aux_heads_train_with_loss_weights():
    model = models.build("googlenet", input_shape=(32, 32, 3), num_classes=5, stem="small", aux_logits=True,
                         width=0.25)
    assert [o.shape[-1] for o in model.outputs] == [5, 5, 5]
    # plain SGD: tracing Adam's update of its 181 variables took 18 s here against 6 s, and the heads are the point
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy"] * 3, loss_weights=[1.0, 0.3, 0.3])
    x = np.random.default_rng(0).uniform(0, 255, size=(4, 32, 32, 3)).astype("float32")
    y = np.arange(4) % 5
    assert np.isfinite(model.fit(x, (y, y, y), epochs=1, verbose=0).history["loss"][0])


@pytest.mark.parametrize("name, depth", [("resnet50", 50), ("vgg16", 16), ("densenet121", 121), ("googlenet", 22),
                                         ("alexnet", 8), ("resnet110", 110), ("densenet_bc_100", 100),
                                         ("lenet5", 5)])
def test_depth_counts_weighted_layers_on_the_longest_path(name, depth):
    assert models.details(name, flops=False)["depth"] == depth


def test_flops_match_the_papers_multiply_adds():
    # He et al.: ResNet-20 is about 41 M multiply-adds at 32x32; one multiply-add is 2 FLOPs.
    assert models.details("resnet20")["flops_per_image"] == pytest.approx(2 * 41e6, rel=0.02)
    assert models.details("lenet5")["flops_per_image"] > 0


def test_cli_models_details(capsys):
    from keras_course.cli.main import main

    assert main(["models", "resnet2*", "--details"]) == 0
    out = capsys.readouterr().out
    assert "resnet20" in out and "269,722" in out and "GFLOPs/img" in out
