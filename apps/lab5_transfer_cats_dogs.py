"""Lab T5 — transfer learning: an ImageNet ResNet50 learns cats vs dogs, head first, then fine-tuned.

What it shows: a backbone trained on ImageNet already knows fur, eyes and ears; a new 1-unit head on its frozen
features learns the task in a few epochs, and fine-tuning the backbone at a 100x lower learning rate (BatchNorm
kept in inference mode) adds the last points. Reference: the keras-io guide "Transfer learning & fine-tuning"
reports about 97% validation accuracy after training the head and about 98% after fine-tuning.
Needs tensorflow-datasets' cats_vs_dogs prepared (`keras-course datasets --prepare cats_vs_dogs`, online) and the
ResNet50 ImageNet weights in the Keras cache (downloaded on first use when online). Without them it says so and
points to the offline experiment, apps/transfer_fashion.py.

Run: python apps/lab5_transfer_cats_dogs.py [--quick] [--out runs/labs] [--weights PATH] [--data-dir DIR]
"""

import os
import sys

from _common import parse_lab_args
from keras_course import data, experiments

## Settings
BACKBONE = "ResNet50"
IMAGE_SIZE = 160
HEAD = dict(epochs=5, lr=1e-3)
FINE_TUNE = dict(fine_tune_epochs=5, fine_tune_lr=1e-5)
QUICK = dict(image_size=64, limit=24, epochs=1, fine_tune_epochs=1, batch_size=8)


def main(argv=None):
    args = parse_lab_args(__doc__, argv, extra=[
        (("--weights",), dict(default="imagenet", help="imagenet (Keras cache) or a ResNet50 no-top weights file")),
        (("--data-dir",), dict(default=None, help="tensorflow-datasets folder holding a prepared cats_vs_dogs")),
    ])
    quick = QUICK if args.quick else {}
    size = quick.get("image_size", IMAGE_SIZE)
    config = experiments.RunConfig(
        model=BACKBONE, dataset="cats_vs_dogs", epochs=quick.get("epochs", HEAD["epochs"]), lr=HEAD["lr"],
        schedule="constant", batch_size=quick.get("batch_size", 32), augment="light", limit=quick.get("limit"),
        image_size=[size, size], data_dir=args.data_dir, val_fraction=0.2,
        transfer=dict(weights=args.weights, fine_tune_epochs=quick.get("fine_tune_epochs", FINE_TUNE["fine_tune_epochs"]),
                      fine_tune_lr=FINE_TUNE["fine_tune_lr"]),
    )

    ## Head on the frozen backbone, then fine-tuning; everything lands in a run directory
    run_dir = os.path.join(args.out, "lab5_transfer_cats_dogs")
    try:
        metrics = experiments.train(config, run_dir, overwrite=True, verbose=0 if args.quick else 2)
    except (data.DatasetNotFoundError, ValueError) as missing:
        print(f"lab5: {missing} Offline, run the transfer experiment instead: python apps/transfer_fashion.py",
              file=sys.stderr)
        return None
    print(f"lab5: {BACKBONE} on cats_vs_dogs at {size} px: test accuracy {metrics['test_accuracy']:.4f} after "
          f"{metrics['epochs_run']} epochs ({metrics['train_seconds']:.0f} s); reference (keras-io) about 0.97 after "
          f"the head, 0.98 after fine-tuning; run directory: {run_dir}")
    return {"test_accuracy": metrics["test_accuracy"], "train_seconds": metrics["train_seconds"]}


if __name__ == "__main__":
    sys.exit(0 if main() else 2)
