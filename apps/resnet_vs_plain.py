"""Plain deep networks against residual ones: deeper plain networks train worse, deeper ResNets do not.

What it shows: He et al. (2015, Figure 6) trained "plain" CIFAR networks — the ResNet layers without the shortcuts
— and found the 56-layer one reaching a higher *training* error than the 20-layer one: not overfitting, but an
optimisation problem. Adding the identity shortcuts (ResNet-20, ResNet-56) removes it. Here the four networks
(the same layers, same parameters, shortcuts on or off) train under one budget on Fashion-MNIST and their training
loss is compared.
Target: plain-56 ends with a higher training loss than plain-20, and ResNet-56 with a lower one than plain-56.

Run: python apps/resnet_vs_plain.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import experiments, viz

## Settings: one budget for all four
DEPTHS = (20, 56)  # shallow, deep
BUDGET = dict(dataset="fashion_mnist", epochs=4, limit=6000, batch_size=128, optimizer="adam", lr=3e-3,
              schedule="cosine", bn_momentum=0.9, seed=0)
QUICK = dict(epochs=1, limit=200)
QUICK_DEPTHS = (8, 14)  # resnet8, resnet14: the same family, n = 1 and 2 blocks per stage


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    budget = {**BUDGET, **(QUICK if args.quick else {})}
    shallow, deep = QUICK_DEPTHS if args.quick else DEPTHS

    ## Train each depth with and without shortcuts; each is a normal run directory
    runs = {}
    for depth in (shallow, deep):
        for residual in (False, True):
            label = f"{'ResNet' if residual else 'plain'}-{depth}"
            config = experiments.RunConfig(model=f"resnet{depth}", model_options={"residual": residual}, **budget)
            run_dir = os.path.join(args.out, "resnet_vs_plain", label)
            metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
            runs[label] = (viz.read_history(os.path.join(run_dir, "history.csv")), metrics)

    ## Look: training (dashed) and validation curves side by side
    path = os.path.join(args.out, "resnet_vs_plain.png")
    viz.runs_curves({label: history for label, (history, _) in runs.items()},
                    path,
                    title=f"Shortcuts or not, {budget['epochs']} epochs on {budget['limit']} Fashion-MNIST images")

    ## Result: the last epoch's training loss
    loss = {label: float(history["loss"][-1]) for label, (history, _) in runs.items()}
    accuracy = {label: metrics["test_accuracy"] for label, (_, metrics) in runs.items()}
    reached = loss[f"plain-{deep}"] > loss[f"plain-{shallow}"] and loss[f"ResNet-{deep}"] < loss[f"plain-{deep}"]
    print("resnet vs plain: final training loss " + ", ".join(f"{k} {v:.3f}" for k, v in loss.items())
          + "; test accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())
          + f": {'reached' if reached else 'NOT reached'}; plot: {path}")
    return {f"loss {k}": v for k, v in loss.items()}


if __name__ == "__main__":
    main()
