"""Export: every format round-trips and meets its bound; a failing format is reported, not fatal; predict on files."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_course.models  # noqa: F401  (registers the layers and the schedule the shipped model is saved with)
import keras_course.training  # noqa: F401
from keras_course import data, export
from keras_course.cli.main import DEMO, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(ROOT, "saved_models", f"fashion_mnist_{DEMO['model']}")
DEMO_MODEL = os.path.join(DEMO_DIR, "model.keras")


def _digits_model():
    """A small trained CNN with augmentation layers, BatchNorm and Dropout inside: what export must strip or freeze."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(inputs)
    x = keras.layers.RandomRotation(0.05, fill_mode="constant")(x)
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="digits_cnn")
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def digits():
    train, _, test, info = data.load("digits")
    return data.to_numpy(train), data.to_numpy(test), info


@pytest.fixture(scope="module")
def trained(digits):
    keras.utils.set_random_seed(0)
    (x, y), _, _ = digits
    model = _digits_model()
    model.fit(x, y, epochs=25, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def bundle(trained, digits, tmp_path_factory):
    (x, _), test, info = digits
    directory = tmp_path_factory.mktemp("export") / "digits"
    report = export.export(trained, directory, representative_data=x, test_data=test, class_names=info.class_names)
    return directory, report


def test_every_format_is_written_and_meets_its_bound(bundle):
    directory, report = bundle
    assert sorted(os.listdir(directory)) == sorted(["saved_model", "model.keras", "model.tflite", "model_int8.tflite",
                                                    "model.onnx", "labels.txt", export.REPORT])
    assert not os.path.exists(str(directory) + ".partial")
    with open(directory / export.REPORT) as f:
        assert json.load(f) == json.loads(json.dumps(report))
    assert list(report["formats"]) == list(export.FORMATS)
    for name, entry in report["formats"].items():
        assert entry["size_bytes"] > 1000 and entry["latency_ms_per_image"] > 0, name
        assert entry["passed"] and all(entry["checks"].values()), (name, entry)
        assert 0.8 <= entry["test_accuracy"] <= 1.0, name
    for name in ("saved_model", "keras"):
        assert report["formats"][name]["max_abs_diff"] <= 1e-5
    for name in ("tflite", "onnx"):
        assert report["formats"][name]["max_abs_diff"] <= 1e-4
    int8 = report["formats"]["tflite_int8"]
    assert int8["size_bytes"] < report["formats"]["tflite"]["size_bytes"]
    assert set(int8["checks"]) == {"top1_agreement >= 0.99", "accuracy_drop <= 0.01"}
    assert report["compared_on"] == {"source": "test data", "size": 359}
    assert report["input"] == {"name": "images", "dtype": "uint8", "shape": [None, 8, 8, 1]}
    assert report["output"] == {"name": "probabilities", "shape": [None, 10]}
    assert (directory / "labels.txt").read_text().split() == [str(i) for i in range(10)]


def test_formats_agree_with_keras_when_run_by_their_own_runtimes(bundle, trained, digits):
    """Independent of the report: each file loaded by the runtime its users would use."""
    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    directory, _ = bundle
    _, (x, _), _ = digits
    x = x[:64]
    expected = trained.predict(x.astype("float32"), verbose=0)
    served = tf.saved_model.load(str(directory / "saved_model")).signatures["serving_default"]
    np.testing.assert_allclose(served(images=tf.constant(x))["probabilities"].numpy(), expected, atol=1e-5)
    session = onnxruntime.InferenceSession(str(directory / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("images", "tensor(uint8)")]
    np.testing.assert_allclose(session.run(["probabilities"], {"images": x})[0], expected, atol=1e-4)
    runner = Interpreter(model_path=str(directory / "model.tflite")).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(images=x)["probabilities"], expected, atol=1e-4)
    loaded = keras.models.load_model(directory / "model.keras", safe_mode=True)
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in trained.get_weights()]
    for a, b in zip(loaded.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x.astype("float32"), verbose=0), expected, atol=1e-6)


def test_int8_model_runs_in_integers_after_its_input(bundle):
    from ai_edge_litert.interpreter import Interpreter

    directory, report = bundle
    interpreter = Interpreter(model_path=str(directory / "model_int8.tflite"))
    interpreter.allocate_tensors()
    tensors = interpreter.get_tensor_details()
    ops = interpreter._get_ops_details()  # the public API has no op list; the analyzer prints instead of returning
    heavy = [op for op in ops if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED")]
    assert len(heavy) == 2
    for op in heavy:
        assert {tensors[i]["dtype"] for i in op["inputs"][:2]} == {np.int8}, op
    runner = interpreter.get_signature_runner("serving_default")
    assert runner.get_input_details()["images"]["dtype"] == np.uint8
    assert report["formats"]["tflite_int8"]["top1_agreement"] >= 0.99


def test_augmentation_is_stripped_and_serving_is_deterministic(trained, bundle, digits):
    import tensorflow as tf

    assert export.inference_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).layers[0].units == 2

    stripped = export.inference_model(trained)
    assert not any(type(layer).__name__.startswith("Random") for layer in stripped.layers)
    assert len(stripped.layers) == len(trained.layers)  # each Random* layer became an Identity
    conv = [layer for layer in trained.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer for layer in stripped.layers if isinstance(layer, keras.layers.Conv2D)] == conv  # shared weights
    directory, _ = bundle
    _, (x, _), _ = digits
    served = tf.saved_model.load(str(directory / "saved_model")).signatures["serving_default"]
    first = served(images=tf.constant(x[:32]))["probabilities"].numpy()
    np.testing.assert_array_equal(first, served(images=tf.constant(x[:32]))["probabilities"].numpy())
    np.testing.assert_allclose(stripped.predict(x[:32].astype("float32"), verbose=0), first, atol=1e-6)


def test_a_format_that_cannot_be_produced_is_reported_and_the_others_still_export(trained, tmp_path, monkeypatch):
    import tf2onnx

    def broken(*args, **kwargs):
        raise RuntimeError("converter exploded\non two lines")

    monkeypatch.setattr(tf2onnx.convert, "from_function", broken)
    report = export.export(trained, tmp_path / "out", formats=["keras", "tflite_int8", "onnx"])
    assert report["formats"]["keras"]["passed"]
    assert report["formats"]["tflite_int8"] == {
        "file": None, "passed": False,
        "error": "ValueError: tflite_int8 needs representative_data: a few hundred training examples (raw images) "
                 "to calibrate the int8 ranges"}
    assert report["formats"]["onnx"]["error"] == "RuntimeError: converter exploded on two lines"
    assert not report["passed"]
    assert sorted(os.listdir(tmp_path / "out")) == ["export_report.json", "model.keras"]
    assert report["compared_on"]["source"] == "random uint8 images (seed 0)"


@pytest.mark.parametrize("kwargs, message", [
    ({"formats": ["saved_model", "tflight"]}, "formats"),
    ({"formats": []}, "formats is empty"),
    ({"test_data": (np.zeros((3, 8, 8, 1)), np.zeros(2))}, "test_data"),
])
def test_bad_arguments_are_refused_before_anything_is_written(trained, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export.export(trained, tmp_path / "out", **kwargs)
    assert not os.path.exists(tmp_path / "out") and not os.path.exists(tmp_path / "out.partial")


def test_representative_data_of_the_wrong_shape_is_named(trained, tmp_path):
    with pytest.raises(ValueError, match=r"representative_data must be a batch shaped \(n,\) \+ \(8, 8, 1\)"):
        export.export(trained, tmp_path / "out", representative_data=np.zeros((10, 28, 28, 1), np.uint8))
    assert not os.path.exists(tmp_path / "out")


def test_non_image_models_export_float_inputs(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    report = export.export(model, tmp_path / "out", formats=["saved_model", "tflite", "tflite_int8", "onnx"],
                           representative_data=x)
    assert report["input"]["dtype"] == "float32" and report["output"]["name"] == "outputs"
    for name in ("saved_model", "tflite", "onnx"):
        assert report["formats"][name]["passed"], report["formats"][name]
    assert "top1_agreement" not in report["formats"]["tflite"]
    # No class to agree on: int8 is produced and measured (its difference), with no check to pass or fail.
    assert report["formats"]["tflite_int8"]["max_abs_diff"] < 0.5


def _demo_manifest():
    with open(os.path.join(DEMO_DIR, "manifest.json")) as f:
        return json.load(f)


def test_the_shipped_demo_model_loads_safely_and_scores_its_printed_accuracy():
    """The shipped demo model, trained under mixed_bfloat16: float32 weights, bfloat16 compute, and on all 10,000
    test images the accuracy its manifest prints (every exported format's bound: the slow test below)."""
    assert _demo_manifest()["precision"] == "mixed_bfloat16"
    _, _, test, _ = data.load("fashion_mnist")
    model = keras.models.load_model(DEMO_MODEL, safe_mode=True)
    assert {w.dtype for w in model.weights} == {"float32"} and model.get_layer("conv1").compute_dtype == "bfloat16"
    images, labels = data.to_numpy(test)
    accuracy = float(np.mean(model.predict(images, batch_size=500, verbose=0).argmax(axis=1) == labels))
    assert accuracy == pytest.approx(_demo_manifest()["metrics"]["test_accuracy"], abs=0.002)


# every format of the shipped model on 10,000 images (20 s); a fresh run's every format is checked by default above
@pytest.mark.slow
def test_demo_model_meets_every_bound_on_the_fashion_mnist_test_set(tmp_path):
    """The shipped demo model: every format within its bound on all 10,000 test images (int8 calibrated on 1,000
    training images)."""
    train, _, test, info = data.load("fashion_mnist")
    model = keras.models.load_model(DEMO_MODEL, safe_mode=True)
    representative, _ = data.to_numpy(train.take(1000))
    report = export.export(model, tmp_path / "demo", representative_data=representative,
                           test_data=data.to_numpy(test), class_names=info.class_names)
    assert report["passed"], report["formats"]
    int8 = report["formats"]["tflite_int8"]
    assert int8["top1_agreement"] >= 0.99 and int8["accuracy_drop"] <= 0.01
    # the float32 copy that every format serves scores the printed (bfloat16) figure within 0.2 points
    assert report["keras"]["test_accuracy"] == pytest.approx(_demo_manifest()["metrics"]["test_accuracy"], abs=0.002)
    for name in ("saved_model", "keras", "tflite", "onnx"):
        assert report["formats"][name]["test_accuracy"] == pytest.approx(report["keras"]["test_accuracy"], abs=2e-4)


# the shipped model's serving check; test_cli's serves a fresh run's SavedModel the same way by default
@pytest.mark.slow
def test_the_demo_savedmodel_served_without_keras_course_scores_the_printed_accuracy(tmp_path):
    """What the demo prints is what it saved: TensorFlow alone, raw uint8 images, the "probabilities" output."""
    _, _, test, _ = data.load("fashion_mnist")
    images, labels = data.to_numpy(test)
    np.savez(tmp_path / "test.npz", images=images, labels=labels)
    serve = (
        "import sys, numpy as np, tensorflow as tf\n"
        "arrays = np.load(sys.argv[2])\n"
        "endpoint = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "probabilities = np.concatenate([endpoint(images=tf.constant(arrays['images'][i:i + 1000]))['probabilities']"
        ".numpy() for i in range(0, len(arrays['labels']), 1000)])\n"
        "assert 'keras_course' not in sys.modules\n"
        "print(float(np.mean(probabilities.argmax(axis=1) == arrays['labels'])))\n"
    )
    out = subprocess.run([sys.executable, "-c", serve, os.path.join(DEMO_DIR, "saved_model"), str(tmp_path / "test.npz")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert images.dtype == np.uint8
    assert float(out.stdout.split()[-1]) == pytest.approx(_demo_manifest()["metrics"]["test_accuracy"], abs=0.002)


# --- command line -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runs") / "tiny")
    assert main(["train", "--model", "lenet5_bn", "--dataset", "fashion_mnist", "--epochs", "2", "--limit", "600",
                 "--batch-size", "64", "--quiet", "--run-dir", run_dir]) == 0
    return run_dir


def test_export_command_writes_the_bundle_and_prints_the_table(run_dir, capsys):
    code = main(["export", "--run-dir", run_dir, "--quiet"])
    out = capsys.readouterr().out
    with open(os.path.join(run_dir, "export", export.REPORT)) as f:
        report = json.load(f)
    assert code == (0 if report["passed"] else 1)
    assert set(report["formats"]) == set(export.FORMATS)
    for name in ("saved_model", "keras", "tflite", "onnx"):
        assert report["formats"][name]["passed"], report["formats"][name]
        assert name in out
    assert report["class_names"][1] == "Trouser" and report["compared_on"]["source"] == "test data"
    assert "report:" in out


def test_export_command_formats_subset_and_bad_format(run_dir, capsys, tmp_path):
    assert main(["export", "--run-dir", run_dir, "--formats", "keras,onnx", "--quiet"]) == 0
    assert sorted(os.listdir(os.path.join(run_dir, "export"))) == ["export_report.json", "labels.txt", "model.keras",
                                                                   "model.onnx"]
    capsys.readouterr()
    assert main(["export", "--run-dir", run_dir, "--formats", "tflite", "pnnx"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'pnnx'" in err and "onnx" in err
    assert main(["export", "--run-dir", str(tmp_path / "nothing")]) == 2
    assert "not a finished run" in capsys.readouterr().err


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Good files in every size and colour mode, and bad ones of every kind."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), mode="L").save(folder / "gray28.png")
    Image.fromarray(rng.integers(0, 256, (60, 100, 3), dtype=np.uint8)).save(folder / "rgb.jpg", quality=90)
    Image.fromarray(rng.integers(0, 256, (40, 30, 4), dtype=np.uint8), mode="RGBA").save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 65535, (50, 50), dtype=np.uint16)).save(folder / "gray16.png")
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).convert("P").save(folder / "palette.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(40))
    (folder / "notes.txt").write_text("not an image")
    return folder


GOOD = ["gray28.png", "rgb.jpg", "rgba.png", "gray16.png", "palette.png"]
BAD = {"missing.png": "no such file", "empty.png": "the file is empty", "corrupt.jpg": "not an image",
       "notes.txt": "not an image"}


def test_read_image_converts_any_mode_and_size(images):
    for name in GOOD:
        for shape in ((28, 28, 1), (32, 32, 3)):
            pixels = export.read_image(images / name, shape)
            assert pixels.shape == shape and pixels.dtype == np.uint8, (name, shape)
    gray16 = export.read_image(images / "gray16.png", (50, 50, 1))[..., 0]
    raw = np.asarray(Image.open(images / "gray16.png"), dtype=np.float64)
    np.testing.assert_allclose(gray16, raw / 65535 * 255, atol=1)


@pytest.mark.parametrize("target", ["run", "keras", "saved_model", "tflite", "onnx"])
def test_predict_with_every_format_names_classes_and_reports_bad_files(target, run_dir, images, capsys):
    if not os.path.exists(os.path.join(run_dir, "export", "model.tflite")):
        assert main(["export", "--run-dir", run_dir, "--quiet"]) in (0, 1)
    paths = {"run": run_dir, "keras": os.path.join(run_dir, "export", "model.keras"),
             "saved_model": os.path.join(run_dir, "export", "saved_model"),
             "tflite": os.path.join(run_dir, "export", "model.tflite"),
             "onnx": os.path.join(run_dir, "export", "model.onnx")}
    files = [str(images / name) for name in GOOD[:2]] + [str(images / name) for name in BAD] + \
            [str(images / name) for name in GOOD[2:]]
    capsys.readouterr()
    assert main(["predict", "--model", paths[target], *files, "--json", "--top-k", "2"]) == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in results] == files
    # every format serves the float32 copy of a model trained under a mixed policy
    keras_model = export.inference_model(keras.models.load_model(os.path.join(run_dir, "model.keras")))
    with open(os.path.join(run_dir, "metrics.json")) as f:
        class_names = json.load(f)["dataset"]["class_names"]
    for result in results:
        name = os.path.basename(result["file"])
        if name in BAD:
            assert BAD[name] in result["error"] and result["file"] in result["error"]
            continue
        top = result["top"]
        assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"]
        expected = keras_model.predict(export.read_image(result["file"], (28, 28, 1))[None].astype("float32"),
                                       verbose=0)[0]
        assert top[0]["index"] == int(expected.argmax())
        assert top[0]["class"] == class_names[top[0]["index"]]
        assert top[0]["probability"] == pytest.approx(float(expected.max()), abs=1e-4)


def test_predict_text_output_and_errors(run_dir, images, capsys):
    assert main(["predict", "--model", os.path.join(run_dir, "model.keras"), str(images / "gray28.png")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(str(images / "gray28.png") + ": ") and out[0].count(",") == 2
    assert main(["predict", "--model", os.path.join(run_dir, "model.keras"), str(images / "empty.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {images / 'empty.png'}: the file is empty"]
    assert main(["predict", "--model", str(images / "nope.keras"), str(images / "gray28.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["predict", "--model", str(images / "notes.txt"), str(images / "gray28.png")]) == 2
    assert "'.txt'" in capsys.readouterr().err


def test_the_readme_rest_body_is_what_the_signature_takes(run_dir, images):
    """The README's TensorFlow Serving request, built as documented, fed through the signature it names."""
    import tensorflow as tf

    image = np.asarray(Image.open(images / "rgb.jpg").convert("L").resize((28, 28)), dtype=np.uint8)[..., None]
    body = json.loads(json.dumps({"signature_name": "serving_default", "instances": [image.tolist()]}))
    signature = tf.saved_model.load(os.path.join(run_dir, "saved_model")).signatures[body["signature_name"]]
    served = signature(images=tf.constant(body["instances"], dtype=tf.uint8))["probabilities"].numpy()
    model = export.inference_model(keras.models.load_model(os.path.join(run_dir, "model.keras")))
    np.testing.assert_allclose(served, model.predict(image[None].astype("float32"), verbose=0), atol=1e-5)
    assert served.shape == (1, 10)


def test_a_mixed_precision_model_is_exported_as_a_float32_copy_with_its_weights():
    from keras_course import models, training

    with training.dtype_policy("mixed_bfloat16"):
        mixed = models.build("cnn4_bn", input_shape=(8, 8, 1), num_classes=3, width=0.25)
    copy = export.inference_model(mixed)
    assert {layer.compute_dtype for layer in copy.layers if hasattr(layer, "compute_dtype")} == {"float32"}
    assert mixed.get_layer("conv1").compute_dtype == "bfloat16"  # the trained model is left as it was
    for ours, theirs in zip(mixed.weights, copy.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), mixed.predict(x, verbose=0), atol=0.02)
