"""`gpu`: the zoo on a GPU through Keras's JAX backend (every step compiled by XLA), on a machine without TensorFlow.

Written for the GPU machine this project can borrow: Python 3.12 with JAX (CUDA), PyTorch, numpy and h5py, no
TensorFlow and no network. The registry's models, `training.compile_model` and the augmentation steps are the
library's own, run on JAX; only the input side differs from the CPU benchmarks (numpy arrays instead of tf.data).

1. Time to accuracy: Fashion-MNIST, read from the IDX files given with --data, trained by the CPU recipe of
   `time_to_accuracy` (cnn4_bn, nesterov, one-cycle, label smoothing, weight decay, flip test-time augmentation)
   scaled up: twice the width, a larger batch at a proportionally larger learning rate, pad-and-crop added, more
   epochs. The clock counts training and the per-epoch augmentation, not the per-epoch test evaluation (as
   `time_to_accuracy`). Goal: test accuracy 0.95 within 60 s of training.
2. Throughput: one model of every family (`precision.MODELS`), training images per second in float32 and in
   mixed_bfloat16, timed in alternation after a warm-up that includes XLA's compile (whose seconds are recorded).
   The batch fills the GPU: THROUGHPUT_BATCH, larger for the small networks, which a smaller batch leaves idle.
   Families whose turn comes after DEADLINE_S are listed as skipped, so that the run stays inside 8 minutes.

Bringing what the machine lacks (keras and the two of its dependencies not already there: `REQUIREMENTS`):
    here:   bash bench/gpu_wheels.sh                # the wheels into .whl/ (git-ignored)
    there:  pip install --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
            python -m bench gpu --data DIR         # writes bench/results/gpu_<device>.json
`--dry-run` runs both parts at tiny sizes with JAX on the CPU; without it and without a GPU the benchmark refuses.
JSON: {"device": ..., "dry_run": ..., "time_to_accuracy": {"recipe": {...}, "goal_seconds": 60, "seconds_to":
       {"0.93": s or null, "0.94": ..., "0.95": ...}, "test_accuracy": ..., "per_epoch": [{"epoch", "train_seconds",
       "test_accuracy"}], "precision": ...}, "throughput": {LABEL: {"model", "options", "params", "batch_size",
       "compile_seconds": {PRECISION: s}, "float32_img_per_s", "bfloat16_img_per_s", "ratio"}},
       "skipped": [LABEL, ...], "versions": {...}, "machine": {...}, "total_seconds": ...}
"""

import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from bench import common

REQUIREMENTS = Path(__file__).with_name("gpu_requirements.txt")
GOAL_SECONDS = 60.0
TARGETS = (0.93, 0.94, 0.95)
# time_to_accuracy.RECIPE scaled up for a GPU (not yet measured on one: bench/results/gpu_*.json will say)
RECIPE_CHANGES = dict(options={"width": 2.0}, batch_size=512, lr=0.4, epochs=30, augment=["flip", "crop:0.072"],
                      precision="auto")
THROUGHPUT_BATCH = {"mlp": 8192, "lenet5_bn": 8192, "cnn4_bn": 4096, "simple_cnn": 4096}  # others: DEFAULT_BATCH
DEFAULT_BATCH = 1024
STEPS_PER_CALL = 16  # training steps in one timed model.fit call (one XLA execution each)
DEADLINE_S = 330  # no family starts its throughput measurement after this many seconds of the run
DRY_RUN = dict(limit=512, test_limit=256, epochs=1, width=0.25, batch_size=64, steps_per_call=2,
               models=("mlp",))  # the recipe already compiles a conv net (cnn4_bn)


def _use_jax(on_cpu):
    """Keras on JAX (before keras is first imported), on the CPU for the dry run."""
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != "jax":
        raise SystemExit(f"bench gpu: keras is already loaded with the {sys.modules['keras'].backend.backend()} "
                         "backend; run `python -m bench gpu` in a fresh process")
    os.environ["KERAS_BACKEND"] = "jax"
    if on_cpu:
        os.environ["JAX_PLATFORMS"] = "cpu"


def _device(dry_run):
    import jax

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus and not dry_run:
        platforms = ", ".join(sorted({d.platform for d in jax.devices()}))
        raise SystemExit(f"bench gpu: JAX sees no GPU here (devices: {platforms}); "
                         "run it on a machine with a CUDA GPU and jax[cuda], or pass --dry-run for the small CPU check")
    return (gpus or jax.devices())[0]


def recipe():
    from bench import time_to_accuracy

    return dict(time_to_accuracy.RECIPE, **RECIPE_CHANGES)


def _augment_epoch(steps, x, batch_size, seed_generator):
    """Each batch of `x` through the augmentation steps (as the CPU pipeline augments whole batches), on the device."""
    import keras

    out = []
    for start in range(0, len(x), batch_size):
        images = keras.ops.convert_to_tensor(x[start:start + batch_size], "float32")
        for step in steps:
            transformation = step.get_random_transformation(images, training=True, seed=seed_generator)
            images = step.transform_images(images, transformation, training=True)
        out.append(keras.ops.convert_to_numpy(images))
    return np.concatenate(out)


def time_to_accuracy(data_dir, dry_run):
    import keras

    from bench.time_to_accuracy import flip_tta_accuracy, record_epoch
    from keras_course import models, training
    from keras_course.data import augment, mnist_like

    spec = recipe()
    if dry_run:
        spec.update(epochs=DRY_RUN["epochs"], batch_size=DRY_RUN["batch_size"], options={"width": DRY_RUN["width"]})
    x_train, y_train, x_test, y_test, _ = mnist_like.load("fashion_mnist", data_dir=data_dir)
    if dry_run:
        x_train, y_train = x_train[:DRY_RUN["limit"]], y_train[:DRY_RUN["limit"]]
        x_test, y_test = x_test[:DRY_RUN["test_limit"]], y_test[:DRY_RUN["test_limit"]]
    x_train, x_test = (x.reshape(len(x), 28, 28, 1).astype("float32") for x in (x_train, x_test))
    y_train, y_test = y_train.astype("int32"), y_test.astype("int64")

    keras.utils.set_random_seed(spec["seed"])
    policy = training.resolve_precision(spec["precision"])
    batch_size = spec["batch_size"]
    steps_per_epoch = len(x_train) // batch_size
    with training.dtype_policy(policy):
        model = models.build(spec["model"], input_shape=x_train.shape[1:], num_classes=10, **spec["options"])
    models.set_batch_norm_momentum(model, spec["bn_momentum"])
    training.compile_model(model, optimizer=spec["optimizer"], lr=spec["lr"], schedule=spec["schedule"],
                           total_steps=steps_per_epoch * spec["epochs"], weight_decay=spec["weight_decay"],
                           label_smoothing=spec["label_smoothing"], steps_per_execution=steps_per_epoch)
    steps = augment.resolve_policy(spec["augment"], x_train.shape[1:])
    seeds, order_rng = keras.random.SeedGenerator(spec["seed"]), np.random.default_rng(spec["seed"])
    seconds_to, per_epoch, train_seconds = {f"{t:.2f}": None for t in TARGETS}, [], 0.0
    for epoch in range(spec["epochs"]):
        start = time.perf_counter()
        order = order_rng.permutation(len(x_train))[:steps_per_epoch * batch_size]
        x_epoch = _augment_epoch(steps, x_train[order], batch_size, seeds)
        model.fit(x_epoch, y_train[order], batch_size=batch_size, initial_epoch=epoch, epochs=epoch + 1,
                  shuffle=False, verbose=0)
        train_seconds += time.perf_counter() - start
        accuracy = flip_tta_accuracy(model, x_test, y_test, flip=spec["flip_tta"], batch_size=4096)
        record_epoch(per_epoch, seconds_to, train_seconds, accuracy, verbose=True)
    return {"recipe": spec, "precision": policy, "goal_seconds": GOAL_SECONDS, "seconds_to": seconds_to,
            "test_accuracy": per_epoch[-1]["test_accuracy"], "params": int(model.count_params()),
            "per_epoch": per_epoch}


def _fit_call(model, shape, batch_size, steps):
    """fn() training `steps` steps (one XLA execution) on fixed synthetic images through model.fit."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(batch_size * steps, *shape)).astype("float32")
    y = rng.integers(0, 10, size=batch_size * steps).astype("int32")
    return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


def throughput(dry_run, only, started, deadline_s):
    import keras

    from bench import precision as cpu_precision
    from keras_course import models, training

    shape, rows, skipped = cpu_precision.SHAPE, {}, []
    steps = DRY_RUN["steps_per_call"] if dry_run else STEPS_PER_CALL
    for label, name, options, _ in cpu_precision.MODELS:
        if (only and label not in only and name not in only) or (dry_run and name not in DRY_RUN["models"]):
            continue
        if time.perf_counter() - started > deadline_s:
            skipped.append(label)
            continue
        batch_size = DRY_RUN["batch_size"] if dry_run else THROUGHPUT_BATCH.get(name, DEFAULT_BATCH)
        sides, compile_seconds = {}, {}
        for policy in common.PRECISIONS:
            keras.utils.set_random_seed(0)
            with training.dtype_policy(policy):
                model = models.build(name, input_shape=shape, num_classes=10, **options)
            training.compile_model(model, optimizer="momentum", lr=0.01, steps_per_execution=steps)
            sides[policy] = _fit_call(model, shape, batch_size, steps)
            start = time.perf_counter()
            sides[policy]()  # the first call traces and compiles
            compile_seconds[policy] = round(time.perf_counter() - start, 2)
        rates = common.alternate(sides, steps * batch_size, rounds=1 if dry_run else 3)
        rows[label] = {"model": name, "options": options, "params": int(model.count_params()),
                       "batch_size": batch_size, "compile_seconds": compile_seconds,
                       "float32_img_per_s": round(rates["float32"], 1),
                       "bfloat16_img_per_s": round(rates["mixed_bfloat16"], 1),
                       "ratio": round(rates["mixed_bfloat16"] / rates["float32"], 3)}
        print(f"{label}: {rows[label]['float32_img_per_s']:.0f} img/s float32, "
              f"{rows[label]['bfloat16_img_per_s']:.0f} bfloat16", flush=True)
        keras.backend.clear_session()
    return rows, skipped


def run(dry_run=False, data_dir=None, only=None, deadline_s=DEADLINE_S):
    started = time.perf_counter()
    _use_jax(on_cpu=dry_run)
    device = _device(dry_run)
    import jax
    import keras

    result = {"device": device.device_kind, "platform": device.platform, "dry_run": dry_run,
              "versions": {"jax": jax.__version__, "keras": keras.__version__, "numpy": np.__version__}}
    result["time_to_accuracy"] = time_to_accuracy(data_dir, dry_run)
    result["throughput"], result["skipped"] = throughput(dry_run, only, started, deadline_s)
    result.update(machine=common.machine(), peak_rss_mb=common.peak_rss_mb(),
                  total_seconds=round(time.perf_counter() - started, 1))
    return result


def default_json(result):
    """Where a full run's figures belong; a dry run's go only where --json says."""
    if result["dry_run"]:
        return None
    slug = re.sub(r"[^a-z0-9]+", "_", result["device"].lower()).strip("_")
    return str(Path(__file__).with_name("results") / f"gpu_{slug}.json")


def show(result):
    tta = result["time_to_accuracy"]
    where = "dry run, JAX on the CPU" if result["dry_run"] else f"{result['device']}, JAX {result['versions']['jax']}"
    print(f"bench gpu ({where}), {result['total_seconds']:.0f} s in all")
    print(f"{tta['recipe']['model']} width {tta['recipe']['options']['width']} ({tta['precision']}): test accuracy "
          f"{tta['test_accuracy']:.4f} after {tta['per_epoch'][-1]['train_seconds']:.1f} s of training")
    for target, seconds in tta["seconds_to"].items():
        reached = "not reached" if seconds is None else f"{seconds:.1f} s"
        goal = f" (goal <= {tta['goal_seconds']:.0f} s)" if target == f"{TARGETS[-1]:.2f}" else ""
        print(f"  to {target}: {reached}{goal}")
    print(f"{'model':<24} {'batch':>6} {'float32':>10} {'bfloat16':>10} {'ratio':>6} {'compile s':>10}")
    for label, row in result["throughput"].items():
        print(f"{label:<24} {row['batch_size']:>6} {row['float32_img_per_s']:>10.0f} "
              f"{row['bfloat16_img_per_s']:>10.0f} {row['ratio']:>6.2f} {max(row['compile_seconds'].values()):>10.1f}")
    if result["skipped"]:
        print(f"skipped (past {DEADLINE_S} s): {', '.join(result['skipped'])}")
