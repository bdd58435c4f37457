"""Regularisation side by side: nothing, L2, dropout, batch norm and data augmentation on a small training set.

What it shows: the same wide MLP (two hidden layers of 512) on 2,000 Fashion-MNIST images, five ways. Without
regularisation it memorises the training set (training accuracy near 1) while validation accuracy stalls: the
generalisation gap. An L2 weight penalty, dropout and augmentation (small shifts and flips of the images) each
narrow that gap; batch normalisation mostly speeds training up. The table lists, per variant, the final training
and validation accuracy, the gap between them, and the test accuracy.
Target: every regulariser except batch norm ends with a smaller gap than no regularisation.

Run: python apps/regularization.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import experiments, viz

## Settings: one budget, five variants
BASE = dict(model="mlp", dataset="fashion_mnist", limit=2000, epochs=40, batch_size=64, lr=1e-3, schedule="constant",
            seed=0)
HIDDEN = [512, 512]
VARIANTS = {
    "none": {},
    "L2 5e-4": {"model_options": {"l2": 5e-4}},
    "dropout 0.5": {"model_options": {"dropout": 0.5}},
    "batch norm": {"model_options": {"batch_norm": True}},
    "augmentation": {"augment": "light"},
}
QUICK = dict(limit=300, epochs=2)


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    base = {**BASE, **(QUICK if args.quick else {})}

    ## Train every variant under the same budget; each is a normal run directory
    histories, rows = {}, {}
    for label, change in VARIANTS.items():
        options = {"hidden": HIDDEN, **change.get("model_options", {})}
        config = experiments.RunConfig(**{**base, **change, "model_options": options})
        run_dir = os.path.join(args.out, "regularization", label.replace(" ", "_"))
        metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
        history = viz.read_history(os.path.join(run_dir, "history.csv"))
        histories[label] = history
        train_acc, val_acc = float(history["accuracy"][-1]), float(history["val_accuracy"][-1])
        rows[label] = {"train": train_acc, "val": val_acc, "gap": train_acc - val_acc, "test": metrics["test_accuracy"]}

    ## Look: validation (solid) and training (dashed) curves of every variant
    path = os.path.join(args.out, "regularization.png")
    viz.runs_curves(histories, path,
                    title=f"Regularisers, {HIDDEN} MLP on {base['limit']} Fashion-MNIST images")

    ## Result: the generalisation gap of each
    print("| variant | train acc | val acc | gap | test acc |\n|---|---|---|---|---|")
    for label, row in rows.items():
        print(f"| {label} | {row['train']:.3f} | {row['val']:.3f} | {row['gap']:.3f} | {row['test']:.3f} |")
    reached = all(rows[label]["gap"] < rows["none"]["gap"] for label in ("L2 5e-4", "dropout 0.5", "augmentation"))
    print(f"regularization: {'reached' if reached else 'NOT reached'}; plot: {path}")
    return {f"gap {label}": row["gap"] for label, row in rows.items()}


if __name__ == "__main__":
    main()
