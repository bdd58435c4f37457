"""`vs_keras_apps`: our resnet50, vgg16 and densenet121 against their keras.applications twins.

Same input size and batch, same optimizer and loss (both compiled by `training.compile_model`), random weights.
Parameters must be equal; training-step throughput is timed in alternation (ours, theirs, ours, ...) after a
warm-up, so a change in the machine's speed touches both alike. Goal: ours / keras.applications >= 0.98.
JSON: {"input_shape": [...], "batch_size": ..., "models": {NAME: {"params": ..., "keras_params": ...,
       "img_per_s": ..., "keras_img_per_s": ..., "ratio": ...}}, "peak_rss_mb": ..., "machine": {...}}
"""

from bench import common, steps

PAIRS = [("resnet50", "ResNet50"), ("vgg16", "VGG16"), ("densenet121", "DenseNet121")]
GOAL_RATIO = 0.98


def run(quick=False, size=96, batch_size=16):
    import keras

    common.pin_tensorflow_threads()
    shape = (64, 64, 3) if quick else (size, size, 3)
    n_steps = 1 if quick else 8
    result = {"input_shape": list(shape), "batch_size": batch_size, "goal_ratio": GOAL_RATIO, "quick": quick,
              "machine": common.machine(), "models": {}}
    pairs = PAIRS[1:2] if quick else PAIRS  # quick: vgg16, the pair with the fewest layers to trace
    for ours_name, keras_name in pairs:
        ours = steps.compiled(ours_name, shape)
        theirs = steps.compiled(getattr(keras.applications, keras_name)(weights=None, input_shape=shape, classes=10),
                                shape)
        data = steps.synthetic_batches(shape, 10, batch_size)
        rates = common.alternate({"ours": steps.make_fit(ours, data, n_steps),
                                  "keras": steps.make_fit(theirs, data, n_steps)},
                                 n_steps * batch_size, rounds=1 if quick else 3)
        result["models"][ours_name] = {"params": ours.count_params(), "keras_params": theirs.count_params(),
                                       "img_per_s": round(rates["ours"], 2), "keras_img_per_s": round(rates["keras"], 2),
                                       "ratio": round(rates["ours"] / rates["keras"], 3)}
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"input {tuple(result['input_shape'])}, batch {result['batch_size']}; goal: ratio >= {result['goal_ratio']}")
    print(f"{'model':<12} {'params (ours / keras)':>25} {'img/s ours':>11} {'keras':>8} {'ratio':>7}")
    for name, row in result["models"].items():
        print(f"{name:<12} {row['params']:>12,} / {row['keras_params']:<11,} {row['img_per_s']:>11.1f} "
              f"{row['keras_img_per_s']:>8.1f} {row['ratio']:>7.3f}")
