"""`keras-course compress` and `keras-course score` end to end at tiny size, resuming, and every bad input refused in
one line with exit code 2 and nothing written."""

import importlib
import json
import os
import shutil

import keras
import numpy as np
import pytest

from keras_course import compress, training
from keras_course.cli.main import main

TINY = ["--dataset", "fashion_mnist", "--epochs", "1", "--limit", "300", "--batch-size", "64", "--quiet"]
FIELDS = {"test_accuracy", "params", "nonzero_params", "storage_bits", "macs", "sparse_macs", "tflite_bytes",
          "tflite_gzip_bytes", "latency_ms"}
FAST = ["--epochs", "1", "--latency-runs", "5", "--quiet"]


@pytest.fixture(scope="module")
def runs(built_once, tmp_path_factory):
    """Finished runs, read only: a small cnn4_bn, and an MLP on digits (other input, other classes); and "root",
    this worker's own folder for what the tests write."""

    def train(shared):
        assert main(["train", "--model", "cnn4_bn", "--option", "width=0.25", *TINY, "--run-dir",
                     str(shared / "dense")]) == 0
        assert main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "1", "--quiet", "--run-dir",
                     str(shared / "digits")]) == 0

    shared = built_once("compress_cli_runs", train)
    return {"root": tmp_path_factory.mktemp("compress"), "dense": str(shared / "dense"),
            "digits": str(shared / "digits")}


def _report(run_dir):
    with open(os.path.join(run_dir, "compress_report.json")) as f:
        return json.load(f)


def test_every_technique_in_one_run_resumed_then_exported(runs, capsys):
    out = str(runs["root"] / "all")
    arguments = ["compress", "--from", runs["dense"], "--distill-from", runs["dense"], "--prune-channels", "0.5",
                 "--prune", "0.5", "--scope", "layer", "--factorize", "0.5", "--quantize", "qat8", *FAST,
                 "--run-dir", out]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "compressed" in printed and "score" in printed
    report = _report(out)
    assert [s["technique"] for s in report["stages"]] == ["distill", "channels", "prune", "factorize", "quantize"]
    with open(os.path.join(runs["dense"], "config.json")) as f:
        trained = json.load(f)
    run_lr = trained["lr"] or training.DEFAULT_LR[trained["optimizer"]]
    # QAT fine-tunes its batch-norm-free copy ten times more gently than the other stages
    assert [s["lr"] for s in report["stages"]] == pytest.approx([run_lr / 10] * 4 + [run_lr / 100])
    assert FIELDS <= set(report["baseline"]) and FIELDS | {"score"} <= set(report["compressed"])
    baseline, compressed = report["baseline"], report["compressed"]
    assert compressed["macs"] < baseline["macs"] / 2, "half the channels of every convolution"
    assert compressed["storage_bits"] < baseline["storage_bits"] / 8, "int8 and half the weights zero"
    assert compressed["score"] < 1.0
    for name in ("config.json", "compress.json", "history.csv", "model.keras", "saved_model", "metrics.json"):
        assert os.path.exists(os.path.join(out, name)), name
    stages = os.path.join(out, "stages")
    assert not any(os.path.exists(os.path.join(stages, s, "backup")) for s in os.listdir(stages))
    with open(os.path.join(out, "history.csv")) as f:
        assert len(f.read().splitlines()) == 1 + 5, "one epoch of each technique that trains"
    model = compress.read_model(os.path.join(out, "model.keras"))
    assert not compress.pruning.masked_layers(model), "masks applied"
    assert any(isinstance(layer, compress.ActivationQuantizer) for layer in model.layers), "the QAT model"

    # as if killed in the last technique: the finished ones are not redone
    finished = {s: os.path.getmtime(os.path.join(stages, s, "model.keras")) for s in os.listdir(stages)}
    measured = os.path.getmtime(os.path.join(out, "baseline_report.json"))
    for name in ("metrics.json", "compress_report.json", "model.keras"):
        os.remove(os.path.join(out, name))
    shutil.rmtree(os.path.join(stages, "4_quantize"))
    assert main(arguments) == 0
    assert all(os.path.getmtime(os.path.join(stages, s, "model.keras")) == t for s, t in finished.items()
               if s != "4_quantize")
    assert _report(out)["compressed"]["params"] == compressed["params"]
    assert os.path.getmtime(os.path.join(out, "baseline_report.json")) == measured, "the dense model measured once"
    assert _report(out)["baseline"] == baseline
    assert main(arguments) == 2
    assert "holds a finished compression" in capsys.readouterr().err

    assert main(["export", "--run-dir", out, "--formats", "tflite_int8", "--quiet"]) == 0
    assert os.path.getsize(os.path.join(out, "export", "model_int8.tflite")) < baseline["tflite_bytes"] / 4


def test_int4_alone_trains_nothing_and_counts_4_bit_kernels(runs):
    out = str(runs["root"] / "int4")
    assert main(["compress", "--from", runs["dense"], "--quantize", "ptq4", *FAST, "--run-dir", out]) == 0
    report = _report(out)
    assert report["stages"] == [{"technique": "quantize", "epochs": 0}]
    assert report["compressed"]["bit_macs"] == round(report["compressed"]["sparse_macs"] * 4 / 32)
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f)["epochs_run"] == 0


@pytest.mark.parametrize("kept", ["{not json", '{"params": 1}', "[]"])
def test_a_damaged_kept_baseline_is_measured_again(kept, tmp_path):
    compress_run = importlib.import_module("keras_course.experiments.compress_run")  # the module, not the function
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    (tmp_path / compress_run.BASELINE).write_text(kept)
    settings = compress_run.CompressSettings(quantize="ptq8", latency_runs=2)
    baseline = compress_run._baseline_report(model, (x, y), settings, str(tmp_path))
    assert set(baseline) == set(compress.FIELDS) and baseline["macs"] == 4 * 3  # measured, not the damaged copy
    assert json.loads((tmp_path / compress_run.BASELINE).read_text()) == baseline


def test_score_a_keras_and_a_tflite_file(runs, capsys, tmp_path):
    model = os.path.join(runs["dense"], "model.keras")
    assert main(["score", model, "--baseline", model, "--latency-runs", "5", "--limit", "500", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["scored"]["score"] == pytest.approx(2.0) and FIELDS <= set(scored["scored"])
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(compress.measure.to_flatbuffer(compress.read_model(model)))
    # the default baseline: the project's cnn4_bn
    assert main(["score", str(tflite), "--latency-runs", "5", "--limit", "500"]) == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "score" in printed
    value = float(printed.split("score ")[1].split()[0])
    assert 0 < value < 1, "a model with a quarter of the channels costs less than the project's dense model"


def _refused(arguments, capsys, needle):
    assert main(arguments) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    return err


@pytest.mark.parametrize("flags,needle", [
    (["--prune", "1.0"], "--prune must be a number in [0, 1)"),
    (["--prune", "-0.1"], "--prune must be a number in [0, 1)"),
    (["--prune-channels", "0.95"], "every filter of layer 'conv1'"),
    (["--factorize", "0"], "--factorize must be a number in (0, 1]"),
    (["--factorize", "1.5"], "--factorize must be a number in (0, 1]"),
    (["--epochs", "1"], "Nothing to do"),
    (["--quantize", "qat4", "--epochs", "0"], "takes --epochs >= 1"),
])
def test_bad_compression_settings_are_refused_and_write_nothing(flags, needle, runs, capsys):
    out = runs["root"] / "refused"
    _refused(["compress", "--from", runs["dense"], *flags, "--run-dir", str(out)], capsys, needle)
    assert not out.exists()


def test_bad_runs_and_teachers_are_refused_and_write_nothing(runs, capsys, tmp_path):
    out = tmp_path / "out"
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text("{}")
    _refused(["compress", "--from", str(unfinished), "--prune", "0.5", "--run-dir", str(out)], capsys,
             "is not a finished run")
    _refused(["compress", "--from", runs["dense"], "--distill-from", runs["digits"], "--run-dir", str(out)], capsys,
             "teacher takes inputs shaped (8, 8, 1)")
    _refused(["compress", "--from", runs["digits"], "--prune-channels", "0.5", "--run-dir", str(out)], capsys,
             "No convolution of 'mlp' to prune")
    _refused(["compress", "--from", runs["dense"], "--quantize", "int3", "--run-dir", str(out)], capsys,
             "Unknown quantize 'int3'")
    _refused(["compress", "--from", runs["dense"], "--prune", "0.5", "--scope", "all", "--run-dir", str(out)],
             capsys, "Unknown scope 'all'")
    assert not out.exists()


def test_score_refuses_hostile_and_mismatched_files(runs, capsys, tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(np.random.default_rng(0).bytes(500))
    _refused(["score", str(junk)], capsys, "is not a TFLite flatbuffer")
    _refused(["score", str(tmp_path / "absent.keras")], capsys, "is not a file")
    digits_model = os.path.join(runs["digits"], "model.keras")
    _refused(["score", digits_model], capsys, "MODEL takes inputs shaped (8, 8, 1)")
    _refused(["score", digits_model, "--data", "digits"], capsys, "pass --baseline")
    _refused(["score", digits_model, "--baseline", "project:nothing_here"], capsys, "no such project model")
    _refused(["score", digits_model, "--weight-bits", "8"], capsys, "--weight-bits counts int8 kernels")


def test_a_stage_that_blew_its_weights_up_is_refused_before_tflite_sees_it(runs, monkeypatch, capsys):
    """A QAT resnet20 fine-tuned too fast reached weights of 1e20 with a finite loss, and TFLite's converter then
    aborted the process; a diverged stage is a one-line error instead, and the run directory is removed."""

    compress_run = importlib.import_module("keras_course.experiments.compress_run")  # the module, not the function
    model = keras.models.load_model(os.path.join(runs["dense"], "model.keras"))
    compress_run._refuse_divergence("quantize", model, 0.02, 2)  # a trained network passes
    kernel = next(v for v in model.weights if "kernel" in v.path)
    kernel.assign(np.full(kernel.shape, 9.8e20, kernel.dtype))
    with pytest.raises(training.NaNLossError, match=r"quantize stage diverged.*9\.8e\+20.*lr=, e\.g\. 0\.002"):
        compress_run._refuse_divergence("quantize", model, 0.02, 2)

    original = compress_run._fine_tune

    def blown_up(technique, model, *args):
        original(technique, model, *args)
        model.weights[0].assign(np.full(model.weights[0].shape, np.inf, model.weights[0].dtype))

    monkeypatch.setattr(compress_run, "_fine_tune", blown_up)
    out = runs["root"] / "diverged"
    assert main(["compress", "--from", runs["dense"], "--factorize", "0.5", *FAST, "--run-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "factorize stage diverged" in err and len(err.splitlines()) == 1 and not out.exists()
