"""Keras 3 `.weights.h5` files move between keras.applications and our twins, in both directions."""

import keras
import numpy as np
import pytest

from keras_course import models, transfer
from keras_course.models.registry import keras_twins

SIZE = 64  # small enough to be quick, large enough for every twin's five downsamplings
ONE_PER_FAMILY = ["resnet50", "preact_resnet50", "vgg16", "densenet121"]


def _randomise(model, seed):
    """Weights that make every layer matter (moving variances positive), so equal outputs mean equal weights."""
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.normal(1.0, 0.1, w.shape)) if "variance" in w.path else
                       rng.normal(0.0, 0.05 if len(w.shape) > 1 else 0.1, w.shape) for w in model.weights])


def _close(a, b):
    scale = float(np.abs(a).max())
    assert scale > 1e-3, "outputs too small to compare"
    assert float(np.abs(a - b).max()) <= 1e-4 * max(1.0, scale)


def _check_both_directions(name, tmp_path):
    keras_name = keras_twins()[name].keras_twin
    constructor = getattr(keras.applications, keras_name)
    x = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")

    theirs = constructor(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
    _randomise(theirs, 1)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    ours = models.build(name, input_shape=(SIZE, SIZE, 3), num_classes=None, include_top=False,
                        weights=str(tmp_path / "theirs.weights.h5"))
    _close(np.asarray(theirs(x, training=False)), np.asarray(ours(x, training=False)))  # eager: no predict() to trace

    _randomise(ours, 2)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    _close(np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)))


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_keras_weights_files_load_into_our_twin_and_ours_into_keras(name, tmp_path):
    _check_both_directions(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in keras_twins() if n not in ONE_PER_FAMILY])
def test_every_twin_exchanges_weights_files_with_keras(name, tmp_path):
    _check_both_directions(name, tmp_path)


def test_a_transfer_classifier_takes_a_keras_applications_weights_file(tmp_path):
    """The issue's report: keras.applications.ResNet50(...).save_weights, then build_classifier(weights=that)."""
    theirs = keras.applications.ResNet50(weights=None, include_top=False)
    _randomise(theirs, 3)
    theirs.save_weights(tmp_path / "r.weights.h5")
    model = transfer.build_classifier("resnet50", 3, weights=str(tmp_path / "r.weights.h5"),
                                      input_shape=(SIZE, SIZE, 3))
    backbone = transfer.backbone_of(model)
    for ours, keras_weight in zip(backbone.weights, theirs.weights):
        np.testing.assert_array_equal(ours.numpy(), keras_weight.numpy())


def test_models_saved_before_the_rename_still_load(tmp_path):
    """`.keras` files written when the layer was called FusedBatchNormalization (saved_models/, run directories)."""
    from keras_course.models.layers import FusedBatchNormalization

    inputs = keras.Input((8, 8, 3))
    old = keras.Model(inputs, FusedBatchNormalization(name="bn")(keras.layers.Conv2D(4, 3, name="conv")(inputs)))
    _randomise(old, 4)
    old.save(tmp_path / "old.keras")
    again = keras.models.load_model(tmp_path / "old.keras")
    assert type(again.get_layer("bn")).__name__ == "FusedBatchNormalization"
    for a, b in zip(old.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    new = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10)
    assert type(new.get_layer("conv1_bn")).__name__ == "BatchNormalization"


def _small(batch_norm):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = batch_norm(name="conv_bn")(x)
    x = keras.layers.Conv2D(4, 3, name="conv2")(x)
    x = batch_norm(name="conv2_bn")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="small")


def test_weights_files_written_before_the_rename_load_and_resume(tmp_path):
    """Files keyed fused_batch_normalization (run backups, user files from before) load into today's models."""
    from keras_course.models.layers import BatchNormalization, FusedBatchNormalization
    from keras_course.models.weights import load_weights
    from keras_course.training import ExactBackupAndRestore

    old, new = _small(FusedBatchNormalization), _small(BatchNormalization)
    _randomise(old, 5)
    old.save_weights(tmp_path / "old.weights.h5")
    with pytest.raises(ValueError):  # what Keras alone does with such a file
        keras.Model.load_weights(new, tmp_path / "old.weights.h5")
    load_weights(new, str(tmp_path / "old.weights.h5"), name="small", include_top=False)
    for a, b in zip(old.weights, new.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    backup = tmp_path / "backup"
    (backup / "epoch_1").mkdir(parents=True)
    old.compile(optimizer="sgd", loss="mse")
    old.fit(np.zeros((4, 8, 8, 3)), np.zeros((4, 4)), epochs=1, verbose=0)
    old.save_weights(backup / "epoch_1" / "latest.weights.h5")
    np.savez(backup / "epoch_1" / "training_state.npz", callbacks=np.asarray("{}"))
    (backup / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    resumed = _small(BatchNormalization)
    resumed.compile(optimizer="sgd", loss="mse")
    history = resumed.fit(np.zeros((4, 8, 8, 3)), np.zeros((4, 4)), epochs=1, verbose=0,
                          callbacks=[ExactBackupAndRestore(str(backup))])
    assert history.epoch == []  # the backup's epoch 1 was the last
    for a, b in zip(old.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
