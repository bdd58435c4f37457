"""Every lab runs end to end with --quick; the full labs (slow) must reach the targets they state."""

import importlib
import os

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import _notebooks
from keras_course import labs

ALL_LABS = ["lab1_sine_regression", "lab2_binary_classification", "lab3_multiclass_classification", "logic_gates",
            "lab4_cnn", "conv_kernels", "optimizers", "init_and_activations", "x_vs_o", "early_stopping",
            "regularization", "resnet_vs_plain", "transfer_fashion"]


def script_of(lab):
    return os.path.join(_notebooks.APPS, f"{lab}.py")


LESSONS = [lab for lab in ALL_LABS if _notebooks.is_lesson(script_of(lab))]  # keras_course.labs' format
LABS = [lab for lab in ALL_LABS if lab not in LESSONS]  # main(argv) labs, not yet rewritten as lessons
PLOTS = {"lab1_sine_regression": ["lab1_sine_fit.png"], "lab2_binary_classification": ["lab2_boundaries.png"],
         "lab3_multiclass_classification": ["lab3_spirals_boundaries.png"], "logic_gates": ["logic_gates.png"],
         "lab4_cnn": ["lab4_resnet20_fashion_mnist/learning_curves.png",
                      "lab4_resnet20_fashion_mnist/confusion_matrix.png",
                      *(f"lab4_resnet20_fashion_mnist/plots/{name}.png" for name in
                        ("confused_pairs", "top_losses", "first_layer_filters", "grad_cam"))],
         "conv_kernels": ["conv_kernels.png"], "optimizers": ["optimizers_rosenbrock.png", "optimizers_spirals.png"],
         "init_and_activations": ["init_and_activations.png"], "x_vs_o": ["x_vs_o.png"],
         "early_stopping": ["early_stopping.png"], "regularization": ["regularization.png"],
         "resnet_vs_plain": ["resnet_vs_plain.png"], "transfer_fashion": ["transfer_fashion/study.png"]}


# Before each notebook in the shared kernel: Keras's and matplotlib's global state back to a fresh kernel's, then
# every name the previous notebook defined deleted (so a notebook that forgets an import still fails).
# the demo's figures in the README: 0.9308 in 70 s on the 2 cores (its goal: >= 0.93 in <= 75 s)
DEMO_ACCURACY, DEMO_SECONDS = 0.93, 75
RESET = ["%reset -f",
         "import gc, keras, matplotlib.pyplot\n"
         "keras.backend.clear_session(); keras.config.set_dtype_policy('float32'); matplotlib.pyplot.close('all')\n"
         "gc.collect()",
         "%reset -f"]


@pytest.fixture(scope="module")
def kernel():
    """One Jupyter kernel for the lab notebooks of this module: starting one and importing TensorFlow in it costs
    about 8 s, once per notebook otherwise."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=os.path.dirname(book_path(LABS[0])))
    yield manager
    manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("lab", LABS)
def test_lab_notebook_runs_quick(lab, tmp_path, kernel):
    """Each lab's notebook (generated from the script) executes top to bottom with --quick and draws its plots."""
    book = _notebooks.notebook(os.path.join(_notebooks.APPS, f"{lab}.py"))
    parameters = next(cell for cell in book.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source = f"argv = {['--quick', '--out', str(tmp_path)]!r}"
    book.cells[:0] = [nbformat.v4.new_code_cell(source) for source in RESET]
    NotebookClient(book, km=kernel, timeout=600).execute()
    for plot in PLOTS[lab]:
        assert os.path.getsize(tmp_path / plot) > 5_000  # an empty matplotlib canvas is 2-4 kB
    last = [cell for cell in book.cells if cell.cell_type == "code"][-1]
    assert any(output.get("output_type") == "stream" and output.get("text", "").strip() for output in last.outputs)


def test_lab5_notebook_stops_with_the_labs_message_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")  # the kernel inherits it: no download attempts
    book = _notebooks.notebook(os.path.join(_notebooks.APPS, "lab5_transfer_cats_dogs.py"))
    parameters = next(cell for cell in book.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source = f"argv = {['--quick', '--out', str(tmp_path), '--data-dir', str(tmp_path / 'empty')]!r}"
    with pytest.raises(CellExecutionError, match="SystemExit"):
        NotebookClient(book, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(book_path("lab5_transfer_cats_dogs"))}}).execute()
    printed = "".join(o.get("text", "") for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", []))
    assert "transfer_fashion.py" in printed


def book_path(lab):
    return _notebooks.notebook_path(script_of(lab))


@pytest.mark.parametrize("script", _notebooks.lab_scripts(), ids=os.path.basename)
def test_notebooks_are_generated_from_the_current_scripts(script):
    assert _notebooks.is_current(script), "run: python apps/_notebooks.py"


def _drawing_cells(book):
    return [cell for cell in book.cells if cell.cell_type == "code" and "= viz." in cell.source]


@pytest.mark.parametrize("lab", LESSONS)
def test_a_committed_lesson_reads_as_one(lab):
    """The committed notebook is a lesson: 300 words of prose at least, executed with its figures inline and no
    error, no argparse or sys.path in the cells a notebook runs."""
    book = nbformat.read(book_path(lab), as_version=4)
    words = sum(len(cell.source.split()) for cell in book.cells if cell.cell_type == "markdown")
    assert words >= 300, words
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert not any("argparse" in cell.source or "sys.path" in cell.source for cell in code)
    assert any("QUICK" in cell.source for cell in code if "parameters" in cell.metadata.get("tags", []))
    assert _drawing_cells(book)
    for cell in _drawing_cells(book):
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source[:80]
    assert not any(output.get("output_type") == "error" for cell in code for output in cell.outputs)
    printed = "".join(o.get("text", "") for cell in code for o in cell.outputs)
    assert "reached" in printed and "NOT reached" not in printed  # the committed run reached the lab's target


def test_the_committed_notebooks_stay_small():
    size = sum(os.path.getsize(os.path.join(_notebooks.OUT, name)) for name in os.listdir(_notebooks.OUT))
    assert size < 8 * 2 ** 20, size


# three lessons in the default suite, every one with -m slow
@pytest.mark.parametrize("lab", [lab if i < 3 else pytest.param(lab, marks=pytest.mark.slow)
                                 for i, lab in enumerate(LESSONS)])
def test_a_lesson_notebook_executes_in_a_fresh_kernel_with_its_figures_inline(lab, tmp_path):
    """papermill runs the lesson with QUICK = True from another folder: every drawing cell shows its figure."""
    out = tmp_path / "executed.ipynb"
    book = _notebooks.execute_lesson(script_of(lab), str(out), quick=True,
                                     parameters={"OUT": str(tmp_path / "figures")}, cwd=str(tmp_path))
    for cell in _drawing_cells(book):
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source[:80]
    for plot in PLOTS[lab]:
        assert os.path.getsize(tmp_path / "figures" / plot) > 5_000


def test_the_script_entry_point_runs(tmp_path):
    result = labs.run(script_of("logic_gates"), "--quick", "--out", str(tmp_path))["RESULT"]
    assert result and all(isinstance(v, float) for v in result.values())
    assert os.path.getsize(tmp_path / "logic_gates.png") > 5_000


def test_conv_kernels_reproduces_the_worked_numbers(tmp_path):
    result = labs.run(script_of("conv_kernels"), "--quick", "--out", str(tmp_path))["RESULT"]
    assert result["worked_example"] == pytest.approx(94.2, abs=1e-9) and result["sharpen_patch"] == 256
    assert result["max_diff_vs_tf"] < 1e-3


@pytest.mark.slow
def test_optimizers_lab_adaptive_methods_beat_sgd(tmp_path):
    result = importlib.import_module("optimizers").main(["--out", str(tmp_path)])
    assert all(result[f"loss_{name}"] < result["loss_sgd"] for name in ("adam", "nadam", "rmsprop"))
    assert result["distance_adam"] < result["distance_sgd"]


@pytest.mark.slow
def test_init_lab_shows_vanishing_gradients_and_he_fixing_relu(tmp_path):
    ratios = importlib.import_module("init_and_activations").main(["--out", str(tmp_path)])
    assert ratios["ratio sigmoid, glorot"] < 1e-3 and 0.1 <= ratios["ratio relu, he"] <= 10


@pytest.mark.slow
def test_x_vs_o_hand_set_filters_classify(tmp_path):
    scores = importlib.import_module("x_vs_o").main(["--out", str(tmp_path)])
    assert min(scores.values()) >= 0.95


@pytest.mark.slow
def test_early_stopping_restores_the_best_epoch(tmp_path):
    result = importlib.import_module("early_stopping").main(["--out", str(tmp_path)])
    assert result["epochs_run"] < 150 and abs(result["saved_val_loss"] - result["best_val_loss"]) < 1e-4
    assert result["saved_val_loss"] < result["last_val_loss"]


@pytest.mark.slow
def test_regularizers_narrow_the_gap(tmp_path):
    gaps = importlib.import_module("regularization").main(["--out", str(tmp_path)])
    assert all(gaps[f"gap {label}"] < gaps["gap none"] for label in ("L2 5e-4", "dropout 0.5", "augmentation"))


@pytest.mark.slow
def test_plain_networks_get_worse_with_depth_resnets_do_not(tmp_path):
    loss = importlib.import_module("resnet_vs_plain").main(["--out", str(tmp_path)])
    assert loss["loss plain-56"] > loss["loss plain-20"] and loss["loss ResNet-56"] < loss["loss plain-56"]


@pytest.mark.slow
def test_lab1_reaches_noise_level(tmp_path):
    assert labs.run(script_of("lab1_sine_regression"), "--out", str(tmp_path))["RESULT"]["ratio"] <= 1.5


@pytest.mark.slow
def test_lab2_separates_moons_and_circles(tmp_path):
    accuracies = importlib.import_module("lab2_binary_classification").main(["--out", str(tmp_path)])
    assert min(accuracies.values()) >= 0.95


@pytest.mark.slow
def test_lab3_needs_a_hidden_layer(tmp_path):
    result = importlib.import_module("lab3_multiclass_classification").main(["--out", str(tmp_path)])
    assert result["mlp"] >= 0.95 and result["linear"] <= 0.60


@pytest.mark.slow
def test_logic_gates(tmp_path):
    acc = list(labs.run(script_of("logic_gates"), "--out", str(tmp_path))["RESULT"].values())
    assert acc[0] == 1.0 and acc[1] == 1.0 and acc[2] <= 0.75 and acc[3] == 1.0


@pytest.mark.slow
def test_the_demo_reaches_its_figures(tmp_path):
    import json

    from keras_course.cli.main import DEMO, main

    assert main(["demo", "--run-dir", str(tmp_path / "run"), "--save-to", str(tmp_path / "saved")]) == 0
    with open(tmp_path / "saved" / f"fashion_mnist_{DEMO['model']}" / "manifest.json") as f:
        manifest = json.load(f)
    assert manifest["metrics"]["test_accuracy"] >= DEMO_ACCURACY
    assert manifest["train_seconds"] <= DEMO_SECONDS
