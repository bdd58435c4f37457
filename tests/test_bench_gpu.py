"""`python -m bench gpu`: its dry run (tiny sizes, JAX on the CPU) with only the GPU machine's packages importable,
its one-line refusal where JAX sees no GPU, and bench/gpu_requirements.txt covering what keras needs there."""

import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from on_the_gpu_machine import GPU_MACHINE_HAS, ROOT, brought

LAUNCHER = Path(__file__).with_name("on_the_gpu_machine.py")


def _bench_gpu(*args, env=None):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", **(env or {})}
    env.pop("KERAS_BACKEND", None)
    return subprocess.run([sys.executable, str(LAUNCHER), "gpu", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


def test_the_dry_run_needs_nothing_the_gpu_machine_lacks(tmp_path):
    out = tmp_path / "gpu.json"
    before = set((ROOT / "bench" / "results").iterdir())
    result = _bench_gpu("--dry-run", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["dry_run"] is True and report["platform"] == "cpu"
    assert report["machine"]["backend"] == "jax" and report["machine"]["tensorflow"] is None
    tta = report["time_to_accuracy"]
    assert tta["recipe"]["model"] == "cnn4_bn" and tta["recipe"]["schedule"] == "one_cycle"
    assert set(tta["seconds_to"]) == {"0.93", "0.94", "0.95"} and tta["goal_seconds"] == 60.0
    assert len(tta["per_epoch"]) == 1 and 0.0 <= tta["test_accuracy"] <= 1.0
    assert tta["per_epoch"][0]["train_seconds"] > 0
    row = report["throughput"]["mlp"]
    assert row["float32_img_per_s"] > 0 and row["bfloat16_img_per_s"] > 0
    assert math.isclose(row["ratio"], row["bfloat16_img_per_s"] / row["float32_img_per_s"], rel_tol=0.01)
    assert set(row["compile_seconds"]) == {"float32", "mixed_bfloat16"}
    assert "to 0.95: " in result.stdout and "mlp" in result.stdout
    assert set((ROOT / "bench" / "results").iterdir()) == before  # a dry run writes only where --json says


def test_without_a_gpu_it_refuses_in_one_line():
    result = _bench_gpu()
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bench gpu: JAX sees no GPU"), result.stderr[-2000:]
    assert "--dry-run" in lines[0]


def _import_names(distribution):
    """The top-level import names a distribution installs."""
    files = importlib.metadata.distribution(distribution).files or []
    names = {f.parts[0].removesuffix(".py") for f in files
             if f.parts and not f.parts[0].endswith((".dist-info", ".libs", ".data")) and f.parts[0] != ".."}
    return {name for name in names if name.isidentifier() and not name.startswith("_")}


def test_the_requirements_bring_every_dependency_keras_has_that_the_gpu_machine_lacks():
    present = GPU_MACHINE_HAS | brought()
    for distribution in ("keras", "optree"):
        for requirement in importlib.metadata.requires(distribution) or []:
            if "extra ==" in requirement:
                continue
            name = re.split(r"[=<>!~;\[ (]", requirement)[0]
            assert _import_names(name) <= present, (distribution, requirement, _import_names(name))
