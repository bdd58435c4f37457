"""`batchnorm`: the library's fused BatchNormalization (models.layers) against keras.layers.BatchNormalization, same model.

Each model is built twice, once with the fused layer and once with Keras's (the builder's layer class swapped),
and their training steps are timed in alternation after a warm-up, at batch 128.
JSON: {"batch_size": ..., "models": {NAME: {"fused_img_per_s": ..., "keras_img_per_s": ..., "ratio": ...}},
       "peak_rss_mb": ..., "machine": {...}}
"""

from bench import common, steps

# (registry name, builder module, input shape, steps per timed call)
MODELS = [("cnn4_bn", "cnn", (28, 28, 1), 20), ("resnet20", "resnet", (32, 32, 3), 6)]


def _build_with_keras_batch_norm(name, module_name, shape):
    import importlib

    import keras

    module = importlib.import_module(f"keras_course.models.{module_name}")
    fused = module.BatchNormalization
    module.BatchNormalization = keras.layers.BatchNormalization
    try:
        return steps.compiled(name, shape)
    finally:
        module.BatchNormalization = fused


def run(quick=False, batch_size=128):
    common.pin_tensorflow_threads()
    result = {"batch_size": batch_size, "quick": quick, "machine": common.machine(), "models": {}}
    for name, module_name, shape, n_steps in MODELS[:1] if quick else MODELS:
        n_steps = 2 if quick else n_steps
        data = steps.synthetic_batches(shape, 10, batch_size)
        sides = {"fused": steps.make_fit(steps.compiled(name, shape), data, n_steps),
                 "keras": steps.make_fit(_build_with_keras_batch_norm(name, module_name, shape), data, n_steps)}
        rates = common.alternate(sides, n_steps * batch_size, rounds=1 if quick else 5)
        result["models"][name] = {"fused_img_per_s": round(rates["fused"], 1),
                                  "keras_img_per_s": round(rates["keras"], 1),
                                  "ratio": round(rates["fused"] / rates["keras"], 3)}
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"training images/s at batch {result['batch_size']}, alternated")
    print(f"{'model':<10} {'fused':>8} {'keras BN':>9} {'ratio':>7}")
    for name, row in result["models"].items():
        print(f"{name:<10} {row['fused_img_per_s']:>8.0f} {row['keras_img_per_s']:>9.0f} {row['ratio']:>7.2f}")
