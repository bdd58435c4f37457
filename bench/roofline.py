"""`roofline`: how close training gets to this machine's measured matrix-multiply speed.

GEMM GFLOP/s is measured with TensorFlow's matmul (large square matrices, several independent products per call),
in float32 and in bfloat16; each model trains in float32 and is compared with the float32 figure, and the conv nets
also train under the mixed_bfloat16 policy, compared with the bfloat16 figure (`--quick`: float32 only). A training
step costs about three forward passes (forward, and backward for inputs and for weights), so training FLOPs per
image = 3 x the forward FLOPs TF's profiler counts. Percent of GEMM peak = images/s x training FLOPs per image /
GEMM FLOP/s. `memory_gbs` measures the other roof, main-memory bandwidth (bench conv_ceiling uses it).
JSON: {"gemm_gflops": ..., "gemm_gflops_bfloat16": ..., "batch_size": ..., "models": {NAME: {"img_per_s": ...,
       "train_gflops": ..., "pct_of_gemm": ..., "precision": ...}}, "machine": {...}, "peak_rss_mb": ...}
"""

from bench import common, steps

# (label, registry name, options, input shape): the conv nets the goal is about, and lenet5_bn for contrast
MODELS = [
    ("cnn4_bn", "cnn4_bn", {}, (28, 28, 1)),
    ("resnet20", "resnet20", {}, (32, 32, 3)),
    ("vgg11_bn small", "vgg11_bn", {"stem": "small"}, (32, 32, 3)),
    ("lenet5_bn", "lenet5_bn", {}, (28, 28, 1)),
]
GOAL_PCT = 60.0


def gemm_gflops(n=2048, products=8, repeats=5, dtype="float32"):
    """GFLOP/s of tf.matmul on n x n matrices of `dtype` (independent products, so none can be folded away)."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    bs = [tf.cast(tf.random.normal((n, n)), dtype) for _ in range(products)]

    @tf.function
    def run():
        return tf.add_n([tf.reduce_sum(tf.cast(tf.matmul(a, b), "float32")) for b in bs])

    return 2 * n ** 3 * products / common.best_seconds(lambda: run().numpy(), repeats=repeats) / 1e9


def memory_gbs(megabytes=256, repeats=5, threads=None):
    """GB/s of main memory: bytes read plus bytes written by a copy between two arrays far larger than the caches,
    split across `threads` (default: the benchmark's thread count), both arrays touched beforehand (no page faults)."""
    import threading

    import numpy as np

    threads = threads or common.threads()
    source = np.ones(megabytes * 2 ** 18, np.float32)
    target = np.zeros_like(source)
    bounds = np.linspace(0, source.size, threads + 1).astype(int)
    parts = [(target[lo:hi], source[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def copy():  # numpy releases the GIL for a large copy, so the threads run at once
        workers = [threading.Thread(target=np.copyto, args=part) for part in parts]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return 2 * source.nbytes / common.best_seconds(copy, repeats=repeats) / 1e9


def run(quick=False, batch_size=128, only=None):
    from keras_course import models, training

    common.pin_tensorflow_threads()
    n = 1024 if quick else 2048
    gemm = {"float32": gemm_gflops(n=n)}
    if not quick:
        gemm["mixed_bfloat16"] = gemm_gflops(n=n, dtype="bfloat16")
    result = {"gemm_gflops": round(gemm["float32"], 1), "gemm_gflops_bfloat16": round(gemm.get("mixed_bfloat16", 0), 1),
              "batch_size": batch_size, "goal_pct": GOAL_PCT, "quick": quick, "machine": common.machine(), "models": {}}
    for precision in gemm:
        for label, name, options, shape in MODELS:
            if (only and name not in only and label not in only) or (precision != "float32" and name == "lenet5_bn"):
                continue
            with training.dtype_policy(precision):
                model = models.build(name, input_shape=shape, num_classes=10, **options)
            steps.compiled(model, shape, steps_per_execution=training.DEFAULT_STEPS_PER_EXECUTION)
            train_gflops = 3 * models.flops_per_image(model) / 1e9
            img_per_s = steps.train_rate(model, shape, batch_size=batch_size, steps=32,
                                         repeats=1 if quick else 3)
            key = label if precision == "float32" else f"{label} bf16"
            result["models"][key] = {"img_per_s": round(img_per_s, 1), "train_gflops": round(train_gflops, 5),
                                     "pct_of_gemm": round(100 * img_per_s * train_gflops / gemm[precision], 1),
                                     "precision": precision, "input_shape": list(shape)}
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"GEMM float32: {result['gemm_gflops']:.1f} GFLOP/s, bfloat16: {result['gemm_gflops_bfloat16']:.1f}; "
          f"training at batch {result['batch_size']} (bf16 rows: % of the bfloat16 GEMM)")
    print(f"{'model':<16} {'img/s':>8} {'GFLOP/img':>10} {'% of GEMM':>10}")
    for label, row in result["models"].items():
        print(f"{label:<16} {row['img_per_s']:>8.1f} {row['train_gflops']:>10.4f} {row['pct_of_gemm']:>9.1f}%")
