"""`vs_torch`: our Keras models against the same networks written in PyTorch (eager, the CPU wheel of torch 2.13).

Same layers and parameter count (bench/torch_nets.py), same batch, same optimizer (SGD, lr 0.01, momentum 0.9),
cross-entropy loss, the same thread count for both (TensorFlow's intra-op pool and torch.set_num_threads). Keras
trains through `model.fit` compiled the library's way (`training.compile_model` defaults: XLA off on CPU,
DEFAULT_STEPS_PER_EXECUTION steps per call); PyTorch runs the loop its users write (zero_grad, forward, loss,
backward, step) on one fixed batch, in its default NCHW layout and, separately, channels_last. Both sides are warmed up, then timed in
alternation; the ratio is Keras over the faster PyTorch layout. Goal: ratio >= 1.2 for every model.
`--precision mixed_bfloat16`: Keras under that policy against PyTorch under torch.autocast("cpu", bfloat16).
Needs the `bench` extra (pip install -e ".[bench]").
JSON: {"batch_size": ..., "models": {NAME: {"params": ..., "torch_params": ..., "keras_img_per_s": ...,
       "torch_img_per_s": ..., "torch_nchw_img_per_s": ..., "torch_channels_last_img_per_s": ..., "ratio": ...}},
       "torch": VERSION, "peak_rss_mb": ..., "machine": {...}}
"""

import numpy as np

from bench import common, steps

# (name, registry name, registry options, torch builder, input shape (H, W, C), steps per timed call)
MODELS = [
    ("lenet5", "lenet5", {}, "lenet5", (28, 28, 1), 96),
    ("cnn4_bn", "cnn4_bn", {}, "cnn4_bn", (28, 28, 1), 32),
    ("resnet20", "resnet20", {"normalization": "rescale"}, "resnet20", (32, 32, 3), 16),
    ("resnet18 small", "resnet18", {"stem": "small", "normalization": "rescale"}, "resnet18_small", (32, 32, 3), 8),
]
GOAL_RATIO = 1.2
LR, MOMENTUM = 0.01, 0.9


def pin_torch_threads():
    import torch

    n = common.threads()
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(min(n, 2))
    except RuntimeError:  # already set in this process
        pass
    return n


def torch_trainer(model, images, labels, steps_per_call, *, channels_last=False, bfloat16=False):
    """fn() running `steps_per_call` PyTorch training steps on one fixed batch of NCHW float images."""
    import contextlib

    import torch

    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train():
        for _ in range(steps_per_call):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16) if bfloat16 else contextlib.nullcontext():
                loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
        return loss.item()

    return train


def torch_sides(torch_name, data, steps_per_call, *, bfloat16=False):
    """(NCHW images, the NCHW twin, {"torch_nchw": fn, "torch_channels_last": fn}) for one synthetic batch of
    `data`: the PyTorch twin `torch_name` trained in each layout, each side with its own freshly seeded twin."""
    import torch

    from bench import torch_nets

    x, y = next(iter(data))
    images = torch.from_numpy(np.ascontiguousarray(np.transpose(x.numpy(), (0, 3, 1, 2))))
    labels = torch.from_numpy(y.numpy().astype(np.int64))
    torch.manual_seed(0)
    twin = getattr(torch_nets, torch_name)(in_channels=images.shape[1])
    channels_last = getattr(torch_nets, torch_name)(in_channels=images.shape[1])
    return images, twin, {
        "torch_nchw": torch_trainer(twin, images, labels, steps_per_call, bfloat16=bfloat16),
        "torch_channels_last": torch_trainer(channels_last, images, labels, steps_per_call, channels_last=True,
                                             bfloat16=bfloat16)}


def run(quick=False, batch_size=128, only=None, precision="float32"):
    try:
        import torch
    except ImportError as error:
        raise SystemExit('vs_torch needs PyTorch: pip install -e ".[bench]" (torch==2.13.0, the CPU build)') from error
    from bench import torch_nets
    from keras_course import models, training

    common.check_precision("vs_torch", precision)
    bfloat16 = precision == "mixed_bfloat16"

    common.pin_tensorflow_threads()
    pin_torch_threads()
    result = {"batch_size": batch_size, "precision": precision, "goal_ratio": GOAL_RATIO, "quick": quick,
              "torch": torch.__version__,
              "machine": common.machine(), "models": {}}
    for label, name, options, torch_name, shape, n_steps in MODELS:
        if only and label not in only and name not in only:
            continue
        if quick and label != "cnn4_bn" and not only:
            continue
        n_steps = 8 if quick else n_steps
        with training.dtype_policy(precision):
            ours = models.build(name, input_shape=shape, num_classes=10, **options)
        # lr 0.01, momentum 0.9; the big nets time fewer steps than the default per call (it hardly matters there)
        steps.compiled(ours, shape, optimizer="momentum",
                       steps_per_execution=min(training.DEFAULT_STEPS_PER_EXECUTION, n_steps))
        data = steps.synthetic_batches(shape, 10, batch_size)
        _, theirs, sides = torch_sides(torch_name, data, n_steps, bfloat16=bfloat16)
        sides = {"keras": steps.make_fit(ours, data, n_steps), **sides}
        rates = common.alternate(sides, n_steps * batch_size, rounds=1 if quick else 3)
        best_torch = max(rates["torch_nchw"], rates["torch_channels_last"])
        result["models"][label] = {
            "params": int(sum(np.prod(w.shape) for w in ours.trainable_weights)),
            "torch_params": torch_nets.count_params(theirs),
            "input_shape": list(shape),
            "keras_img_per_s": round(rates["keras"], 1),
            "torch_img_per_s": round(best_torch, 1),
            "torch_nchw_img_per_s": round(rates["torch_nchw"], 1),
            "torch_channels_last_img_per_s": round(rates["torch_channels_last"], 1),
            "ratio": round(rates["keras"] / best_torch, 3),
        }
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"training images/s at batch {result['batch_size']}, {result['precision']}, torch {result['torch']}; "
          f"goal: keras / torch >= {result['goal_ratio']}")
    print(f"{'model':<16} {'params':>11} {'keras':>9} {'torch NCHW':>11} {'torch NHWC':>11} {'ratio':>7}")
    for label, row in result["models"].items():
        print(f"{label:<16} {row['params']:>11,} {row['keras_img_per_s']:>9.1f} {row['torch_nchw_img_per_s']:>11.1f} "
              f"{row['torch_channels_last_img_per_s']:>11.1f} {row['ratio']:>7.2f}")
