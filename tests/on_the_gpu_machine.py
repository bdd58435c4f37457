"""Run `python -m bench ARGS` with only the packages the borrowed GPU machine has (the standard library, JAX,
numpy, h5py and the rest of GPU_MACHINE_HAS) plus those bench/gpu_requirements.txt brings: any other import,
TensorFlow's first, fails as it would there.

    python tests/on_the_gpu_machine.py gpu --dry-run --json OUT
"""

import re
import runpy
import sys
from pathlib import Path

import import_guard

ROOT = Path(__file__).resolve().parents[1]
# import names of the GPU machine's packages that the benchmark's code path may touch (KINDS.md lists them all)
GPU_MACHINE_HAS = {"numpy", "h5py", "jax", "jaxlib", "jax_plugins", "ml_dtypes", "scipy", "opt_einsum", "absl", "rich",
                   "markdown_it", "mdurl", "pygments", "packaging", "typing_extensions"}


def brought():
    """The import names of bench/gpu_requirements.txt's packages (each imports under its distribution's name)."""
    lines = (ROOT / "bench" / "gpu_requirements.txt").read_text().splitlines()
    return {re.split(r"[=<>\[ ]", line)[0].replace("-", "_") for line in lines if line and not line.startswith("#")}


if __name__ == "__main__":
    import_guard.allow_only(GPU_MACHINE_HAS | brought() | {"keras_course", "bench"})
    sys.path.insert(0, str(ROOT))
    sys.argv = ["python -m bench", *sys.argv[1:]]
    runpy.run_module("bench", run_name="__main__", alter_sys=True)
