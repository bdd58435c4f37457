import keras
import numpy as np
import pytest

from keras_course import models
from keras_course.models import mlp as mlp_module

# Every registry model at a small input (a 28x28x1 or 32x32x3 image, or 2 features), with the options it needs
# there. ImageNet-size models run here with the small stem; at 224 px they are checked for build and parameter
# count only (tests/test_zoo.py), to keep the suite fast.
SMALL = {"stem": "small"}
SMALL_INPUT = {
    "mlp": ((2,), {}), "lenet5": ((28, 28, 1), {}), "lenet5_bn": ((28, 28, 1), {}), "cnn4_bn": ((28, 28, 1), {}),
    "simple_cnn": ((16, 16, 1), {}),
    **{f"resnet{d}": ((32, 32, 3), {}) for d in (8, 14, 20, 32, 44, 56, 110)},
    "densenet_bc_100": ((32, 32, 3), {}),
    "resnet18": ((28, 28, 1), SMALL), "preact_resnet18": ((32, 32, 3), SMALL), "vgg11_bn": ((28, 28, 1), SMALL),
    "densenet121": ((32, 32, 3), SMALL), "googlenet": ((28, 28, 1), SMALL), "alexnet": ((32, 32, 3), SMALL),
}
IMAGENET_ONLY = {"resnet34", "resnet50", "resnet101", "resnet152", "preact_resnet34", "preact_resnet50",
                 "preact_resnet101", "preact_resnet152", "vgg11", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                 "vgg19_bn", "densenet169", "densenet201"}


def test_every_registered_model_is_tested():
    assert set(models.list_models()) == set(SMALL_INPUT) | IMAGENET_ONLY


@pytest.mark.parametrize("name", sorted(SMALL_INPUT))
def test_build_forward_gradient_fit_and_keras_round_trip(name, tmp_path):
    shape, options = SMALL_INPUT[name]
    model = models.build(name, input_shape=shape, num_classes=3, **options)
    rng = np.random.default_rng(0)
    x = (rng.uniform(0, 255, size=(8, *shape))).astype("float32")
    y = rng.integers(0, 3, size=8)
    out = model(x, training=False).numpy()  # eager calls: tracing predict() costs seconds on deep graphs
    assert out.shape == (8, 3) and np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    # One plain-SGD step moves a weight exactly when its gradient is non-zero: every weight must move. Eagerly:
    # tracing the step of a deep model costs 2-3x the step itself, and each family's traced step (XLA too) is
    # tests/test_xla.py's
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", run_eagerly=True)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for weight, old in zip(model.trainable_weights, before):
        new = weight.numpy()
        assert np.all(np.isfinite(new)), weight.path
        assert not np.array_equal(new, old), f"no gradient reaches {weight.path}"
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded(x, training=False).numpy(), model(x, training=False).numpy(), atol=1e-5)


@pytest.mark.parametrize("shape", [(32, 32, 1), (28, 28, 1)])
def test_lenet5_has_the_1998_parameter_count(shape):
    model = models.build("lenet5", input_shape=shape, num_classes=10)
    assert model.count_params() == 61_706
    assert [l.name for l in model.layers if l.count_params()] == ["conv1", "conv2", "fc1", "fc2", "predictions"]


@pytest.mark.parametrize("name", ["lenet5", "lenet5_bn"])
def test_lenet_rejects_inputs_too_small(name):
    with pytest.raises(ValueError, match="at least 12x12"):
        models.build(name, input_shape=(8, 8, 1), num_classes=10)


@pytest.mark.parametrize("activation", mlp_module.ACTIVATIONS)
@pytest.mark.parametrize("initializer", mlp_module.INITIALIZERS)
def test_mlp_every_activation_and_initializer_trains(activation, initializer):
    model = models.build("mlp", input_shape=(4,), num_classes=2, hidden=(8,), activation=activation,
                         initializer=initializer)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    loss = model.fit(x, np.arange(16) % 2, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)


@pytest.mark.parametrize("options, layer", [
    ({"dropout": 0.5}, "dropout_1"), ({"batch_norm": True}, "bn_1"), ({"l2": 1e-3}, None), ({"l1": 1e-3}, None),
    ({"normalization": "rescale"}, "rescaling"), ({"normalization": {"mean": [1.0, 2.0], "variance": [4.0, 9.0]}},
                                                  "normalization"),
])
def test_mlp_options_add_their_layers(options, layer):
    model = models.build("mlp", input_shape=(2,), num_classes=2, **options)
    names = [l.name for l in model.layers]
    if layer:
        assert layer in names
    else:
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model(np.ones((2, 2), "float32"))
        assert model.losses, "a weight penalty must add a regularisation loss"


def test_normalization_inside_the_model_standardises():
    model = models.build("mlp", input_shape=(2,), num_classes=1, hidden=(),
                         normalization={"mean": [1.0, 2.0], "variance": [4.0, 9.0]}, classifier_activation=None)
    normalised = keras.Model(model.input, model.get_layer("normalization").output)
    np.testing.assert_allclose(normalised(np.array([[3.0, 8.0]], "float32")), [[1.0, 2.0]], rtol=1e-5)


def test_linear_model_has_no_hidden_layer():
    model = models.build("mlp", input_shape=(2,), num_classes=3, hidden=())
    assert model.count_params() == 2 * 3 + 3


def test_maxout_config_round_trip_and_values():
    layer = models.Maxout(4, pieces=3)
    clone = models.Maxout.from_config(layer.get_config())
    assert (clone.units, clone.pieces) == (4, 3)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    out = layer(x).numpy()
    z = x @ layer.dense.kernel.numpy() + layer.dense.bias.numpy()
    np.testing.assert_allclose(out, z.reshape(5, 4, 3).max(axis=-1), rtol=1e-5)


@pytest.mark.parametrize("task, units, activation", [("regression", 1, None), ("binary", 1, "sigmoid"),
                                                     ("multiclass", 7, "softmax")])
def test_head_follows_the_task(task, units, activation):
    options = models.head_options(task, 7 if task == "multiclass" else 1)
    model = models.build("mlp", input_shape=(2,), **options)
    assert model.output_shape == (None, units)
    assert model.get_layer("predictions").activation.__name__ == (activation or "linear")


@pytest.mark.parametrize("options, argument", [
    ({"activation": "relu6"}, "activation"), ({"initializer": "zeros"}, "initializer"), ({"dropout": 1.0}, "dropout"),
    ({"hidden": (0,)}, "hidden"), ({"l2": -1}, "l2"), ({"classifier_activation": "tanh"}, "classifier_activation"),
    ({"normalization": "standard"}, "normalization"), ({"num_classes": 0}, "num_classes"),
])
def test_bad_mlp_options_are_named_before_building(options, argument):
    kwargs = {"input_shape": (2,), "num_classes": 2, **options}
    with pytest.raises(ValueError, match=argument):
        models.build("mlp", **kwargs)


def test_unknown_model_suggests_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'lenet5_bn'"):
        models.build("lenet5bn", input_shape=(28, 28, 1), num_classes=10)


def test_list_models_wildcards():
    assert models.list_models("lenet*") == ["lenet5", "lenet5_bn"]
    assert models.list_models("nothing*") == []


def test_register_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        models.register("mlp")(lambda **kw: None)


@pytest.mark.parametrize("padding, shape, flat", [("auto", (32, 32, 1), 400), ("auto", (28, 28, 1), 400),
                                                  ("same", (32, 32, 1), 576), ("valid", (36, 36, 1), 576)])
def test_lenet_first_padding(padding, shape, flat):
    model = models.build("lenet5_bn", input_shape=shape, num_classes=10, first_padding=padding)
    assert model.get_layer("flatten").output.shape[-1] == flat


def test_lenet_valid_padding_needs_32px():
    with pytest.raises(ValueError, match="first_padding='valid'"):
        models.build("lenet5", input_shape=(28, 28, 1), num_classes=10, first_padding="valid")


@pytest.mark.parametrize("options, argument", [({"width": 0}, "width"), ({"dropout": -0.1}, "dropout"),
                                               ({"first_padding": "full"}, "first_padding")])
def test_bad_lenet_options(options, argument):
    with pytest.raises(ValueError, match=argument):
        models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10, **options)


@pytest.mark.parametrize("width, params", [(1.0, 62_384), (2.0, 245_718)])
def test_lenet_width_multiplier(width, params):
    # by hand at x2: convs 300+9,600, fc 192,000+40,320, head 1,690, batch norm 4x(12+32+240+168)
    assert models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10, width=width).count_params() == params


def test_batch_norm_momentum_reaches_every_batch_norm_and_is_saved(tmp_path):
    inner = models.build("resnet20", input_shape=(16, 16, 3), num_classes=2, width=0.25)
    inputs = keras.Input((16, 16, 3))
    outer = keras.Model(inputs, keras.layers.BatchNormalization(name="outer_bn")(inner(inputs)))
    models.set_batch_norm_momentum(outer, 0.9)
    found = [l for l in outer._flatten_layers(recursive=True) if isinstance(l, keras.layers.BatchNormalization)]
    assert len(found) == 20 and all(l.momentum == 0.9 for l in found)
    inner.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert {l.momentum for l in again.layers if isinstance(l, keras.layers.BatchNormalization)} == {0.9}
    with pytest.raises(ValueError, match="bn_momentum"):
        models.set_batch_norm_momentum(inner, 1.0)


@pytest.mark.parametrize("width, dropout, params", [(1.0, 0.0, 390_890), (0.5, 0.2, 98_682)])
def test_cnn4_bn_layout(width, dropout, params):
    model = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, width=width, dropout=dropout)
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == \
        [round(c * width) for c in (32, 64, 128, 256)]
    assert model.get_layer("conv4").output.shape[1:3] == (3, 3)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == bool(dropout)
    assert models.count_params(model)[1] == params


@pytest.mark.parametrize("options, argument", [({"width": 0}, "width"), ({"dropout": 1.0}, "dropout")])
def test_bad_cnn4_bn_options(options, argument):
    with pytest.raises(ValueError, match=argument):
        models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, **options)


def test_fused_batch_norm_matches_keras_batch_norm():
    """Same outputs, gradients and moving statistics as keras.layers.BatchNormalization, in both modes."""
    import tensorflow as tf

    from keras_course.models.layers import BatchNormalization as FusedBatchNormalization

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((16, 5, 5, 8)).astype("float32") * 3 + 1)
    probe = tf.constant(rng.standard_normal((16, 5, 5, 8)).astype("float32"))
    ours, theirs = FusedBatchNormalization(momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    ours.build(x.shape), theirs.build(x.shape)
    ours.gamma.assign(rng.uniform(0.5, 1.5, 8)), ours.beta.assign(rng.standard_normal(8))
    theirs.set_weights(ours.get_weights())
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * probe)
        results.append((layer(x, training=True).numpy(), *[g.numpy() for g in tape.gradient(loss, [x, layer.gamma, layer.beta])]))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # moving statistics after two training calls
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), atol=1e-5)
    # Where the fused kernel does not apply (2-D input), Keras's own path runs.
    flat = tf.reshape(x, (16, -1))
    dense_ours, dense_theirs = FusedBatchNormalization(), keras.layers.BatchNormalization()
    np.testing.assert_allclose(dense_ours(flat, training=True), dense_theirs(flat, training=True), atol=1e-5)


def test_simple_cnn_takes_hand_set_kernels_and_can_freeze_them():
    grids = [[[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]]
    model = models.build("simple_cnn", input_shape=(16, 16, 2), num_classes=2, kernels=grids, train_kernels=False)
    conv = model.get_layer("conv")
    kernel = np.asarray(conv.kernel)
    assert kernel.shape == (3, 3, 2, 2) and not conv.trainable
    np.testing.assert_array_equal(kernel[:, :, 1, 0], np.array(grids[0]))  # the same grid on every channel
    np.testing.assert_array_equal(kernel[:, :, 0, 1], np.array(grids[1]))
    with pytest.raises(ValueError, match="square grids"):
        models.build("simple_cnn", input_shape=(16, 16, 1), num_classes=2, kernels=[[1, 2, 3]])


def test_resnet_without_shortcuts_is_the_plain_network():
    residual = models.build("resnet20", input_shape=(32, 32, 3), num_classes=10)
    plain = models.build("resnet20", input_shape=(32, 32, 3), num_classes=10, residual=False)
    assert plain.count_params() == residual.count_params()  # option A shortcuts have no parameters
    assert sum(isinstance(layer, keras.layers.Add) for layer in residual.layers) == 9
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    with pytest.raises(ValueError, match="residual"):
        models.build("preact_resnet18", input_shape=(32, 32, 3), num_classes=10, residual=False)
