import json

import keras
import numpy as np
import pytest

from keras_course import data, experiments, models, training, viz
from keras_course.cli.main import main


def _digits_model(seed=0):
    keras.utils.set_random_seed(seed)
    train, _, _, info = data.load("digits", seed=0)
    model = models.build("cnn4_bn", input_shape=info.input_shape, num_classes=info.num_classes, dropout=0.3,
                         width=0.5)  # batch norm's moving statistics and dropout's generator state: both restored
    training.compile_model(model, optimizer="momentum", lr=0.02)
    return model, train


def _pipe(train):
    return data.make_pipeline(train, batch_size=64, training=True, seed=0)


@pytest.fixture(scope="module")
def swept():
    model, train = _digits_model()
    before = [v.numpy() for v in model.variables]
    optimizer, config = model.optimizer, model.get_compile_config()
    result = experiments.lr_find(model, _pipe(train), start_lr=1e-5, end_lr=100.0, steps=120)
    return model, train, before, optimizer, config, result


def test_every_variable_and_the_compile_settings_come_back_exactly(swept):
    model, _, before, optimizer, config, _ = swept
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, model.variables))
    assert model.optimizer is optimizer and int(optimizer.iterations.numpy()) == 0
    assert model.get_compile_config() == config
    assert model.steps_per_execution == training.DEFAULT_STEPS_PER_EXECUTION


def test_training_after_the_sweep_is_what_it_would_have_been_without_it(swept):
    model, train, *_ = swept
    untouched, _ = _digits_model()
    for m in (model, untouched):
        keras.utils.set_random_seed(1)
        m.fit(_pipe(train), epochs=1, verbose=0)
    for a, b in zip(model.variables, untouched.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_the_sweep_grows_exponentially_stops_on_divergence_and_reads_off_the_rates(swept):
    *_, result = swept
    rates = result.learning_rates
    assert rates[0] == pytest.approx(1e-5) and len(rates) == len(result.losses) == len(result.smoothed)
    np.testing.assert_allclose(np.diff(np.log(rates)), np.log(100.0 / 1e-5) / 119, rtol=1e-6)
    assert result.diverged and len(rates) < 120  # lr 100 blows up a small CNN long before the end
    lowest = int(np.argmin(result.smoothed))
    assert result.minimum == pytest.approx(rates[lowest]) and result.suggested == pytest.approx(rates[lowest] / 10)
    assert rates[0] <= result.steepest <= result.minimum
    assert 1e-3 < result.suggested < 1.0  # where SGD with momentum trains this net


def test_the_plot_is_written(swept, tmp_path):
    *_, result = swept
    figure = viz.lr_find_plot(result, str(tmp_path / "lr.png"))
    assert (tmp_path / "lr.png").stat().st_size > 20_000 and figure.axes


@pytest.mark.parametrize("kwargs, message", [
    (dict(start_lr=1.0, end_lr=0.1), "must be below `end_lr`"),
    (dict(start_lr=-1.0), "start_lr"),
    (dict(steps=5), "`steps` must be an int >= 10"),
    (dict(smoothing=1.0), "`smoothing` must be in"),
    (dict(divergence=1.0), "`divergence` must be above 1"),
])
def test_bad_arguments_are_refused(kwargs, message):
    model, train = _digits_model()
    with pytest.raises(ValueError, match=message):
        experiments.lr_find(model, _pipe(train), **kwargs)


def test_an_uncompiled_model_is_refused():
    model = models.build("mlp", input_shape=(4,), num_classes=2)
    with pytest.raises(ValueError, match="needs a compiled keras.Model"):
        experiments.lr_find(model, (np.zeros((8, 4)), np.zeros(8)))


def test_cli_writes_the_plot_the_table_and_the_suggestion(tmp_path, capsys):
    out = tmp_path / "lr"
    assert main(["lr-find", "--model", "mlp", "--dataset", "digits", "--optimizer", "momentum", "--steps", "60",
                 "--start-lr", "1e-4", "--end-lr", "30", "--run-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "lr_find.json").read_text())
    assert f"suggested learning rate: {report['suggested_lr']:.3g}" in printed
    rows = (out / "lr_find.csv").read_text().splitlines()
    assert rows[0] == "step,learning_rate,loss,smoothed_loss" and len(rows) == report["steps"] + 1
    assert report["config"]["model"] == "mlp" and (out / "lr_find.png").stat().st_size > 20_000


def test_cli_bad_range_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "lr"
    assert main(["lr-find", "--model", "mlp", "--dataset", "digits", "--start-lr", "1", "--end-lr", "0.1",
                 "--run-dir", str(out)]) == 2
    assert "--start-lr must be below --end-lr" in capsys.readouterr().err and not out.exists()
