"""`batchnorm`: the library's fused BatchNormalization (models.layers) against keras.layers.BatchNormalization, same model.

Each model is built once per batch-norm layer (the builder's layer class swapped) and their training steps are
timed in alternation after a warm-up, at batch 128. `--precision mixed_bfloat16` builds them under that policy and
adds a third side: the fused kernel fed float32, with casts around it, as Keras's own layer computes under a mixed
policy (is the bfloat16 step slowed by casts around batch norm?).
JSON: {"batch_size": ..., "precision": ..., "models": {NAME: {"fused_img_per_s": ..., "keras_img_per_s": ...,
       "ratio": ..., ["fused_float32_img_per_s": ..., "ratio_fused_float32": ...]}}, "peak_rss_mb": ...,
       "machine": {...}}  (ratio: fused over Keras's; ratio_fused_float32: fused over the fused kernel in float32)
"""

from bench import common, steps

# (label, registry name, builder module, input shape, registry options, steps per timed call)
MODELS = [("cnn4_bn", "cnn4_bn", "cnn", (28, 28, 1), {}, 20), ("resnet20", "resnet20", "resnet", (32, 32, 3), {}, 6),
          ("resnet18 small", "resnet18", "resnet", (32, 32, 3), {"stem": "small"}, 4)]


def _fused_in_float32():
    """The library's fused layer computing in float32 whatever the policy: casts in and out around the kernel."""
    import tensorflow as tf

    from keras_course.models.layers import BatchNormalization

    class FusedInFloat32(BatchNormalization):
        def call(self, inputs, training=None, mask=None):
            outputs = super().call(tf.cast(inputs, "float32"), training=training, mask=mask)
            return tf.cast(outputs, inputs.dtype)

    return FusedInFloat32


def _build_with(layer_class, name, module_name, shape, options, precision):
    """The registry model `name` built under `precision` with `layer_class` as its batch norm (None: the library's)."""
    import importlib

    from keras_course import training

    module = importlib.import_module(f"keras_course.models.{module_name}")
    fused = module.BatchNormalization
    module.BatchNormalization = layer_class or fused
    try:
        with training.dtype_policy(precision):
            return steps.compiled(name, shape, options=options)
    finally:
        module.BatchNormalization = fused


def run(quick=False, batch_size=128, precision="float32"):
    import keras

    common.check_precision("batchnorm", precision)
    common.pin_tensorflow_threads()
    layers = {"fused": None, "keras": keras.layers.BatchNormalization}
    if precision != "float32":
        layers["fused_float32"] = _fused_in_float32()
    result = {"batch_size": batch_size, "precision": precision, "quick": quick, "machine": common.machine(),
              "models": {}}
    for label, name, module_name, shape, options, n_steps in MODELS[:1] if quick else MODELS:
        n_steps = 2 if quick else n_steps
        data = steps.synthetic_batches(shape, 10, batch_size)
        sides = {side: steps.make_fit(_build_with(layer, name, module_name, shape, options, precision), data, n_steps)
                 for side, layer in layers.items()}
        rates = common.alternate(sides, n_steps * batch_size, rounds=1 if quick else 5)
        row = {f"{side}_img_per_s": round(rate, 1) for side, rate in rates.items()}
        row["ratio"] = round(rates["fused"] / rates["keras"], 3)
        if "fused_float32" in rates:
            row["ratio_fused_float32"] = round(rates["fused"] / rates["fused_float32"], 3)
        result["models"][label] = row
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    mixed = result.get("precision", "float32") != "float32"
    print(f"training images/s at batch {result['batch_size']}, {result.get('precision', 'float32')}, alternated")
    print(f"{'model':<15} {'fused':>8} {'keras BN':>9} {'ratio':>7}" + (f" {'fused f32':>10} {'ratio':>7}" if mixed else ""))
    for name, row in result["models"].items():
        line = f"{name:<15} {row['fused_img_per_s']:>8.0f} {row['keras_img_per_s']:>9.0f} {row['ratio']:>7.2f}"
        if mixed:
            line += f" {row['fused_float32_img_per_s']:>10.0f} {row['ratio_fused_float32']:>7.2f}"
        print(line)
