import csv
import importlib
import os

import numpy as np
import pytest

from keras_course import data, experiments, viz
from keras_course.cli.main import main

compare_module = importlib.import_module("keras_course.experiments.compare")  # the package exports the function

BUDGET = dict(batch_size=64, optimizer="momentum", lr=0.05, bn_momentum=0.9)
MODELS = "mlp,cnn4_bn:width=0.25"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("compare") / "study")
    rows = experiments.compare(MODELS, "digits", run_dir=run_dir, epochs=2, seeds=2, **BUDGET)
    return run_dir, rows


def test_every_promised_file_is_written_with_numbers_in_range(study):
    run_dir, rows = study
    assert [r["model"] for r in rows] == ["mlp", "cnn4_bn_width-0.25"]
    with open(os.path.join(run_dir, "compare.csv")) as f:
        table = list(csv.DictReader(f))
    assert [row["model"] for row in table] == ["mlp", "cnn4_bn_width-0.25"]
    assert list(table[0]) == list(compare_module.COLUMNS)
    for row in rows:
        assert row["params"] > 1000 and row["flops_per_image"] > 1000 and row["seeds"] == 2
        assert row["train_seconds_per_epoch"] > 0 and row["inference_ms_per_image"] > 0
        assert 0.5 < row["test_accuracy_mean"] <= 1 and 0 <= row["test_accuracy_std"] < 0.2
        assert 0.5 < row["best_val_accuracy"] <= 1
    markdown = open(os.path.join(run_dir, "compare.md")).read().splitlines()
    assert markdown[2].startswith("| model | parameters") and len(markdown) == 4 + len(rows)
    assert os.path.getsize(os.path.join(run_dir, "pareto.png")) > 30_000
    assert os.path.getsize(os.path.join(run_dir, "curves.png")) > 30_000
    for label in ("mlp", "cnn4_bn_width-0.25"):
        for seed in (0, 1):
            assert os.path.exists(os.path.join(run_dir, label, f"seed{seed}", "metrics.json"))


def test_the_seeds_are_different_runs_of_the_same_budget(study):
    run_dir, _ = study
    configs = [experiments.load_run(os.path.join(run_dir, "mlp", f"seed{s}"))[0] for s in (0, 1)]
    assert [c.seed for c in configs] == [0, 1] and configs[0].epochs == configs[1].epochs == 2
    assert configs[0].lr == configs[1].lr == 0.05


def test_a_finished_comparison_is_read_back_not_retrained(study, monkeypatch):
    run_dir, rows = study
    monkeypatch.setattr(compare_module, "train", lambda *a, **k: pytest.fail("a finished run was retrained"))
    again = experiments.compare(MODELS, "digits", run_dir=run_dir, epochs=2, seeds=2, **BUDGET)
    for old, new in zip(rows, again):
        assert {k: v for k, v in old.items() if k != "inference_ms_per_image"} == \
            {k: v for k, v in new.items() if k != "inference_ms_per_image"}


def test_an_interrupted_comparison_trains_only_what_is_missing(tmp_path, monkeypatch):
    run_dir = str(tmp_path / "study")
    experiments.compare("mlp", "digits", run_dir=run_dir, epochs=1, seeds=2, **BUDGET)
    os.remove(os.path.join(run_dir, "mlp", "seed1", "metrics.json"))  # as if killed before its last line
    trained = []
    real_train = compare_module.train
    monkeypatch.setattr(compare_module, "train", lambda config, d, **k: trained.append(d) or real_train(config, d, **k))
    rows = experiments.compare("mlp", "digits", run_dir=run_dir, epochs=1, seeds=2, **BUDGET)
    assert trained == [os.path.join(run_dir, "mlp", "seed1")] and rows[0]["seeds"] == 2
    assert os.path.exists(os.path.join(run_dir, "mlp", "seed1", "metrics.json"))


def test_finished_runs_with_other_settings_are_not_reused(study):
    run_dir, _ = study
    with pytest.raises(experiments.RunDirectoryError, match=r"other settings \(lr\)"):
        experiments.compare(MODELS, "digits", run_dir=run_dir, epochs=2, seeds=2, **{**BUDGET, "lr": 0.01})


def test_pareto_front():
    front = viz.pareto_front([1, 2, 3, 4, 2], [0.5, 0.7, 0.6, 0.9, 0.7])
    assert front.tolist() == [True, True, False, True, True]


def test_tradeoff_labels_do_not_overprint_each_other_or_other_points():
    """The compression lab's figure (its ten rows) had "int4 QAT" over "int4 post-training" (same storage, 0.9213
    and 0.9205) and "int8 QAT" over "int8 post-training" (0.065 and 0.057 ms) when neighbours in cost simply
    alternated above and below. Checked on the drawn figure: text extents as matplotlib renders them."""
    rows = [("dense", 0.9223, 1525.0, 0.229), ("prune 90%", 0.9174, 201.8, 0.227),
            ("channels 50%", 0.9127, 384.5, 0.066), ("factorize 50%", 0.9211, 763.8, 0.128),
            ("int8 post-training", 0.9220, 382.7, 0.057), ("int8 QAT", 0.9228, 382.7, 0.065),
            ("int4 post-training", 0.9205, 192.3, 0.053), ("int4 QAT", 0.9213, 192.3, 0.051),
            ("student alone", 0.9178, 384.5, 0.050), ("student + teacher", 0.9132, 384.5, 0.049)]
    figure = viz.tradeoff_plot([r[0] for r in rows], [r[1] for r in rows],
                               {"storage": [r[2] for r in rows], "latency": [r[3] for r in rows]})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)  # the figure comes back closed, without a canvas that draws
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax, column in zip(figure.axes, (2, 3)):
        texts = {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}
        assert set(texts) == {r[0] for r in rows}
        names = sorted(texts)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not texts[a].overlaps(texts[b]), (column, a, b)
        for name, *_ in rows:
            for other in rows:
                if other[0] != name:
                    x, y = ax.transData.transform((other[column], other[1]))
                    assert not texts[name].contains(x, y), (column, name, "covers the point of", other[0])


def test_model_specs_are_parsed_and_checked():
    assert compare_module.parse_models("resnet20, vgg11_bn:stem=small;width=0.5") == [
        ("resnet20", {}), ("vgg11_bn", {"stem": "small", "width": 0.5})]
    with pytest.raises(ValueError, match="Unknown model 'resnet2O'. Did you mean"):
        compare_module.parse_models("resnet2O")
    with pytest.raises(ValueError, match="each once"):
        compare_module.parse_models("mlp,mlp")
    with pytest.raises(ValueError, match="key=value"):
        compare_module.parse_models("mlp:width")


def test_imagenet_layouts_get_their_small_stem_on_small_images():
    _, _, _, info = data.load("fashion_mnist", limit=20)
    assert compare_module._fitting_options("vgg11_bn", {}, info) == {"stem": "small"}
    assert compare_module._fitting_options("resnet20", {}, info) == {}
    _, _, _, digits = data.load("digits")
    with pytest.raises(ValueError, match="needs at least 12x12"):
        compare_module._fitting_options("lenet5_bn", {}, digits)


def test_cli_prints_the_table_and_refuses_bad_models(tmp_path, capsys):
    run_dir = str(tmp_path / "cli")
    assert main(["compare", "--models", "mlp", "--dataset", "digits", "--epochs", "1", "--batch-size", "64",
                 "--run-dir", run_dir, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| mlp * |" in out and "pareto.png" in out
    assert main(["compare", "--models", "mlp,nope", "--dataset", "digits", "--run-dir", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
