"""The kill -9 check both resume tests make: SIGKILL a training command mid-run, rerun it, compare with an
uninterrupted run of the same command."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np


def cli(*args):
    return [sys.executable, "-m", "keras_course.cli.main", *args]


def final_weights(run_dir):
    return [w.numpy() for w in keras.models.load_model(os.path.join(run_dir, "model.keras")).weights]


def kill_resume_and_compare(argv, tmp_path, ready, *, timeout=300):
    """Run `keras-course ARGV --run-dir tmp_path/killed`, kill it with SIGKILL once `ready(backup pointer)` holds,
    rerun it to the end and run the same command uninterrupted; returns (killed run dir, largest weight
    difference between the two)."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    killed = str(tmp_path / "killed")
    process = subprocess.Popen(cli(*argv, "--run-dir", killed), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    pointer = os.path.join(killed, "backup", "training_metadata.json")
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        try:
            with open(pointer) as f:
                if ready(json.load(f)):
                    break
        except (ValueError, OSError):  # not written yet, or caught mid-rename
            pass
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not os.path.exists(os.path.join(killed, "metrics.json"))
    subprocess.run(cli(*argv, "--run-dir", killed), env=env, check=True, capture_output=True)
    reference = str(tmp_path / "reference")
    subprocess.run(cli(*argv, "--run-dir", reference), env=env, check=True, capture_output=True)
    diffs = [float(np.abs(a - b).max()) for a, b in zip(final_weights(killed), final_weights(reference))]
    return killed, max(diffs)
