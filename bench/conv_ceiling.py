"""`conv_ceiling`: how fast could each conv net train if everything but its convolutions cost nothing?

Every convolution of a model runs alone at the model's shapes and batch: its forward pass and its two backward
passes (for the kernel, and for the input except at the first layer, as in a training step). In TensorFlow these
are the oneDNN kernels Keras's Conv2D runs; in PyTorch the ones its Conv2d runs. The sum is a lower bound on one
training step in that framework, which gives two ceilings:
- `pct_ceiling` = training FLOPs per step / TensorFlow's convolution seconds / GEMM FLOP/s: the roofline percentage
  (bench roofline) the model cannot exceed while TensorFlow's convolutions run at this speed;
- `ratio_ceiling` = PyTorch's whole training step / TensorFlow's convolution seconds: the best Keras/PyTorch ratio
  (bench vs_torch) reachable if every other op in Keras took no time at all.
A goal above its ceiling cannot be met with these convolution kernels on this machine.
Batch norm, the next cost, is bound by memory rather than arithmetic: in training it reads a layer's input for the
statistics, reads it again and writes the output to normalise, reads the output gradient and the input for the
two per-channel sums of the backward pass, and reads both again and writes the input gradient: BATCH_NORM_PASSES
passes over the layer's activations (ReLU fused in, nothing else counted). At the machine's measured main-memory
bandwidth (bench roofline's memory_gbs) that takes `bn_floor_ms`, which gives `pct_ceiling_bn` and
`ratio_ceiling_bn`: the ceilings when the convolutions and batch norm at memory speed cost time. It is an estimate,
not a bound: a layer's activations can partly stay in the CPU's last-level cache, as they do when TensorFlow's
batch norms run alone in a loop (`tf_bn_alone_ms`, timed in alternation too); cnn4_bn's ablation below measures
what they cost inside the training step.
Where the rest of cnn4_bn's step goes: the same network without batch norm, without ReLU and without both, timed
in alternation with it.
Kernel and input gradients of independent layers may overlap on TensorFlow's two inter-op threads, which can only
shorten the convolution sum, so the ceilings are if anything too high.
PyTorch sides need the `bench` extra; without it only `pct_ceiling` is measured.
JSON: {"gemm_gflops": ..., "memory_gbs": ..., "batch_size": ..., "models": {NAME: {"keras_step_ms": ...,
       "tf_conv_ms": ..., "conv_share": ..., "pct_of_gemm": ..., "pct_ceiling": ..., "bn_mb": ..., "bn_floor_ms": ...,
       "tf_bn_alone_ms": ..., "pct_ceiling_bn": ..., "torch_step_ms": ..., "torch_conv_ms": ..., "ratio": ...,
       "ratio_ceiling": ..., "ratio_ceiling_bn": ...}}, "cnn4_bn_ablation_ms": {"full": ..., "no_batch_norm": ...,
       "no_relu": ..., "no_batch_norm_no_relu": ...}, "machine": {...}, "peak_rss_mb": ...}
"""

from bench import common, roofline, steps

# (label, registry name, registry options, torch twin or None, input shape (H, W, C), steps per timed call)
MODELS = [
    ("cnn4_bn", "cnn4_bn", {}, "cnn4_bn", (28, 28, 1), 32),
    ("resnet20", "resnet20", {"normalization": "rescale"}, "resnet20", (32, 32, 3), 16),
    ("vgg11_bn small", "vgg11_bn", {"stem": "small"}, None, (32, 32, 3), 8),
    ("resnet18 small", "resnet18", {"stem": "small", "normalization": "rescale"}, "resnet18_small", (32, 32, 3), 8),
]


# forward: statistics (read x), normalise (read x, write y); backward: per-channel sums (read dy, x), input
# gradient (read dy, x, write dx)
BATCH_NORM_PASSES = 8


def batch_norm_layers(model):
    """Every batch-norm layer of `model`, nested models too."""
    import keras

    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def batch_norm_bytes(model, batch_size):
    """Bytes a training step's batch norms move: BATCH_NORM_PASSES passes over every batch-norm layer's
    activations at `batch_size`, in the layer's compute dtype."""
    import keras
    import numpy as np

    return sum(batch_size * int(np.prod(layer.input.shape[1:])) * BATCH_NORM_PASSES
               * np.dtype(keras.backend.standardize_dtype(layer.compute_dtype)).itemsize
               for layer in batch_norm_layers(model))


def graph_loop(items, one_step, steps_per_call):
    """fn() running `one_step(item, total)` for every item, `steps_per_call` times in one tf.function, for the
    kernels it calls to be timed alone. `one_step` returns the tensors it computed and makes its inputs depend on
    `total` (the previous steps' sum), so that nothing can be hoisted out of the loop."""
    import tensorflow as tf

    @tf.function
    def run():
        total = tf.constant(0.0)
        for _ in tf.range(steps_per_call):  # a graph loop: unrolled copies would be merged as common subexpressions
            kept = []
            for item in items:
                # the first element keeps each result alive for the graph without adding work of note
                kept += [tf.reshape(t, [-1])[0] for t in one_step(item, total)]
            total += tf.reduce_sum(tf.stack(kept))  # one sum: chains of adds in a loop trip a grappler rewrite
        return total

    return lambda: run().numpy()


def tf_batch_norms(shapes, batch_size, steps_per_call):
    """fn() running the training-mode forward and backward passes of TensorFlow's fused batch norm (the kernel
    FusedBatchNormalization runs) at each of `shapes`, `steps_per_call` times in one tf.function."""
    import tensorflow as tf

    tensors = [(tf.random.normal((batch_size, *shape)), tf.random.normal((batch_size, *shape)), tf.ones(shape[-1]),
                tf.zeros(shape[-1])) for shape in shapes]

    def one_step(item, total):
        x, dy, gamma, beta = item
        gamma = gamma + 1e-30 * total
        with tf.GradientTape() as tape:
            tape.watch([x, gamma, beta])
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=1e-3, is_training=True)
        return (y, *tape.gradient(y, [x, gamma, beta], output_gradients=dy))

    return graph_loop(tensors, one_step, steps_per_call)


def keras_convolutions(model):
    """(input shape without the batch, kernel shape, strides, padding, first) of every Conv2D, nested models too."""
    import keras

    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer) is keras.layers.Conv2D:
            if layer.dilation_rate != (1, 1) or layer.groups != 1:
                raise ValueError(f"conv_ceiling times plain convolutions; {layer.name} is dilated or grouped")
            found.append((tuple(layer.input.shape[1:]), tuple(layer.kernel.shape), tuple(layer.strides),
                          layer.padding.upper(), not found))
    return found


def tf_convolutions(convolutions, batch_size, steps_per_call):
    """fn() running every convolution's forward and backward passes `steps_per_call` times in one tf.function."""
    import tensorflow as tf

    tensors = []
    for shape, kernel, strides, padding, first in convolutions:
        x = tf.random.normal((batch_size, *shape))
        w = tf.random.normal(kernel) * 0.1
        dy = tf.random.normal(tf.nn.conv2d(x, w, strides, padding).shape)
        tensors.append((x, w, dy, strides, padding, first))

    def one_step(item, total):
        x, w, dy, strides, padding, first = item
        w = w + 1e-30 * total
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = tf.nn.conv2d(x, w, strides, padding)
        return (y, *tape.gradient(y, [w] if first else [w, x], output_gradients=dy))

    return graph_loop(tensors, one_step, steps_per_call)


def torch_convolution_shapes(model, images):
    """(nn.Conv2d, input shape, output shape) of every convolution a forward pass of `images` through `model` runs."""
    import torch

    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((m, i[0].shape, o.shape)))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(images)
    for hook in hooks:
        hook.remove()
    return shapes


def torch_convolutions(model, images, steps_per_call):
    """fn() running the forward and backward passes of every nn.Conv2d of `model`, at the shapes a forward pass of
    `images` gives them, `steps_per_call` times."""
    import torch

    work = []
    for index, (conv, in_shape, out_shape) in enumerate(torch_convolution_shapes(model, images)):
        x = torch.randn(in_shape, requires_grad=index > 0)
        w = torch.randn(conv.weight.shape, requires_grad=True)
        work.append((x, w, torch.randn(out_shape), conv.stride, conv.padding))

    def run():
        for _ in range(steps_per_call):
            for x, w, dy, stride, padding in work:
                x.grad = w.grad = None
                torch.nn.functional.conv2d(x, w, stride=stride, padding=padding).backward(dy)

    return run


def cnn4_variant(batch_norm=True, relu=True):
    """cnn4_bn's layers (28x28x1 in), optionally without its batch norms or ReLUs."""
    import keras

    from keras_course.models.layers import BatchNormalization as FusedBatchNormalization

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for i, filters in enumerate((32, 64, 128, 256), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = FusedBatchNormalization()(x) if batch_norm else x
        x = keras.layers.ReLU()(x) if relu else x
        x = keras.layers.MaxPooling2D(2)(x) if i < 4 else x
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def ablation(batch_size, n_steps, rounds):
    """ms per training step of cnn4_bn and of its variants without batch norm and/or ReLU."""
    from keras_course import training

    variants = {"full": {}, "no_batch_norm": dict(batch_norm=False), "no_relu": dict(relu=False),
                "no_batch_norm_no_relu": dict(batch_norm=False, relu=False)}
    data = steps.synthetic_batches((28, 28, 1), 10, batch_size)
    sides = {}
    for label, options in variants.items():
        model = steps.compiled(cnn4_variant(**options), (28, 28, 1),
                               steps_per_execution=min(training.DEFAULT_STEPS_PER_EXECUTION, n_steps))
        sides[label] = steps.make_fit(model, data, n_steps)
    return {label: round(1000 / rate, 2) for label, rate in common.alternate(sides, n_steps, rounds=rounds).items()}


def run(quick=False, batch_size=128, only=None):
    from keras_course import models, training

    try:
        import torch

        from bench import vs_torch
    except ImportError:
        torch = None
    common.pin_tensorflow_threads()
    if torch is not None:
        vs_torch.pin_torch_threads()
    gemm = roofline.gemm_gflops(n=1024 if quick else 2048)
    bandwidth = roofline.memory_gbs(megabytes=128 if quick else 256)
    result = {"gemm_gflops": round(gemm, 1), "memory_gbs": round(bandwidth, 1), "batch_size": batch_size,
              "quick": quick, "machine": common.machine(), "torch": torch.__version__ if torch is not None else None,
              "models": {}}
    for label, name, options, torch_name, shape, n_steps in MODELS:
        if (only and label not in only and name not in only) or (quick and not only and label != "cnn4_bn"):
            continue
        n_steps = 8 if quick else n_steps
        model = models.build(name, input_shape=shape, num_classes=10, **options)
        steps.compiled(model, shape, optimizer="momentum",
                       steps_per_execution=min(training.DEFAULT_STEPS_PER_EXECUTION, n_steps))
        data = steps.synthetic_batches(shape, 10, batch_size)
        sides = {"keras": steps.make_fit(model, data, n_steps),
                 "tf_conv": tf_convolutions(keras_convolutions(model), batch_size, n_steps),
                 "tf_bn": tf_batch_norms([tuple(layer.input.shape[1:]) for layer in batch_norm_layers(model)],
                                         batch_size, n_steps)}
        if torch is not None and torch_name:
            images, twin, torch_steps = vs_torch.torch_sides(torch_name, data, n_steps)
            sides.update(torch_conv=torch_convolutions(twin, images, n_steps), **torch_steps)
        rates = common.alternate(sides, n_steps, rounds=1 if quick else 3)  # steps per second
        ms = {side: 1000 / rate for side, rate in rates.items()}
        step_gflop = 3 * models.flops_per_image(model) * batch_size / 1e9
        row = {"keras_step_ms": round(ms["keras"], 2), "tf_conv_ms": round(ms["tf_conv"], 2),
               "conv_share": round(ms["tf_conv"] / ms["keras"], 3),
               "pct_of_gemm": round(100 * step_gflop / (ms["keras"] / 1000) / gemm, 1),
               "pct_ceiling": round(100 * step_gflop / (ms["tf_conv"] / 1000) / gemm, 1), "input_shape": list(shape)}
        bn_bytes = batch_norm_bytes(model, batch_size)
        bn_floor = bn_bytes / bandwidth / 1e6  # ms
        row.update({"bn_mb": round(bn_bytes / 1e6, 1), "bn_floor_ms": round(bn_floor, 2),
                    "tf_bn_alone_ms": round(ms["tf_bn"], 2),
                    "pct_ceiling_bn": round(100 * step_gflop / ((ms["tf_conv"] + bn_floor) / 1000) / gemm, 1)})
        if "torch_conv" in ms:
            torch_step = min(ms["torch_nchw"], ms["torch_channels_last"])
            row.update({"torch_step_ms": round(torch_step, 2), "torch_conv_ms": round(ms["torch_conv"], 2),
                        "ratio": round(torch_step / ms["keras"], 3),
                        "ratio_ceiling": round(torch_step / ms["tf_conv"], 3),
                        "ratio_ceiling_bn": round(torch_step / (ms["tf_conv"] + bn_floor), 3)})
        result["models"][label] = row
    if "cnn4_bn" in result["models"]:
        # the median of 3 rounds even when quick: the timing test asserts these figures' order, one round flipped it
        result["cnn4_bn_ablation_ms"] = ablation(batch_size, 8 if quick else 32, rounds=3)
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"batch {result['batch_size']}, GEMM {result['gemm_gflops']:.1f} GFLOP/s; ms per training step; ceilings: "
          "everything but TensorFlow's convolutions free")
    print(f"{'model':<16} {'keras':>8} {'tf conv':>8} {'share':>6} {'% GEMM':>7} {'ceiling':>8} {'torch':>8} "
          f"{'torch conv':>10} {'ratio':>6} {'ceiling':>8}")
    for label, row in result["models"].items():
        torch_part = (f"{row['torch_step_ms']:>8.1f} {row['torch_conv_ms']:>10.1f} {row['ratio']:>6.2f} "
                      f"{row['ratio_ceiling']:>8.2f}" if "ratio" in row else f"{'-':>8} {'-':>10} {'-':>6} {'-':>8}")
        print(f"{label:<16} {row['keras_step_ms']:>8.1f} {row['tf_conv_ms']:>8.1f} {row['conv_share']:>6.0%} "
              f"{row['pct_of_gemm']:>6.1f}% {row['pct_ceiling']:>7.1f}% {torch_part}")
    print(f"\nadding batch norm at memory speed ({BATCH_NORM_PASSES} passes over its activations at "
          f"{result['memory_gbs']:.1f} GB/s)")
    print(f"{'model':<16} {'BN MB':>7} {'BN floor':>8} {'BN alone':>8} {'% GEMM ceiling':>14} {'ratio ceiling':>13}")
    for label, row in result["models"].items():
        ratio = f"{row['ratio_ceiling_bn']:>13.2f}" if "ratio_ceiling_bn" in row else f"{'-':>13}"
        print(f"{label:<16} {row['bn_mb']:>7.1f} {row['bn_floor_ms']:>8.2f} {row['tf_bn_alone_ms']:>8.2f} "
              f"{row['pct_ceiling_bn']:>13.1f}% {ratio}")
    if "cnn4_bn_ablation_ms" in result:
        print("cnn4_bn ms per step: " + ", ".join(f"{k} {v:.1f}" for k, v in result["cnn4_bn_ablation_ms"].items()))
