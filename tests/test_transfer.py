import os

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_course import models, training, transfer
from keras_course.transfer import freezing

RNG = np.random.default_rng(0)
SMALL = {"ResNet50": 32, "ResNet50V2": 32, "VGG16": 32, "VGG19": 32, "DenseNet121": 32, "MobileNetV2": 32,
         "EfficientNetB0": 32, "InceptionV3": 75}
MODES = {"ResNet50": "caffe", "ResNet50V2": "tf", "VGG16": "caffe", "VGG19": "caffe", "DenseNet121": "torch",
         "MobileNetV2": "tf", "EfficientNetB0": "none", "InceptionV3": "tf"}
KERAS_PREPROCESS = {"caffe": keras.applications.resnet50.preprocess_input,
                    "tf": keras.applications.mobilenet_v2.preprocess_input,
                    "torch": keras.applications.densenet.preprocess_input}


def small_classifier(num_classes=3, **kwargs):
    """resnet20 at 28x28x1, narrow: a real backbone with BatchNorm and stages that trains in a blink."""
    kwargs.setdefault("options", {"width": 0.25})
    return transfer.build_classifier("resnet20", num_classes, weights=None, input_shape=(28, 28, 1), **kwargs)


def images(n, shape=(28, 28, 1)):
    return RNG.uniform(0, 255, size=(n, *shape)).astype("float32")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_keras_backbones_build_with_their_preprocessing_inside(name):
    size = SMALL[name]
    model = transfer.build_classifier(name, 4, weights=None, input_shape=(size, size, 3))
    layer = model.get_layer("backbone_preprocessing")
    assert layer.mode == MODES[name]
    assert np.asarray(model(images(2, (size, size, 3)), training=False)).shape == (2, 4)  # eager: no predict() to trace
    backbone = transfer.backbone_of(model)
    assert not backbone.trainable and len(model.trainable_weights) == 2  # only the new head trains


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_embedded_preprocessing_equals_keras_preprocess_input(mode):
    x = images(3, (8, 8, 3))
    ours = transfer.BackbonePreprocessing(mode)(x)
    np.testing.assert_allclose(np.asarray(ours), KERAS_PREPROCESS[mode](x.copy()), atol=1e-4)


def test_grayscale_is_replicated_to_rgb_for_rgb_backbones():
    gray = transfer.build_classifier("ResNet50", 2, weights=None, input_shape=(32, 32, 1))
    rgb = transfer.build_classifier("ResNet50", 2, weights=None, input_shape=(32, 32, 3))
    rgb.set_weights(gray.get_weights())
    x = images(2, (32, 32, 1))
    np.testing.assert_allclose(np.asarray(gray(x, training=False)),
                               np.asarray(rgb(np.repeat(x, 3, axis=-1), training=False)), atol=1e-5)


def test_resize_inside_the_model_lets_small_images_into_big_backbones():
    model = transfer.build_classifier("ResNet50", 2, weights=None, input_shape=(28, 28, 1), resize=(64, 64))
    assert np.asarray(model(images(1), training=False)).shape == (1, 2)
    with pytest.raises(ValueError, match="resize=.*"):
        transfer.build_classifier("InceptionV3", 2, weights=None, input_shape=(32, 32, 3))


def test_registry_backbone_options_pick_the_preprocessing_and_stay_as_given():
    options = {"width": 0.25, "preprocessing": "tf"}
    model = small_classifier(options=options)
    assert model.get_layer("backbone_preprocessing").mode == "tf"
    assert options == {"width": 0.25, "preprocessing": "tf"}  # a run's saved config is not edited in passing


def test_classifier_round_trips_through_keras_safe_mode(tmp_path):
    model = small_classifier()
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.models.load_model(path, safe_mode=True)
    x = images(2)
    np.testing.assert_allclose(np.asarray(again(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)


def _bn_state(model):
    return [v.numpy().copy() for layer in transfer.backbone_of(model).layers
            if isinstance(layer, keras.layers.BatchNormalization) for v in layer.weights]


def test_batch_norm_keeps_its_statistics_while_frozen_and_while_fine_tuning():
    model = small_classifier()
    x, y = images(32), RNG.integers(0, 3, 32)
    before = _bn_state(model)
    training.compile_model(model, optimizer="sgd", lr=0.1)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, _bn_state(model)))
    conv = next(l for l in transfer.backbone_of(model).layers if isinstance(l, keras.layers.Conv2D))
    kernel = conv.kernel.numpy().copy()
    freezing.set_unfrozen(model)
    training.compile_model(model, optimizer="sgd", lr=0.1)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(kernel, conv.kernel.numpy())  # the backbone fine-tunes ...
    assert all(np.array_equal(a, b) for a, b in zip(before, _bn_state(model)))  # ... its BatchNorm does not move


def test_unfreeze_selectors():
    model = small_classifier()
    backbone = transfer.backbone_of(model)
    weighted = [l for l in backbone.layers if l.weights]
    transfer.unfreeze(model, top=4)
    trainable = [l for l in backbone.layers if l.trainable and l.weights]
    assert trainable == [l for l in weighted[-4:] if not isinstance(l, keras.layers.BatchNormalization)]
    stages = transfer.split_stages(backbone)
    assert [s.size for s in stages] == [(28, 28), (28, 28), (14, 14), (7, 7)]  # the stem, then conv2-conv4
    assert [s.size for s in transfer.split_stages(backbone, by_resolution=True)] == [(28, 28), (14, 14), (7, 7)]
    transfer.unfreeze(model, stages=1)
    assert {l.name for l in backbone.layers if l.trainable and l.weights} == {
        l.name for l in stages[-1].layers if l.weights and not isinstance(l, keras.layers.BatchNormalization)}
    transfer.unfreeze(model, from_layer=stages[1].layers[0].name)
    assert not any(l.trainable for l in stages[0].layers if l.weights)
    assert all(l.trainable for l in stages[1].layers if l.weights and not isinstance(l, keras.layers.BatchNormalization))
    transfer.freeze(model)
    assert not backbone.trainable and len(model.trainable_weights) == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"top": 2, "stages": 1}, "at most one"),
    ({"from_layer": "conv2_blok1_1_conv"}, "Did you mean 'conv2_block1_1_conv'"),
    ({"stages": 9}, "has 4 stages"),
    ({"top": 0}, "top"),
])
def test_unfreeze_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        transfer.unfreeze(small_classifier(), **kwargs)


def test_changing_trainable_after_compile_is_caught():
    model = small_classifier()
    x, y = images(16), RNG.integers(0, 3, 16)
    training.compile_model(model, optimizer="adam", lr=1e-3)
    model.fit(x, y, epochs=1, verbose=0)
    assert transfer.audit(model).compile_state == "ok"
    with pytest.warns(UserWarning, match="compile"):
        transfer.unfreeze(model)
    report = transfer.audit(model)
    assert report.compile_state == "stale" and any("compile" in w for w in report.warnings)
    training.compile_model(model, optimizer="adam", lr=1e-5)
    assert transfer.audit(model).compile_state == "ok"


def test_audit_finds_batch_norm_in_training_mode_and_wrongly_scaled_data():
    base = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
    inputs = keras.Input((32, 32, 3))
    naive = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(base(inputs)))  # no training=False
    naive.compile("adam", "sparse_categorical_crossentropy")
    report = transfer.audit(naive, images(4, (32, 32, 3)) / 255.0)
    assert len(report.batch_norm_in_training_mode) == 53
    assert any("[0, 1] floats" in w and "caffe" in w for w in report.warnings)

    ours = transfer.build_classifier("ResNet50", 2, weights=None, input_shape=(32, 32, 3))
    training.compile_model(ours)
    good = transfer.audit(ours, images(4, (32, 32, 3)))
    assert good.ok and good.batch_norm_in_training_mode == [], str(good)
    assert sum(row["params"] for row in good.stages) == transfer.backbone_of(ours).count_params()
    assert all(row["trainable_params"] == 0 for row in good.stages) and good.head_trainable_params == 2048 * 2 + 2
    assert any("raw 0-255" in w for w in transfer.audit(ours, images(4, (32, 32, 3)) / 255.0).warnings)


def test_fine_tune_trains_the_head_then_the_unfrozen_stage():
    model = small_classifier()
    backbone = transfer.backbone_of(model)
    stages = transfer.split_stages(backbone)
    first_conv = next(l for l in stages[0].layers if isinstance(l, keras.layers.Conv2D))
    last_conv = [l for l in stages[-1].layers if isinstance(l, keras.layers.Conv2D)][-1]
    early, late, head = (first_conv.kernel.numpy().copy(), last_conv.kernel.numpy().copy(),
                         model.get_layer("predictions").kernel.numpy().copy())
    train = tf.data.Dataset.from_tensor_slices((images(32), RNG.integers(0, 3, 32))).batch(16)
    result = transfer.fine_tune(model, train, train, head_epochs=1, fine_tune_epochs=2, head_lr=1e-2,
                                fine_tune_lr=1e-3, unfreeze={"stages": 1}, verbose=0)
    assert len(result.head["loss"]) == 1 and len(result.fine_tune["val_loss"]) == 2
    assert not np.array_equal(head, model.get_layer("predictions").kernel.numpy())
    assert not np.array_equal(late, last_conv.kernel.numpy())
    np.testing.assert_array_equal(early, first_conv.kernel.numpy())  # outside the unfrozen stage
    assert transfer.audit(model).compile_state == "ok"


def test_discriminative_learning_rates_scale_each_stage_exactly():
    model = small_classifier(dropout=0.0)  # no dropout: the step below must see the same gradient as ours
    freezing.set_unfrozen(model)
    multipliers = transfer.stage_lr_multipliers(model, 0.5)
    stages = transfer.split_stages(transfer.backbone_of(model))
    conv = [next(l for l in s.layers if isinstance(l, keras.layers.Conv2D)) for s in stages]
    assert [multipliers[c.kernel.path] for c in conv] == [0.0625, 0.125, 0.25, 0.5]
    x, y = images(8), RNG.integers(0, 3, 8)
    before = [c.kernel.numpy().copy() for c in conv]
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    grads = tape.gradient(loss, [c.kernel for c in conv])
    training.compile_model(model, optimizer="sgd", lr=0.1, lr_multipliers=multipliers)
    model.train_on_batch(x, y)
    for layer, start, grad in zip(conv, before, grads):
        expected = start - 0.1 * multipliers[layer.kernel.path] * grad.numpy()
        np.testing.assert_allclose(layer.kernel.numpy(), expected, atol=1e-6)


def test_optimizer_with_multipliers_survives_save_and_load(tmp_path):
    model = small_classifier()
    freezing.set_unfrozen(model)
    training.compile_model(model, optimizer="adam", lr=1e-3, lr_multipliers=transfer.stage_lr_multipliers(model, 0.3))
    model.fit(images(8), RNG.integers(0, 3, 8), verbose=0)
    path = str(tmp_path / "tuned.keras")
    model.save(path)
    again = keras.models.load_model(path)
    assert type(again.optimizer).__name__ == "AdamWithLrMultipliers"
    assert again.optimizer.lr_multipliers == model.optimizer.lr_multipliers


def test_imagenet_weights_come_from_the_keras_cache_through_the_file_path(tmp_path, monkeypatch):
    from keras.src.legacy.saving import legacy_h5_format

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    keras.utils.set_random_seed(1)
    reference = keras.applications.ResNet50V2(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
    path = transfer.backbones.keras_imagenet_path("ResNet50V2", (32, 32, 3))
    os.makedirs(os.path.dirname(path))
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    model = transfer.build_classifier("ResNet50V2", 2, weights="imagenet", input_shape=(32, 32, 3))
    x = images(2, (32, 32, 3))
    features = np.asarray(transfer.features_model(model)(x, training=False))  # eager: no predict() to trace
    expected = np.asarray(reference(keras.applications.resnet_v2.preprocess_input(x.copy()), training=False))
    np.testing.assert_allclose(features, expected, atol=1e-4)

    local = str(tmp_path / "backbone.weights.h5")
    reference.save_weights(local)  # a user's own file: the same loading code, the same result
    from_file = transfer.build_classifier("ResNet50V2", 2, weights=local, input_shape=(32, 32, 3))
    np.testing.assert_allclose(np.asarray(transfer.features_model(from_file)(x, training=False)), expected, atol=1e-4)


def test_missing_imagenet_weights_offline_say_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    with pytest.raises(ValueError, match="efficientnetb0_notop.h5") as error:
        transfer.build_classifier("EfficientNetB0", 2, input_shape=(32, 32, 3))
    assert "\n" not in str(error.value) and str(tmp_path) in str(error.value) and "weights=PATH" in str(error.value)


def test_weights_that_do_not_fit_are_a_value_error(tmp_path):
    other = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = str(tmp_path / "vgg.weights.h5")
    other.save_weights(path)
    with pytest.raises(ValueError, match="does not match the architecture of ResNet50"):
        transfer.build_classifier("ResNet50", 2, weights=path, input_shape=(32, 32, 3))


@pytest.mark.parametrize("kwargs, match", [
    ({"backbone": "MobilenetV2"}, "Did you mean 'MobileNetV2'"),
    ({"backbone": "lenet5"}, "Unknown backbone"),
    ({"weights": "imagenett"}, "weights"),
    ({"weights": "project:no_such_model"}, "No project model"),
    ({"pooling": "mean"}, "pooling"),
    ({"dropout": 1.5}, "dropout"),
    ({"num_classes": 0}, "num_classes"),
    ({"input_shape": (32, 32, 4)}, "channels"),
    ({"resize": (64,)}, "resize"),
    ({"resize": "64"}, "resize"),
    ({"resize": 0}, "resize"),
])
def test_bad_arguments_are_named(kwargs, match):
    arguments = dict(backbone="ResNet50", num_classes=2, weights=None, input_shape=(32, 32, 3))
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        transfer.build_classifier(arguments.pop("backbone"), arguments.pop("num_classes"), **arguments)


def test_embed_returns_features_and_draws_a_tsne_map(tmp_path):
    model = small_classifier()
    x, y = images(60), np.repeat(np.arange(3), 20)
    features, labels = transfer.embed(model, (x, y), plot=str(tmp_path / "tsne.png"), class_names=["a", "b", "c"])
    assert features.shape == (60, transfer.features_model(model).output_shape[-1]) and np.array_equal(labels, y)
    assert os.path.getsize(tmp_path / "tsne.png") > 10_000
    from_dataset, _ = transfer.embed(model, tf.data.Dataset.from_tensor_slices((x, y)))
    np.testing.assert_allclose(from_dataset, features, atol=1e-5)


def test_a_preact_resnet_stage_is_its_blocks_though_it_downsamples_in_its_last_block():
    """ResNet50V2's layout strides in each stage's last block: split by resolution, conv2_block3 would belong to
    conv3; declared, each stage is its own blocks."""
    backbone = models.build("preact_resnet50", input_shape=(128, 128, 3), num_classes=None, include_top=False)
    stages = transfer.split_stages(backbone)
    assert [s.layers[0].name for s in stages] == ["conv1_pad", "conv2_block1_preact_bn", "conv3_block1_preact_bn",
                                                  "conv4_block1_preact_bn", "conv5_block1_preact_bn"]
    by_resolution = transfer.split_stages(backbone, by_resolution=True)
    assert by_resolution[2].layers[0].name.startswith("conv2_block3")


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "densenet121", "googlenet", "alexnet"])
def test_the_stages_each_model_declares_are_its_resolution_stages_in_the_imagenet_layout(name):
    size = 224 if name == "alexnet" else 128
    backbone = models.build(name, input_shape=(size, size, 3), num_classes=None, include_top=False)
    declared, measured = transfer.split_stages(backbone), transfer.split_stages(backbone, by_resolution=True)
    assert [[l.name for l in s.layers] for s in declared] == [[l.name for l in s.layers] for s in measured]
    assert len(declared) == len(models.info(name).stages)


def test_a_keras_applications_twin_splits_where_our_model_does():
    ours = models.build("resnet50", input_shape=(64, 64, 3), num_classes=None, include_top=False)
    theirs = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert models.info_of_model(theirs).name == "resnet50"
    assert [[l.name for l in s.layers] for s in transfer.split_stages(ours)] == \
        [[l.name for l in s.layers] for s in transfer.split_stages(theirs)]
