"""What the benchmarks share: equal thread counts, warm-up then alternating timed rounds, peak memory, JSON."""

import json
import os
import resource
import statistics
import time


# The policies a benchmark compares: float32 and the mixed bfloat16 policy (`--precision` of vs_torch and batchnorm)
PRECISIONS = ("float32", "mixed_bfloat16")


def check_precision(benchmark, precision):
    """Refuse, in one line, a `precision` no benchmark compares."""
    if precision not in PRECISIONS:
        raise SystemExit(f"{benchmark}: --precision must be one of {', '.join(PRECISIONS)}. Received: {precision!r}")


def threads():
    """The thread count every side of a comparison gets: all cores, unless BENCH_THREADS says otherwise."""
    return int(os.environ.get("BENCH_THREADS", os.cpu_count()))


def pin_tensorflow_threads():
    """Pin TensorFlow's pools (must run before TensorFlow executes anything); returns the count."""
    import tensorflow as tf

    n = threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(min(n, 2))
    except RuntimeError:  # already initialised by an earlier benchmark in this process: same settings then
        pass
    return n


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rate(fn, items, *, repeats=3):
    """Items per second of `fn()` (which processes `items` items): median of `repeats` timed calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return items / statistics.median(times)


def best_seconds(fn, *, repeats=5):
    """Seconds of the fastest of `repeats` timed calls of `fn()` after one warm-up: the machine's peak, for the
    roofs (GEMM, memory) that throughputs are measured against."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def alternate(sides, items, *, rounds=3):
    """{name: items per second} for each callable in `sides`, warmed up, then timed in alternation (A B A B ...),
    so that a change in the machine's speed during the run touches every side alike; the median round counts."""
    for fn in sides.values():
        fn()
    times = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: items / statistics.median(t) for name, t in times.items()}


def read_result(path, benchmark):
    """The earlier result in the JSON file `path` that a benchmark adds its rows to; one line (SystemExit) when
    the file cannot be read as one."""
    try:
        with open(path) as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = None
    if not isinstance(result, dict):
        raise SystemExit(f"{benchmark}: --json {path} exists but is not a readable result; move it away or name "
                         "another file.")
    return result


def write_json(path, result):
    if path:
        with open(path + ".tmp", "w") as f:
            json.dump(result, f, indent=2)
        os.replace(path + ".tmp", path)


def machine():
    """Facts that make a figure comparable: cores, threads used, CPU model, Keras backend, library versions
    (TensorFlow's is None on a machine without it, such as the GPU one `bench gpu` runs on)."""
    import keras

    from keras_course.training import devices, precision

    try:
        import tensorflow as tf
        tensorflow_version = tf.__version__
    except ImportError:
        tensorflow_version = None
    return {"cpu_count": os.cpu_count(), "threads": threads(), "cpu": precision.cpu_model(), "gpu": devices.gpu_available(),
            "bfloat16_hardware": precision.cpu_computes_bfloat16(), "auto_precision": precision.resolve_precision("auto"),
            "backend": keras.backend.backend(), "tensorflow": tensorflow_version, "keras": keras.__version__}
