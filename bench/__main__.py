"""`python -m bench NAME [--quick] [--json OUT]`.

Benchmarks:
  demo   the README's demo: Fashion-MNIST test accuracy and seconds of training of the default classifier.
         JSON: {"model": ..., "test_accuracy": ..., "train_seconds": ..., "epochs": ..., "seconds_per_epoch": ...,
                "params": ..., "cpu_count": ...}
  zoo    the model-zoo table: six architectures trained on Fashion-MNIST under one budget (same data, epochs,
         optimizer, schedule, augmentation, seed). The default budget (one epoch of the whole training split) takes
         about an hour on 2 CPU cores; `--epochs N` gives a longer one where a GPU is at hand, `--limit N` a subset.
         JSON: {"budget": {...}, "cpu_count": ..., "models": {LABEL: {"model": ..., "options": ..., "params": ...,
                "test_accuracy": ..., "seconds_per_epoch": ..., "full_epoch_seconds": ..., "reference": ...}}}
"""

import argparse
import json
import os
import sys
import tempfile


def demo(quick):
    from keras_course import experiments
    from keras_course.cli.main import DEMO

    config = experiments.RunConfig(**{**DEMO, **({"epochs": 1, "limit": 5000} if quick else {})})
    with tempfile.TemporaryDirectory() as run_dir:
        metrics = experiments.train(config, os.path.join(run_dir, "run"), verbose=0)
    return {"model": config.model, "options": config.model_options, "test_accuracy": metrics["test_accuracy"],
            "train_seconds": metrics["train_seconds"], "epochs": metrics["epochs_run"],
            "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"], "params": metrics["params"],
            "cpu_count": os.cpu_count(), "quick": quick}


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


def zoo(quick, epochs=None, limit=None, only=None, progress=None):
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


def _print_zoo(result):
    print(f"budget: {result['budget']}")
    print(f"{'model':<22} {'params':>11} {'test acc':>8} {'s/epoch':>8} {'s/full epoch':>12}  reference")
    for label, row in result["models"].items():
        ref = f"{row['reference']['model']} {row['reference']['test_accuracy']:.3f}" if row["reference"] else "-"
        print(f"{label:<22} {row['params']:>11,} {row['test_accuracy']:>8.4f} {row['seconds_per_epoch']:>8.1f} "
              f"{row['full_epoch_seconds']:>12.0f}  {ref}")


BENCHMARKS = {"demo": demo, "zoo": zoo}
PRINTERS = {"zoo": _print_zoo}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the benchmark runs")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON (rewritten after each model)")
    parser.add_argument("--epochs", type=int, help="zoo: epochs per model (default: the budget in ZOO_BUDGET)")
    parser.add_argument("--limit", type=int, help="zoo: examples drawn from the training set; 0 for all of it")
    parser.add_argument("--models", help="zoo: comma-separated registry names or labels to run (default: all six)")
    args = parser.parse_args(argv)

    def write(result):
        if args.json:
            with open(args.json + ".tmp", "w") as f:
                json.dump(result, f, indent=2)
            os.replace(args.json + ".tmp", args.json)

    if args.name == "zoo":
        result = zoo(args.quick, epochs=args.epochs, limit=args.limit, progress=write,
                     only=None if args.models is None else [m.strip() for m in args.models.split(",")])
    else:
        result = BENCHMARKS[args.name](args.quick)
    PRINTERS.get(args.name, _print_flat)(result)
    write(result)
    return 0


def _print_flat(result):
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
