"""XLA proven on the CPU: one model of every registry family compiles with jit_compile=True and trains, in float32
and under mixed precision; so do a transfer classifier, the per-variable learning rates of fine-tuning, and
`keras-course train --jit on`. XLA's CPU backend compiles the same graphs as on a GPU.

Every test asserts `model.jit_compile is True` after compiling: Keras's setter turns an explicit True into False
with only a warning (a layer without XLA support, op determinism on), and `training.compile_model` now refuses that.
"""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_course import models, training, transfer
from keras_course.cli.main import main
from keras_course.training import phases

from families import FAMILIES

# measured on the 2 cores: googlenet 25 s (float32) and 46 s (mixed) to compile; these three 9-12 s under mixed
SLOW = {("googlenet", "float32"), ("googlenet", "mixed_bfloat16"), ("densenet_bc_100", "mixed_bfloat16"),
        ("preact_resnet18", "mixed_bfloat16"), ("vgg11_bn", "mixed_bfloat16")}


def test_one_model_of_every_family_is_covered():
    assert {models.info(name).family for name in FAMILIES} == {models.info(n).family for n in models.list_models()}
    assert any(models.info(name).family == "resnet" and "preact" in name for name in FAMILIES)


def _data(shape, n=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(n, *shape)).astype("float32"), rng.integers(0, classes, size=n)


def _train_one_step_under_xla(model, shape):
    training.compile_model(model, optimizer="sgd", lr=0.01, jit_compile=True, steps_per_execution=1)
    assert model.jit_compile is True
    x, y = _data(shape)
    loss = model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
    return loss


@pytest.mark.parametrize("name, precision", [
    pytest.param(n, p, marks=[pytest.mark.slow] if (n, p) in SLOW else []) for n in FAMILIES
    for p in ("float32", "mixed_bfloat16")])
def test_every_family_compiles_with_xla_and_trains_a_step(name, precision):
    shape, options = FAMILIES[name]
    with training.dtype_policy(precision):
        model = models.build(name, input_shape=shape, num_classes=3, **options)
    assert model.layers[-1].dtype_policy.name == "float32" or precision == "float32"
    _train_one_step_under_xla(model, shape)


def test_a_transfer_classifier_with_preprocessing_inside_compiles_with_xla():
    model = transfer.build_classifier("resnet8", 3, weights=None, input_shape=(32, 32, 3))
    assert model.get_layer("backbone_preprocessing") is not None
    _train_one_step_under_xla(model, (32, 32, 3))


def test_fine_tuning_with_per_variable_learning_rates_compiles_with_xla():
    model = transfer.build_classifier("resnet8", 3, weights=None, input_shape=(32, 32, 3))
    x, y = _data((32, 32, 3), n=16)
    seen = []
    original = training.compile_model

    def spy(m, **kwargs):
        compiled = original(m, **kwargs)
        seen.append((kwargs.get("lr_multipliers") is not None, compiled.jit_compile))
        return compiled

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phases, "compile_model", spy)
        result = transfer.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=1,
                                    discriminative_lr=0.3, verbose=0, jit_compile=True, steps_per_execution=1)
    assert seen == [(False, True), (True, True)]  # the fine-tuning phase: multipliers, under XLA
    assert all(np.isfinite(h["loss"]).all() for h in (result.head, result.fine_tune))


def test_train_jit_on_compiles_with_xla_and_records_it(tmp_path, monkeypatch):
    compiled = []
    original = phases.compile_model
    monkeypatch.setattr(phases, "compile_model", lambda m, **kw: compiled.append(original(m, **kw).jit_compile) or m)
    # the flag's way to the compile is the point: every family compiling under XLA is the test above
    argv = ["train", "--model", "mlp", "--dataset", "xor", "--epochs", "1", "--jit", "on", "--quiet", "--run-dir",
            str(tmp_path / "run")]
    assert main(argv) == 0
    assert compiled == [True]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["jit_compile"] is True


def test_deterministic_with_jit_on_is_one_line_naming_both_flags(tmp_path, capsys):
    argv = ["train", "--model", "mlp", "--dataset", "xor", "--deterministic", "--jit", "on", "--run-dir",
            str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--deterministic" in err and "--jit on" in err
    assert not (tmp_path / "run").exists()


def test_an_explicit_jit_that_keras_would_drop_is_an_error_naming_the_layer():
    inputs = keras.Input((16, 16, 1))
    rotated = keras.layers.RandomRotation(0.1, name="rotate_in_the_model")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(rotated)))
    with pytest.raises(ValueError, match="rotate_in_the_model"):
        training.compile_model(model, jit_compile=True)
    assert training.compile_model(model, jit_compile=False).jit_compile is False


def test_jit_with_op_determinism_on_is_an_error_saying_so():
    # a subprocess: op determinism, once on, stays on for the whole process
    code = ("import keras, tensorflow as tf\n"
            "from keras_course import training\n"
            "tf.config.experimental.enable_op_determinism()\n"
            "inputs = keras.Input((4,))\n"
            "model = keras.Model(inputs, keras.layers.Dense(2, activation='softmax')(inputs))\n"
            "try:\n"
            "    training.compile_model(model, jit_compile=True)\n"
            "except ValueError as error:\n"
            "    print('REFUSED', error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "REFUSED" in out and "op determinism" in out
