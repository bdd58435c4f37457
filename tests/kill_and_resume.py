"""Running a `keras-course` command in a subprocess, and killing one with SIGKILL mid-run then rerunning it."""

import json
import os
import signal
import subprocess
import sys
import time


def cli(*args):
    return [sys.executable, "-m", "keras_course.cli.main", *args]


def kill_and_resume(argv, run_dir, ready, *, timeout=300):
    """Run `keras-course ARGV --run-dir RUN_DIR`, kill it with SIGKILL once `ready(backup pointer)` holds, check it
    left no metrics.json, and rerun the same command to the end. Returns `run_dir`."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    command = cli(*argv, "--run-dir", str(run_dir))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = os.path.join(run_dir, "backup", "training_metadata.json")
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
    assert not os.path.exists(os.path.join(run_dir, "metrics.json"))
    subprocess.run(command, env=env, check=True, capture_output=True)
    return run_dir
