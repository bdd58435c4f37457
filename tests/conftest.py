import gc
import os
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# XLA's CPU code without LLVM's optimisation passes (XLA's own graph passes still run), here and in the processes
# tests start: what the tests check is what XLA compiles and computes, not how fast the result runs, and it compiles
# faster. Measured: test_xla 54 s against 39 s; the zoo under JAX 44 s against 32 s, outputs equal to 1.8e-6 either
# way. No timing test uses XLA (on a CPU `jit_compile="auto"` is off).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # One worker per core: each TensorFlow takes its share of the cores, not all of them (read when TensorFlow
    # starts, after this). Measured on 2 cores, 2 workers, 205 tests: 101 and 105 s against 107 and 113 s.
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(_share))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
APPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps")
sys.path.insert(0, APPS)


@pytest.hookimpl(tryfirst=True)  # before -m selects: a test marked timing is a slow one wherever it is written
def pytest_collection_modifyitems(items):
    """A check on measured speed runs with -m slow only: that suite runs in one process, so nothing competes with
    what it times (the default suite runs two workers on two cores)."""
    for item in items:
        if item.get_closest_marker("timing") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def image_folder(tmp_path):
    """A folder of two classes of small PNG images (bright and dark squares), 12 per class."""
    rng = np.random.default_rng(0)
    root = tmp_path / "shapes"
    for label, (name, level) in enumerate((("bright", 200), ("dark", 40))):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(level, 20, size=(20, 24, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def built_once(tmp_path_factory):
    """`built_once(name, build)`: a folder that `build(folder)` fills once per test run, however many xdist workers
    ask for it. The first to ask builds it under a file lock; the others wait for it and reuse it (pytest-xdist's
    way to share a fixture's work: worksteal spreads a module's tests over the workers, and a module fixture would
    otherwise run on each). For what tests only read; a build that fails is redone by the next to ask."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own

    def get(name, build):
        folder = root / f"built_once_{name}"
        with FileLock(f"{folder}.lock"):
            if not (folder / ".complete").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                (folder / ".complete").touch()
        return folder

    return get


@pytest.fixture(autouse=True, scope="module")
def _freeze_earlier_modules_objects():
    """Moves what earlier test modules left alive out of the garbage collector's reach.

    keras-tuner and keras.backend.clear_session run a full collection for every trial; in one long pytest process
    each of those walked the graphs of every model built so far (over a million objects, about 1 s a collection),
    which made the search tests 5x slower than when run alone.
    """
    gc.collect()
    gc.freeze()
    yield
