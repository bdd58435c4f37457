"""`precision`: training images per second of one model of every family in float32 and under mixed_bfloat16.

The evidence behind `precision="auto"` on the CPU: each model is built twice (once per policy), both compiled the
library's way, warmed up, then timed in alternation on one fixed batch of Fashion-MNIST-sized images (28x28x1; the
32x32 families' small stems take them too). ratio = bfloat16 img/s over float32 img/s: above 1 where bfloat16 pays.
On a CPU without bfloat16 instructions the bfloat16 side is emulated, and the ratio says how much that costs.
JSON: {"batch_size": ..., "models": {LABEL: {"model": ..., "options": ..., "params": ...,
       "float32_img_per_s": ..., "bfloat16_img_per_s": ..., "ratio": ...}}, "machine": {...}, "peak_rss_mb": ...}
"""

from bench import common, steps

SHAPE = (28, 28, 1)
# (label, registry name, options, training steps per timed call): one per registry family, the zoo's settings
MODELS = [
    ("mlp", "mlp", {"hidden": [256, 128]}, 64),
    ("lenet5_bn", "lenet5_bn", {}, 64),
    ("cnn4_bn", "cnn4_bn", {}, 32),
    ("simple_cnn", "simple_cnn", {}, 64),
    ("alexnet small", "alexnet", {"stem": "small"}, 4),
    ("vgg11_bn small", "vgg11_bn", {"stem": "small"}, 4),
    ("resnet20", "resnet20", {}, 8),
    ("preact_resnet18 small", "preact_resnet18", {"stem": "small"}, 4),
    ("densenet_bc_100", "densenet_bc_100", {}, 4),
    ("googlenet small", "googlenet", {"stem": "small"}, 4),
]


def run(quick=False, batch_size=128, only=None):
    import keras

    from keras_course import models, training

    common.pin_tensorflow_threads()
    result = {"batch_size": batch_size, "quick": quick, "machine": common.machine(), "models": {}}
    for label, name, options, n_steps in MODELS:
        if (only and label not in only and name not in only) or (quick and name not in ("mlp", "cnn4_bn")):
            continue
        n_steps = 2 if quick else n_steps
        sides, params = {}, None
        for precision in common.PRECISIONS:
            keras.utils.set_random_seed(0)
            with training.dtype_policy(precision):
                model = models.build(name, input_shape=SHAPE, num_classes=10, **options)
            steps.compiled(model, SHAPE, optimizer="momentum", steps_per_execution=min(n_steps, 32))
            sides[precision] = steps.make_fit(model, steps.synthetic_batches(SHAPE, 10, batch_size), n_steps)
            params = model.count_params()
        rates = common.alternate(sides, n_steps * batch_size, rounds=1 if quick else 3)
        result["models"][label] = {"model": name, "options": options, "params": int(params),
                                   "float32_img_per_s": round(rates["float32"], 1),
                                   "bfloat16_img_per_s": round(rates["mixed_bfloat16"], 1),
                                   "ratio": round(rates["mixed_bfloat16"] / rates["float32"], 3)}
        keras.backend.clear_session()
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    hardware = "with" if result["machine"]["bfloat16_hardware"] else "without"
    print(f"training images/s at batch {result['batch_size']}, a CPU {hardware} bfloat16 instructions")
    print(f"{'model':<24} {'params':>11} {'float32':>9} {'bfloat16':>9} {'ratio':>6}")
    for label, row in result["models"].items():
        print(f"{label:<24} {row['params']:>11,} {row['float32_img_per_s']:>9.1f} {row['bfloat16_img_per_s']:>9.1f} "
              f"{row['ratio']:>6.2f}")
