"""`zoo`: the model-zoo table: six architectures trained on Fashion-MNIST under one budget (same data, epochs,
optimizer, schedule, augmentation, seed). The default budget (one epoch of the whole training split) takes about an
hour on 2 CPU cores; `--epochs N` gives a longer one where a GPU is at hand, `--limit N` a subset.

JSON: {"budget": {...}, "cpu_count": ..., "models": {LABEL: {"model": ..., "options": ..., "params": ...,
       "test_accuracy": ..., "seconds_per_epoch": ..., "full_epoch_seconds": ..., "reference": ...}}}
"""

import os
import tempfile


# (label, registry name, options, Fashion-MNIST benchmark accuracy of the closest reference architecture)
ZOO = [
    ("lenet5_bn", "lenet5_bn", {}, None),
    ("vgg11_bn small", "vgg11_bn", {"stem": "small"}, ("VGG16", 0.935)),
    ("resnet20", "resnet20", {}, ("ResNet18", 0.949)),
    ("preact_resnet18 small", "preact_resnet18", {"stem": "small"}, ("ResNet18", 0.949)),
    ("densenet_bc_100", "densenet_bc_100", {}, ("DenseNet-BC 768K", 0.954)),
    ("googlenet small", "googlenet", {"stem": "small"}, ("GoogLeNet", 0.937)),
]
# One epoch of the full training split: what 2 CPU cores afford for all six in about an hour. BatchNorm momentum
# 0.9: with Keras's 0.99 the moving statistics lag a 1-epoch run (resnet20: 0.44 test accuracy instead of 0.90).
ZOO_BUDGET = dict(dataset="fashion_mnist", epochs=1, limit=None, val_fraction=0.1, batch_size=128, optimizer="adam",
                  lr=2e-3, schedule="cosine", augment="none", seed=0, bn_momentum=0.9)
FASHION_MNIST_TRAIN = 60000


def run(quick=False, epochs=None, limit=None, only=None, progress=None):
    import numpy as np

    from keras_course import experiments, viz

    budget = dict(ZOO_BUDGET, **({"limit": 600} if quick else {}))
    if epochs is not None:
        budget["epochs"] = epochs
    if limit is not None:
        budget["limit"] = limit or None  # 0: the whole training set
    known = {row[0] for row in ZOO} | {row[1] for row in ZOO}
    if only is not None and set(only) - known:
        raise SystemExit(f"zoo: unknown models {sorted(set(only) - known)}; choose from {', '.join(row[1] for row in ZOO)}")
    rows = [row for row in ZOO if only is None or row[1] in only or row[0] in only]
    result = {"budget": budget, "cpu_count": os.cpu_count(), "quick": quick, "models": {}}
    with tempfile.TemporaryDirectory() as runs:
        for label, name, options, reference in rows:
            config = experiments.RunConfig(model=name, model_options=options, **budget)
            metrics = experiments.train(config, os.path.join(runs, name), verbose=0)
            train_images = metrics["dataset"]["sizes"]["train"]
            seconds = viz.read_history(os.path.join(runs, name, "history.csv"))["epoch_seconds"]
            # the first epoch also traces the graph; later ones, when there are any, give the steady rate
            per_epoch = float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))
            result["models"][label] = {
                "model": name, "options": options, "params": metrics["params"],
                "test_accuracy": metrics["test_accuracy"], "seconds_per_epoch": per_epoch,
                "train_images": train_images,
                # what an epoch over the full 54,000-image training split (10% held out) would take at this rate
                "full_epoch_seconds": per_epoch * FASHION_MNIST_TRAIN * (1 - budget["val_fraction"]) / train_images,
                "reference": None if reference is None else {"model": reference[0], "test_accuracy": reference[1]},
            }
            if progress:
                progress(result)
    return result


def show(result):
    print(f"budget: {result['budget']}")
    print(f"{'model':<22} {'params':>11} {'test acc':>8} {'s/epoch':>8} {'s/full epoch':>12}  reference")
    for label, row in result["models"].items():
        ref = f"{row['reference']['model']} {row['reference']['test_accuracy']:.3f}" if row["reference"] else "-"
        print(f"{label:<22} {row['params']:>11,} {row['test_accuracy']:>8.4f} {row['seconds_per_epoch']:>8.1f} "
              f"{row['full_epoch_seconds']:>12.0f}  {ref}")
