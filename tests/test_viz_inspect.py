"""The pictures people learn from: mistakes (confused pairs, top losses) and what conv nets look at."""

import io
import json

import keras
import matplotlib.figure
import matplotlib.pyplot
import numpy as np
import pytest
from PIL import Image

from keras_course import experiments, models, transfer, viz
from keras_course.cli.main import main
from keras_course.transfer.embed import features_model

# One model of each conv family; GAP: ends conv maps -> global average pooling -> Dense (CAM applies)
FAMILIES = [("lenet5", {}, False), ("cnn4_bn", {}, True), ("alexnet", {"stem": "small"}, False),
            ("vgg11_bn", {"stem": "small"}, False), ("resnet20", {}, True), ("preact_resnet18", {"stem": "small"}, True),
            ("densenet_bc_100", {}, True), ("googlenet", {}, True)]


def _png_drawn(figure_or_path):
    """A returned Figure (rendered to PNG) or a written PNG file has something on it (not a blank canvas)."""
    source = figure_or_path
    if isinstance(figure_or_path, matplotlib.figure.Figure):
        source = io.BytesIO()
        figure_or_path.savefig(source, format="png", dpi=110)
    pixels = np.asarray(Image.open(source).convert("L"), dtype="float32")
    return pixels.size > 100 * 100 and pixels.std() > 5


def test_a_drawing_returns_its_figure_and_writes_the_png_only_when_given_a_path(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 6, 1], [0, 0, 7]])
    figure = viz.confused_pairs_plot(matrix, ["a", "b", "c"], tmp_path / "pairs.png")
    assert isinstance(figure, matplotlib.figure.Figure) and _png_drawn(figure)
    assert Image.open(tmp_path / "pairs.png").size == tuple(int(v) for v in figure.get_size_inches() * 110)
    assert _png_drawn(viz.confused_pairs_plot(matrix, ["a", "b", "c"])) and list(tmp_path.iterdir()) == [
        tmp_path / "pairs.png"]
    assert not matplotlib.pyplot.get_fignums()  # every figure is closed


def _images(n=4, shape=(32, 32, 3)):
    return np.random.default_rng(0).uniform(0, 255, size=(n, *shape)).astype("float32")


def test_confused_pairs_are_the_largest_off_diagonal_cells_with_their_share():
    matrix = np.array([[50, 3, 7], [0, 60, 1], [10, 0, 40]])
    pairs = viz.confused_pairs(matrix, ["a", "b", "c"], top=3)
    assert pairs == [("c", "a", 10, 0.2), ("a", "c", 7, 7 / 60), ("a", "b", 3, 0.05)]
    with pytest.raises(ValueError, match="square with one row per class"):
        viz.confused_pairs(matrix, ["a", "b"])


def test_top_losses_rank_by_minus_log_probability_of_the_true_class():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.99, 0.01]])
    labels = [0, 0, 1, 1]
    np.testing.assert_allclose(viz.per_example_loss(probabilities, labels), -np.log([0.9, 0.2, 0.4, 0.01]))
    assert list(viz.top_losses(probabilities, labels, k=2)) == [3, 1]
    sigmoid = np.array([[0.9], [0.3]])  # one unit: p(class 1)
    np.testing.assert_allclose(viz.per_example_loss(sigmoid, [0, 1]), -np.log([0.1, 0.3]))


def test_mistake_plots_are_drawn(tmp_path):
    matrix = np.array([[50, 3, 7], [0, 60, 1], [10, 0, 40]])
    assert _png_drawn(viz.confused_pairs_plot(matrix, ["a", "b", "c"], tmp_path / "pairs.png"))
    probabilities = np.random.default_rng(1).dirichlet(np.ones(3), size=20)
    figure = viz.top_losses_plot(_images(20, (12, 12, 1)), probabilities, np.arange(20) % 3, ["a", "b", "c"],
                                 tmp_path / "top.png", k=8)
    assert _png_drawn(figure)


def _gap_model(kind="resnet20"):
    if kind == "transfer":  # the conv maps sit inside a nested keras.applications backbone that pools them itself
        return transfer.build_classifier("MobileNetV2", 10, weights=None, input_shape=(32, 32, 3))
    return models.build("resnet20", input_shape=(32, 32, 3), num_classes=10)


@pytest.mark.parametrize("kind", ["resnet20", "transfer"])
def test_cam_is_the_classifier_applied_at_every_position(kind):
    model, images = _gap_model(kind), _images()
    maps, classes = viz.cam(model, images, normalize=False)
    features = features_model(model).predict(images, verbose=0)
    dense = viz.activations.classifier_layer(model)
    logits = features @ np.asarray(dense.kernel) + np.asarray(dense.bias)
    # spatial mean of the map of class c + bias_c == logit_c (GAP and Dense commute)
    np.testing.assert_allclose(maps.mean(axis=(1, 2)) + np.asarray(dense.bias)[classes],
                               logits[np.arange(len(images)), classes], rtol=1e-4, atol=1e-4)
    assert list(classes) == list(model.predict(images, verbose=0).argmax(axis=1))


@pytest.mark.parametrize("kind", ["resnet20", "transfer"])
def test_grad_cam_equals_cam_on_a_global_average_pooled_model(kind):
    model, images = _gap_model(kind), _images()
    cams, classes = viz.cam(model, images)
    grads, same = viz.grad_cam(model, images, classes)
    assert list(same) == list(classes)
    # the gradient of the logit over each map is the class weight / (h*w): Grad-CAM is ReLU(CAM), rescaled
    expected = viz.activations._normalize(np.maximum(viz.cam(model, images, classes, normalize=False)[0], 0))
    np.testing.assert_allclose(grads, expected, atol=1e-4)
    assert grads.min() >= 0 and grads.max() <= 1


@pytest.mark.parametrize("name, options, gap", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_grad_cam_on_every_conv_family_and_cam_where_it_applies(name, options, gap, tmp_path):
    model = models.build(name, input_shape=(32, 32, 3), num_classes=10, **options)
    images = _images(3)
    maps, classes = viz.grad_cam(model, images)
    assert maps.ndim == 3 and len(maps) == 3 and np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert _png_drawn(viz.heatmap_plot(images, maps, tmp_path / "gradcam.png", labels=classes, predicted=classes,
                                       class_names=[str(i) for i in range(10)]))
    if gap:
        assert viz.cam(model, images)[0].shape == maps.shape
    else:
        with pytest.raises(ValueError, match="Use Grad-CAM"):
            viz.cam(model, images)
    assert _png_drawn(viz.first_layer_filters(model, tmp_path / "filters.png"))
    assert _png_drawn(viz.feature_maps_plot(model, images[0], tmp_path / "maps.png"))
    keras.backend.clear_session()


def test_feature_maps_of_a_named_layer_and_a_wrong_name():
    model = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10)
    first = viz.activations.first_conv_layer(model)
    maps, name = viz.feature_maps(model, _images(1, (28, 28, 1))[0], first.name)
    assert name == first.name and maps.shape == (28, 28, first.filters)
    with pytest.raises(ValueError, match="Did you mean") as error:
        viz.feature_maps(model, _images(1, (28, 28, 1))[0], first.name + "x")
    assert "\n" not in str(error.value)


def test_models_without_convolutions_are_refused_in_one_line():
    model = models.build("mlp", input_shape=(64,), num_classes=10)
    for call in (lambda: viz.grad_cam(model, np.zeros((2, 64))), lambda: viz.first_layer_filters(model, "x.png")):
        with pytest.raises(ValueError, match="conv net"):
            call()


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "cnn"
    experiments.train(experiments.RunConfig(model="cnn4_bn", dataset="digits", epochs=2, lr=3e-3, bn_momentum=0.9),
                      run_dir, verbose=0)
    return run_dir


def test_plot_run_draws_every_picture_of_a_conv_run(conv_run):
    written, skipped = experiments.plot_run(conv_run)
    assert set(written) == set(experiments.PLOTS) and not skipped
    for path in written.values():
        assert _png_drawn(path), path
    assert all(str(p).startswith(str(conv_run / "plots")) for p in written.values())


def test_plot_run_skips_what_does_not_apply_and_refuses_it_by_name(tmp_path):
    run_dir = tmp_path / "mlp"
    experiments.train(experiments.RunConfig(model="mlp", dataset="digits", epochs=1, model_options={"hidden": [16]}),
                      run_dir, verbose=0)
    written, skipped = experiments.plot_run(run_dir, out_dir=tmp_path / "out")
    assert set(written) == {"curves", "confusion", "pairs", "top_losses", "tsne"}
    assert set(skipped) == {"filters", "feature_maps", "cam", "gradcam"}
    with pytest.raises(ValueError, match="Cannot draw 'gradcam'.*conv net"):
        experiments.plot_run(run_dir, "gradcam")


def test_cli_plot_writes_what_was_asked(conv_run, tmp_path, capsys):
    out = tmp_path / "pics"
    assert main(["plot", "--run-dir", str(conv_run), "--what", "gradcam,pairs", "--images", "4", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["confused_pairs.png", "grad_cam.png"]
    assert "gradcam" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--what", "saliency"], "Unknown plot 'saliency'"),
    (["--what", "feature_maps", "--layer", "nope"], "no conv-map layer 'nope'"),
    (["--images", "0"], "--images must be a positive integer"),
])
def test_cli_plot_bad_arguments_are_one_line(argv, message, conv_run, tmp_path, capsys):
    assert main(["plot", "--run-dir", str(conv_run), "--out", str(tmp_path / "o")] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_plot_of_an_unfinished_run_says_so(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text(json.dumps({"model": "mlp", "dataset": "digits"}))
    assert main(["plot", "--run-dir", str(tmp_path / "r")]) == 2
    assert "not a finished run" in capsys.readouterr().err


def test_lesson_plots_are_drawn(tmp_path):
    rng = np.random.default_rng(0)
    assert _png_drawn(viz.image_grid([rng.normal(size=(20, 30)), rng.uniform(0, 255, (20, 30, 3))], ["a", "b"],
                                     tmp_path / "grid.png", cols=2, signed=(0,)))
    with pytest.raises(ValueError, match="one title per image"):
        viz.image_grid([np.zeros((4, 4))], [], tmp_path / "no.png")
    paths = {"a": np.cumsum(rng.normal(size=(30, 2)) * 0.1, axis=0), "b": np.cumsum(rng.normal(size=(30, 2)) * 0.1, 0)}
    assert _png_drawn(viz.trajectories_plot(lambda x, y: x ** 2 + 3 * y ** 2, paths, tmp_path / "paths.png",
                                            xlim=(-2, 2), ylim=(-2, 2), minimum=(0, 0)))
    assert _png_drawn(viz.loss_curves_plot({"a": np.geomspace(1, 1e-3, 20), "b": np.linspace(1, 0.1, 20)},
                                           tmp_path / "curves.png"))
    rows = [{"activation_std": 0.5, "gradient_std": 10.0 ** -k} for k in range(6)]
    assert _png_drawn(viz.layer_statistics_plot({"deep": rows, "flat": rows[::-1]}, tmp_path / "signals.png"))
