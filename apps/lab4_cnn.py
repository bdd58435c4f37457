"""Lab T4 — a convolutional network: ResNet-20 on CIFAR-10 when it is on this machine, on Fashion-MNIST otherwise.

What it shows: convolutions share weights across the image, so a 0.27 M-parameter ResNet-20 (He et al. 2015) sees
shapes wherever they are; residual connections let its 20 layers train from the first epoch. The run directory
holds the learning curves, the confusion matrix and the saved model; plots/ shows where the network goes wrong
(the most-confused class pairs, the highest-loss test images) and what it looks at (its first-layer filters and
Grad-CAM heat maps of test images).
Result (Fashion-MNIST, 2-core CPU, full settings): stated in the README's lab table; the run prints its own figure.

Run: python apps/lab4_cnn.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import data, experiments

## Settings
MODEL = "resnet20"
EPOCHS = 3
BATCH_SIZE = 128
LEARNING_RATE = 3e-3  # Adam, cosine schedule: few epochs, so a fast optimizer
AUGMENT = {"cifar10": "standard", "fashion_mnist": "light"}  # pad-and-crop + flip; small shifts + flip
QUICK = dict(epochs=1, limit=1000)


def pick_dataset():
    """CIFAR-10 if keras's cache (or a download) has it, else Fashion-MNIST, which the set-up installs."""
    try:
        data.load("cifar10", limit=10)
        return "cifar10"
    except data.DatasetNotFoundError as missing:
        print(f"lab4: CIFAR-10 unavailable ({str(missing)[:80]}...); using Fashion-MNIST")
        return "fashion_mnist"


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    dataset = "fashion_mnist" if args.quick else pick_dataset()  # a smoke test never downloads CIFAR

    ## Train in a run directory: curves, confusion matrix, model and metrics land there
    settings = dict(model=MODEL, dataset=dataset, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE,
                    schedule="cosine", augment=AUGMENT[dataset])
    config = experiments.RunConfig(**{**settings, **(QUICK if args.quick else {})})
    run_dir = os.path.join(args.out, f"lab4_{MODEL}_{dataset}")
    metrics = experiments.train(config, run_dir, overwrite=True, verbose=0 if args.quick else 1)

    ## Where it goes wrong and what it looks at
    written, _ = experiments.plot_run(run_dir, "pairs,top_losses,filters,gradcam")

    ## Result
    seconds = metrics["train_seconds"]
    print(f"lab4: {MODEL} ({metrics['params']:,} parameters) on {dataset}: test accuracy "
          f"{metrics['test_accuracy']:.4f} after {metrics['epochs_run']} epochs, {seconds:.0f} s of training "
          f"({seconds / metrics['epochs_run']:.0f} s/epoch); run directory: {run_dir}; pictures: "
          f"{os.path.dirname(next(iter(written.values())))}")
    return {"test_accuracy": metrics["test_accuracy"], "train_seconds": float(seconds)}


if __name__ == "__main__":
    main()
