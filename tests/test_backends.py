"""The model zoo on every Keras backend: under JAX and PyTorch, with TensorFlow not importable, one model of every
family builds, loads the weights TensorFlow saved for it with the same outputs (inference mode, within 1e-4) and
trains a step with a finite loss (tests/other_backend.py does it in a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_course import models

from families import FAMILIES

WORKER = Path(__file__).with_name("other_backend.py")
# googlenet under JAX is the slow suite's: building it takes 23 s there (0.6 s under TensorFlow), its first forward
# pass 9 s, and XLA's compile of its training step 50-100 s on these 2 cores
JAX_IN_THE_DEFAULT_SUITE = [name for name in FAMILIES if name != "googlenet"]


@pytest.fixture(scope="module")
def tensorflow_weights(tmp_path_factory):
    """Each family's model under TensorFlow with every variable moved off its initial value (batch-norm statistics
    included, so inference mode uses them), its .weights.h5 and its outputs on fixed images."""
    folder = tmp_path_factory.mktemp("tensorflow_weights")
    rng = np.random.default_rng(0)
    for name, (shape, options) in FAMILIES.items():
        model = models.build(name, input_shape=shape, num_classes=3, **options)
        for variable in model.weights:
            value = np.asarray(variable.numpy(), dtype="float32")
            if "variance" in variable.path:
                value = value * rng.uniform(0.5, 1.5, size=value.shape)
            else:
                value = value + rng.normal(0, 0.05, size=value.shape)
            variable.assign(value.astype("float32"))
        x = rng.uniform(0, 255, size=(4, *shape)).astype("float32")
        model.save_weights(folder / f"{name}.weights.h5")
        np.save(folder / f"{name}_x.npy", x)
        np.save(folder / f"{name}_y.npy", np.asarray(model(x, training=False)))
    return folder


def _run_without_tensorflow(backend, weights, families):
    """Build, load and train a step of each of `families` under `backend`, TensorFlow hidden."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, str(WORKER), str(weights), "--families", ",".join(families),
                             "--train", ",".join(families)], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _check(report, backend, families):
    assert report["backend"] == backend
    assert report["tensorflow_imported"] is False
    assert set(report["families"]) == set(families)
    assert {name for name, entry in report["families"].items() if "loss" in entry} == set(families)
    for name, entry in report["families"].items():
        assert entry["max_abs_diff"] < 1e-4, (name, entry)
        assert np.isfinite(entry["loss"]), (name, entry)


def test_the_zoo_runs_under_jax_without_tensorflow(tensorflow_weights):
    report = _run_without_tensorflow("jax", tensorflow_weights, JAX_IN_THE_DEFAULT_SUITE)
    _check(report, "jax", JAX_IN_THE_DEFAULT_SUITE)
    assert all(entry["jit_compile"] for entry in report["families"].values() if "loss" in entry)  # "auto" is XLA


def test_the_zoo_runs_under_torch_without_tensorflow(tensorflow_weights):
    report = _run_without_tensorflow("torch", tensorflow_weights, list(FAMILIES))
    _check(report, "torch", list(FAMILIES))
    assert not any(entry["jit_compile"] for entry in report["families"].values())  # "auto" is eager under PyTorch


@pytest.mark.slow
def test_googlenet_loads_tensorflows_weights_and_trains_a_step_under_jax(tensorflow_weights):
    _check(_run_without_tensorflow("jax", tensorflow_weights, ["googlenet"]), "jax", ["googlenet"])


def test_the_worker_really_hides_tensorflow():
    probe = ("import importlib.util, sys; sys.path.insert(0, %r)\n"
             "import other_backend\n"
             "print(importlib.util.find_spec('tensorflow'))\n"
             "try:\n    import tensorflow\nexcept ModuleNotFoundError:\n    print('refused')\n") % str(WORKER.parent)
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["None", "refused"], out.stderr[-2000:]
