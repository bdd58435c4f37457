"""`scaling`: training throughput of one model under each tf.distribute strategy, same machine, same threads.

Each setting runs in processes of its own (the CPU split and a worker cluster are fixed when TensorFlow starts):
  default         one replica, the library's defaults (training.DEFAULT_STEPS_PER_EXECUTION steps per call)
  default spe1    one replica, 1 step per call: what a distributed `fit` is limited to (keras-team/keras#19246)
  mirrored        MirroredStrategy over the CPU split into 2 logical devices, synchronized batch norm
  multiworker     MultiWorkerMirroredStrategy, 2 worker processes on 127.0.0.1, half the threads each
Every setting trains cnn4_bn at the same global batch on synthetic images, warm-up then the median of timed calls
(`--quick`: default and multiworker only, a few steps).
On one 2-core machine there is nothing to gain: the figures show what the replication itself costs.
JSON: {"model": ..., "global_batch": ..., "settings": {NAME: {"replicas": ..., "img_per_s": ...,
       "ratio_to_default": ...}}, "machine": {...}}
"""

import argparse
import json
import os
import subprocess
import sys

from bench import common
from keras_course.training.distribute import local_tf_configs

MODEL, SHAPE = "cnn4_bn", (28, 28, 1)
SETTINGS = ("default", "default spe1", "mirrored", "multiworker")


def _spawn(setting, batch, steps, rounds, env=None):
    command = [sys.executable, "-m", "bench.scaling", "--setting", setting, "--batch", str(batch),
               "--steps", str(steps), "--rounds", str(rounds)]
    return subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _result(process):
    out, _ = process.communicate(timeout=900)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"scaling worker failed:\n{out[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def run(quick=False, batch_size=128):
    steps, rounds = (32, 1) if quick else (64, 3)  # multiples of the default steps per call
    result = {"model": MODEL, "global_batch": batch_size, "quick": quick, "machine": common.machine(), "settings": {}}
    for setting in ("default", "multiworker") if quick else SETTINGS:
        if setting == "multiworker":
            threads = str(max(1, common.threads() // 2))
            worker_steps = 8 if quick else steps  # 1 step per call: any count works; --quick checks the path
            workers = [_spawn(setting, batch_size, worker_steps, rounds,
                              env={"TF_CONFIG": tf_config, "BENCH_THREADS": threads})
                       for tf_config in local_tf_configs(2)]
            row = [_result(w) for w in workers][0]
        else:
            row = _result(_spawn(setting, batch_size, steps, rounds))
        result["settings"][setting] = row
    base = result["settings"]["default"]["img_per_s"]
    for row in result["settings"].values():
        row["ratio_to_default"] = round(row["img_per_s"] / base, 3)
    return result


def show(result):
    print(f"{result['model']}, global batch {result['global_batch']}, synthetic images")
    print(f"{'setting':<14} {'replicas':>8} {'img/s':>9} {'vs default':>11}")
    for name, row in result["settings"].items():
        print(f"{name:<14} {row['replicas']:>8} {row['img_per_s']:>9.0f} {row['ratio_to_default']:>11.2f}")


def _worker(setting, batch_size, steps, rounds):
    """One process of one setting: train, time, print RESULT {...} (the chief's figure counts)."""
    import tensorflow as tf

    from bench import steps as bench_steps
    from keras_course import models, training

    common.pin_tensorflow_threads()
    if setting == "mirrored":
        training.split_cpu(2)
    strategy = training.make_strategy({"default spe1": "default"}.get(setting, setting))
    with strategy.scope():
        model = models.build(MODEL, input_shape=SHAPE, num_classes=10)
    if strategy.num_replicas_in_sync > 1:
        training.set_batch_norm_synchronized(model)
    with strategy.scope():
        training.compile_model(model, optimizer="momentum", lr=0.01,
                               steps_per_execution=training.DEFAULT_STEPS_PER_EXECUTION if setting == "default" else 1)
    data = bench_steps.synthetic_batches(SHAPE, 10, batch_size)
    with training.multiworker_fit_patch():
        img_per_s = common.rate(bench_steps.make_fit(model, data, steps), steps * batch_size, repeats=rounds)
    print("RESULT " + json.dumps({"replicas": strategy.num_replicas_in_sync, "chief": training.is_chief(strategy),
                                  "threads": common.threads(), "tf_devices": len(tf.config.list_logical_devices("CPU")),
                                  "img_per_s": round(img_per_s, 1)}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--setting", choices=SETTINGS, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    args = parser.parse_args()
    _worker(args.setting, args.batch, args.steps, args.rounds)
