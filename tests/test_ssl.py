"""keras_course.ssl: NT-Xent against a hand computation, view pairs that hold no label, SimCLR training on them
(its loss falls) and a save/load round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from interruption import Interrupted, StopAt
from keras_course import data, ssl, training


def _nt_xent_by_hand(z1, z2, temperature):
    z = np.concatenate([z1, z2]).astype("float64")
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        others = [j for j in range(2 * n) if j != i]
        scores = np.array([z[i] @ z[j] / temperature for j in others])
        total += -(z[i] @ z[partner] / temperature) + np.log(np.exp(scores).sum())
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_equals_a_hand_computation(temperature):
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(float(ssl.nt_xent(z1, z2, temperature)), _nt_xent_by_hand(z1, z2, temperature),
                               rtol=1e-5)
    # views that agree score lower than views that do not
    assert float(ssl.nt_xent(z1, z1 + 0.01, temperature)) < float(ssl.nt_xent(z1, z2, temperature))


def test_negative_cosine_is_minus_the_mean_cosine_and_simsiam_stops_the_target_gradient():
    p = np.array([[1.0, 0.0], [1.0, 1.0]], "float32")
    z = np.array([[2.0, 0.0], [-1.0, 1.0]], "float32")
    assert float(ssl.negative_cosine(p, z)) == pytest.approx(-(1.0 + 0.0) / 2)
    model = ssl.SimSiam(ssl.encoder_for("lenet5_bn", (28, 28, 1)), projection_dim=16, hidden=16)
    z1 = tf.Variable(np.ones((4, 16), "float32"))
    p1 = tf.Variable(np.random.default_rng(0).normal(size=(4, 16)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = model.pair_loss((z1, p1), (z1 + 0.5, p1 - 0.5))
    grad_z, grad_p = tape.gradient(loss, [z1, p1])
    assert grad_z is None or float(tf.reduce_max(tf.abs(grad_z))) == 0.0, "the projections are held fixed"
    assert float(tf.reduce_max(tf.abs(grad_p))) > 0, "the predictions learn"


def _images(n=64, shape=(16, 16, 1)):
    return np.random.default_rng(1).integers(0, 256, size=(n, *shape)).astype("uint8")


def _pairs(x, labels, seed=0, batch_size=16):
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)) if labels is not None else \
        tf.data.Dataset.from_tensor_slices(x)
    return data.make_pipeline(dataset, batch_size=batch_size, training=True, augment="simclr", views=2, seed=seed)


def test_view_pairs_hold_no_label_and_do_not_depend_on_the_labels():
    x = _images()
    pipe = _pairs(x, np.zeros(len(x), "int32"))
    assert len(tf.nest.flatten(pipe.element_spec)) == 2, "two views, nothing else"
    batches = [first_and_second for (first_and_second,) in pipe]
    assert len(batches) == 4
    first, second = batches[0]
    assert first.shape == second.shape == (16, 16, 16, 1)
    assert not np.array_equal(first.numpy(), second.numpy()), "two different augmentations"
    for labels in (np.random.default_rng(5).integers(0, 10, len(x)).astype("int32"), None):  # other labels, none
        for (a, b), ((c, d),) in zip(batches, _pairs(x, labels)):
            np.testing.assert_array_equal(a.numpy(), c.numpy())
            np.testing.assert_array_equal(b.numpy(), d.numpy())
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x), "int32")))
    with pytest.raises(ValueError, match="views"):
        data.make_pipeline(dataset, batch_size=16, training=True, augment="none", views=2)
    with pytest.raises(ValueError, match="needs labels"):
        data.make_pipeline(dataset, batch_size=16, training=True, augment="mixup", views=2, num_classes=10)


@pytest.mark.parametrize("method", sorted(ssl.METHODS))
def test_each_method_trains_on_view_pairs_of_unlabelled_images_and_round_trips(tmp_path, method):
    x = _images(128)
    pipe = _pairs(x, None, batch_size=32)
    training.set_seed(0)
    model = ssl.METHODS[method](ssl.encoder_for("cnn4_bn", (16, 16, 1), width=0.25), projection_dim=16, hidden=32)
    training.compile_model(model, optimizer="adam", lr=3e-3, steps_per_execution=4)
    reference, queries = (x[:64], np.arange(64) % 4), (x[64:], np.arange(64) % 4)  # labels the loss never sees
    logs = model.fit(pipe, epochs=4, verbose=0, callbacks=[ssl.KNNMonitor(model.encoder, reference, queries, k=5)])
    history = logs.history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    assert len(logs.history["knn_accuracy"]) == 4 and all(0 <= a <= 1 for a in logs.history["knn_accuracy"])
    features = model.predict(x[:8].astype("float32"), verbose=0)
    assert features.shape == (8, model.encoder.output_shape[-1])
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    assert type(again) is type(model)
    np.testing.assert_allclose(again.predict(x[:8].astype("float32"), verbose=0), features, atol=1e-5)


class _Identity:
    """An 'encoder' whose features are the inputs themselves."""

    @staticmethod
    def predict(x, batch_size=None, verbose=0):
        return np.asarray(x, dtype="float32")


def test_knn_accuracy_votes_by_similarity_weighted_neighbours():
    reference = (np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]), np.array([0, 0, 1, 1]))
    queries = (np.array([[1, 0.2], [0.2, 1], [0.6, 0.5]]), np.array([0, 1, 1]))
    assert ssl.knn_accuracy(_Identity(), reference, queries, k=2) == pytest.approx(2 / 3)  # the third is nearer 0
    # k = 4: every reference votes; the nearest ones weigh most, so the answer does not change
    assert ssl.knn_accuracy(_Identity(), reference, queries, k=4) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="`k`"):
        ssl.knn_accuracy(_Identity(), reference, queries, k=5)


def test_an_mlp_or_a_wrong_temperature_is_refused():
    with pytest.raises(ValueError, match="image model"):
        ssl.encoder_for("mlp", (8,))
    with pytest.raises(ValueError, match="temperature"):
        ssl.SimCLR(ssl.encoder_for("lenet5_bn", (28, 28, 1)), temperature=0)


# ---- pretraining as a run: `keras-course pretrain --ssl`, resume, saved_models/, project:NAME ------------------

SSL_FLAGS = ["--ssl", "simclr", "--model", "cnn4_bn", "--option", "width=0.25", "--dataset", "fashion_mnist",
             "--limit", "400", "--val-fraction", "0.25", "--epochs", "3", "--batch-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def pretrained(built_once):
    """A finished `pretrain --ssl simclr` in a run directory, its encoder under saved_models/ssl_tiny."""
    from keras_course.cli.main import main

    def pretrain(root):
        assert main(["pretrain", *SSL_FLAGS, "--name", "ssl_tiny", "--save-to", str(root / "saved"),
                     "--run-dir", str(root / "run")]) == 0

    return built_once("ssl_pretrained", pretrain)


def test_pretrain_ssl_writes_a_run_and_an_encoder_with_its_manifest(pretrained):
    import json

    with open(pretrained / "run" / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["ssl"] == "simclr" and metrics["epochs_run"] == 3 and len(metrics["knn_accuracy"]) == 3
    assert metrics["knn_reference_images"] == 300 and 0.2 < metrics["test_knn_accuracy"] <= 1  # chance: 0.1
    assert (pretrained / "run" / "encoder.keras").is_file() and (pretrained / "run" / "learning_curves.png").is_file()
    with open(pretrained / "saved" / "ssl_tiny" / "manifest.json") as f:
        manifest = json.load(f)
    assert manifest["kind"] == "encoder" and manifest["ssl"]["method"] == "simclr"
    assert manifest["ssl"]["knn_accuracy"] == metrics["knn_accuracy"] and manifest["epochs_run"] == 3
    assert manifest["command"].startswith("keras-course pretrain --ssl simclr")
    assert not (pretrained / "saved" / "ssl_tiny" / "saved_model").exists(), "an encoder is not a classifier to serve"


def test_the_encoder_loads_as_project_weights_with_the_same_features(pretrained, monkeypatch):
    from keras_course import transfer

    monkeypatch.setenv("KERAS_COURSE_SAVED_MODELS", str(pretrained / "saved"))
    model = transfer.build_classifier("cnn4_bn", 10, weights="project:ssl_tiny", input_shape=(28, 28, 1))
    encoder = keras.models.load_model(pretrained / "run" / "encoder.keras")
    x = np.random.default_rng(0).uniform(0, 255, (4, 28, 28, 1)).astype("float32")
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    np.testing.assert_allclose(backbone.predict(x, verbose=0), encoder.predict(x, verbose=0), atol=1e-5)


def test_an_interrupted_pretraining_resumes_to_the_same_weights(pretrained, tmp_path, monkeypatch):
    from keras_course import experiments

    config = experiments.RunConfig.from_dict(json_load(pretrained / "run" / "config.json"))
    original = training.make_callbacks
    monkeypatch.setattr(training, "make_callbacks", lambda *a, **k: [StopAt(2)] + original(*a, **k))
    with pytest.raises(Interrupted):
        experiments.train(config, tmp_path / "run", verbose=0)
    monkeypatch.setattr(training, "make_callbacks", original)
    resumed = experiments.train(config, tmp_path / "run", verbose=0)
    assert resumed["weights_sha256"] == json_load(pretrained / "run" / "metrics.json")["weights_sha256"]
    assert resumed["knn_accuracy"] == json_load(pretrained / "run" / "metrics.json")["knn_accuracy"]


def json_load(path):
    import json

    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("change,message", [
    (["--ssl", "simclrr"], "Did you mean 'simclr'?"),
    (["--ssl", "byol"], "simclr, simsiam"),
    (["--batch-size", "8"], "at least 16 images"),
    (["--dataset", "sine", "--model", "cnn4_bn"], "learns from images"),
    (["--augment", "mixup"], "needs labels"),
    (["--patience", "2"], "no validation loss"),
    (["--limit", "25", "--val-fraction", "0"], "at least 20 labelled reference images"),
])
def test_bad_ssl_input_is_one_line_exit_2_and_nothing_written(change, message, tmp_path, capsys):
    from keras_course.cli.main import main

    flags = dict(zip(SSL_FLAGS[0:-1:2], SSL_FLAGS[1::2]))
    flags.update(zip(change[0::2], change[1::2]))
    argv = ["pretrain", "--name", "x", "--save-to", str(tmp_path / "saved"), "--run-dir", str(tmp_path / "run"),
            "--quiet"] + [t for kv in flags.items() for t in kv if t != "--quiet"]
    argv = [a for a in argv if a != "--quiet"] + ["--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "saved").exists()


def test_a_flat_folder_of_rgb_images_pretrains_without_labels_and_nothing_else_takes_it(tmp_path, capsys):
    from PIL import Image

    from keras_course import transfer
    from keras_course.cli.main import main

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(48):  # RGB photos of three kinds of colour, none of them labelled
        tint = np.array([(255, 40, 40), (40, 255, 40), (40, 40, 255)][i % 3])
        pixels = np.clip(rng.uniform(0.3, 1.0, (20, 20, 1)) * tint, 0, 255).astype("uint8")
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    name = f"image_folder:{folder}"
    train, val, test, info = data.load(name, val_fraction=0.0, image_size=(16, 16), unlabelled=True)
    assert (info.task, info.num_classes, info.sizes, info.input_shape) == (
        data.UNLABELLED, 0, {"train": 48, "val": 0, "test": 0}, (16, 16, 3))
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load(name)
    saved = tmp_path / "saved"
    assert main(["pretrain", "--ssl", "simclr", "--model", "cnn4_bn", "--option", "width=0.25", "--dataset", name,
                 "--image-size", "16", "--val-fraction", "0", "--epochs", "2", "--batch-size", "16", "--name", "flat",
                 "--save-to", str(saved), "--run-dir", str(tmp_path / "run"), "--quiet"]) == 0
    assert "no kNN accuracy" in capsys.readouterr().out
    metrics = json_load(tmp_path / "run" / "metrics.json")
    assert metrics["test_knn_accuracy"] is None and metrics["knn_accuracy"] == [] and metrics["epochs_run"] == 2
    assert json_load(saved / "flat" / "manifest.json")["dataset"]["classes"] == []
    import os

    os.environ["KERAS_COURSE_SAVED_MODELS"] = str(saved)
    try:  # its encoder is a backbone like any other
        model = transfer.build_classifier("cnn4_bn", 3, weights="project:flat", input_shape=(16, 16, 3))
    finally:
        del os.environ["KERAS_COURSE_SAVED_MODELS"]
    assert model.predict(np.zeros((2, 16, 16, 3), "uint8"), verbose=0).shape == (2, 3)
    assert main(["train", "--model", "cnn4_bn", "--dataset", name, "--image-size", "16", "--epochs", "1",
                 "--run-dir", str(tmp_path / "supervised"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no class sub-folders" in err and len(err.splitlines()) == 1 and not (tmp_path / "supervised").exists()
    assert main(["augment", "--dataset", name, "--augment", "simclr", "--n", "4", "--views", "2",
                 "--out", str(tmp_path / "grid.png")]) == 0  # a preview needs no labels


def _bright_or_dark(n, seed):
    """8x8 images whose class is their brightness: dark (0) or bright (1)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = (rng.uniform(0, 100, (n, 8, 8, 1)) + 120 * y[:, None, None, None]).astype("uint8")
    return x, y.astype("int32")


def test_few_labels_splits_per_class_and_chooses_on_validation_never_on_test():
    from keras_course.ssl import few_labels

    x, y = _bright_or_dark(40, 0)
    (x_train, y_train), (x_val, y_val) = few_labels.split_per_class(x, y, seed=3)
    assert np.bincount(y_val).tolist() == [4, 4] and len(y_train) == 32
    assert not set(map(bytes, x_val)) & set(map(bytes, x_train))
    with pytest.raises(ValueError, match="Class 1 has 1 labelled image"):
        few_labels.split_per_class(x[:3], y[:3], seed=0)
    test = _bright_or_dark(64, 1)

    def make():
        inputs = keras.Input((8, 8, 1))
        pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))

    # a learning rate of 1e-9 learns nothing: validation must pick 0.1, which separates the classes
    score, choice = few_labels.fit_best(make, (x_train, y_train), (x_val, y_val), test, seed=0, epochs=[20],
                                        lrs=[1e-9, 0.1], augment="none", batch_size=8)
    assert choice["lr"] == 0.1 and choice["val_accuracy"] == 1.0 and score > 0.95
    # the probe's features are L2-normalised, so brightness is gone: classes that differ in where the light falls
    lit_half = (x.astype("float32") * 0.3).astype("uint8")
    lit_half[y == 0, :, :4] += 150
    lit_half[y == 1, :, 4:] += 150
    halves = few_labels.split_per_class(lit_half, y, seed=3)
    test_halves = np.zeros_like(test[0]) + 20
    test_halves[test[1] == 0, :, :4] += 150
    test_halves[test[1] == 1, :, 4:] += 150
    pixels = keras.Input((8, 8, 1))
    encoder = keras.Model(pixels, keras.layers.Flatten()(pixels))  # raw pixels as the features
    score, choice = few_labels.linear_probe(encoder, *halves, (test_halves, test[1]))
    assert choice["C"] in few_labels.PROBE_C and score > 0.95
    model = few_labels.classifier_on(encoder, 3)
    assert model.output_shape == (None, 3) and model.layers[-1].activation.__name__ == "softmax"
