"""precision="auto" by hardware, the policies it picks, and the precision that runs record."""

import json

import keras
import numpy as np
import pytest

from keras_course import experiments, models, training
from keras_course.cli.main import main
from keras_course.training import precision

DIGITS = dict(model="cnn4_bn", dataset="digits", epochs=1, batch_size=64, optimizer="momentum", lr=0.05,
              bn_momentum=0.9, limit=300)


@pytest.fixture
def cpu_with(monkeypatch, tmp_path):
    """Make this machine one whose CPU has the given /proc/cpuinfo flags, and no GPU."""

    def make(flags):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n")
        monkeypatch.setattr(precision, "CPUINFO", str(cpuinfo))
        monkeypatch.setattr(precision.devices, "gpu_compute_capabilities", lambda: [])

    return make


@pytest.mark.parametrize("name", training.PRECISIONS)
def test_every_precision_resolves_to_a_keras_policy(name):
    policy = training.resolve_precision(name)
    assert policy in ("float32", "mixed_float16", "mixed_bfloat16")
    assert policy == name or name == "auto"


@pytest.mark.parametrize("flags, policy", [("fpu sse avx2 avx512f", "float32"),
                                           ("fpu avx512f avx512_bf16", "mixed_bfloat16"),
                                           ("fpu amx_tile amx_bf16", "mixed_bfloat16")])
def test_auto_on_a_cpu_is_bfloat16_only_where_the_cpu_computes_it(cpu_with, flags, policy):
    cpu_with(flags)
    assert training.resolve_precision("auto") == policy


def test_cpu_flags_of_a_missing_or_flagless_file_are_empty(tmp_path):
    assert precision.cpu_flags(str(tmp_path / "absent")) == frozenset()
    (tmp_path / "odd").write_bytes(b"\xff\xfe garbage\nprocessor: 0\n")
    assert precision.cpu_flags(str(tmp_path / "odd")) == frozenset()


@pytest.mark.parametrize("capability, policy", [((9, 0), "mixed_bfloat16"), ((8, 0), "mixed_bfloat16"),
                                                ((7, 5), "mixed_float16"), (None, "mixed_float16")])
def test_auto_on_a_gpu_is_bfloat16_from_compute_capability_8(monkeypatch, capability, policy):
    monkeypatch.setattr(precision.devices, "gpu_compute_capabilities", lambda: [capability])
    assert training.resolve_precision("auto") == policy


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="Unknown precision 'fp16'"):
        training.resolve_precision("fp16")
    assert main(["train", "--model", "mlp", "--dataset", "digits", "--precision", "fp16"]) == 2


def test_dtype_policy_applies_inside_the_block_only():
    with training.dtype_policy("mixed_bfloat16"):
        model = models.build("cnn4_bn", input_shape=(16, 16, 1), num_classes=3)
    assert keras.config.dtype_policy().name == "float32"
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert model.get_layer("conv1").variable_dtype == "float32"
    assert model.get_layer("predictions").compute_dtype == "float32"


def test_a_mixed_bfloat16_run_trains_saves_and_reloads(tmp_path):
    config = experiments.RunConfig(**{**DIGITS, "epochs": 2, "limit": 600, "precision": "mixed_bfloat16"})
    metrics = experiments.train(config, tmp_path / "bf16", verbose=0)
    assert metrics["precision"] == "mixed_bfloat16" and metrics["replicas"] == 1
    assert metrics["test_accuracy"] > 0.5
    model = keras.models.load_model(tmp_path / "bf16" / "model.keras")
    assert model.get_layer("conv2").compute_dtype == "bfloat16"
    probabilities = model.predict(np.zeros((2, 8, 8, 1), "float32"), verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_run_records_the_policy_auto_stood_for_and_still_resumes_with_auto(tmp_path):
    run_dir = tmp_path / "auto"
    config = experiments.RunConfig(**DIGITS)  # precision="auto"
    metrics = experiments.train(config, run_dir, verbose=0)
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["precision"] == metrics["precision"] == training.resolve_precision("auto") != "auto"
    assert experiments.run_dir.changed_settings(str(run_dir), config) == []
    # a run saved when config.json still said "auto" counts as the same run
    (run_dir / "config.json").write_text(json.dumps({**saved, "precision": "auto"}))
    assert experiments.run_dir.changed_settings(str(run_dir), config) == []
    other = "float32" if saved["precision"] != "float32" else "mixed_bfloat16"
    assert experiments.run_dir.changed_settings(str(run_dir), experiments.RunConfig(**{**DIGITS, "precision": other})) \
        == ["precision"]


@pytest.mark.parametrize("reported, capability", [((9, 0), (9, 0)), ("8.6", (8, 6)), ("9", (9, 0)), (None, None),
                                                  ("odd", None), ((), None)])
def test_compute_capability_reads_what_each_backend_reports(reported, capability):
    assert training.devices._capability(reported) == capability
