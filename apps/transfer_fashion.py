"""Transfer learning, measured offline: a ResNet-20 pretrained on Fashion-MNIST classes 0-4 learns classes 5-9.

What it shows: the seeds' claim that "being lazy is good". With only 20 or 100 labelled images per class, the
same network is trained (a) from scratch, (b) as a frozen pretrained backbone with a new head, (c) head first, then
fine-tuned at a low learning rate with BatchNorm frozen. Test accuracy on all 5,000 target test images, mean ± std
over 3 seeds, as a table (study.md) and a bar plot (study.png).
Result (2-core CPU): in the README's transfer table; the run prints its own figures.

The backbone lives in saved_models/ with the command that made it (its manifest.json). To rebuild it:
  keras-course pretrain --model resnet20 --dataset fashion_mnist --classes 0,1,2,3,4 --epochs 8 --lr 0.003 \
      --bn-momentum 0.9 --name fashion_mnist_0-4_resnet20

Run: python apps/transfer_fashion.py [--quick] [--out runs/labs]
"""

import os
import sys

from _common import parse_lab_args
from keras_course import experiments, transfer

## Settings
BACKBONE = "fashion_mnist_0-4_resnet20"
TARGET_CLASSES = [5, 6, 7, 8, 9]  # sandal, shirt, sneaker, bag, ankle boot: never seen by the backbone
LABELS_PER_CLASS = (20, 100)
SEEDS = (0, 1, 2)
EPOCHS = dict(head_epochs=30, fine_tune_epochs=30)  # (a) trains for the sum, as many passes as (c)
RATES = dict(head_lr=1e-2, fine_tune_lr=1e-4, scratch_lr=1e-3)  # a 20-image-per-class head gets 120 steps: 1e-3 is too slow
QUICK = dict(labels_per_class=(5,), seeds=(0,), head_epochs=1, fine_tune_epochs=1)


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    if BACKBONE not in transfer.project_models():
        print(f"transfer_fashion: backbone {BACKBONE!r} is not in saved_models/; rebuild it with the pretrain command "
              "in this file's docstring.", file=sys.stderr)
        return None
    settings = dict(labels_per_class=LABELS_PER_CLASS, seeds=SEEDS, **EPOCHS, **RATES)
    settings.update(QUICK if args.quick else {})

    ## Three ways to learn the target classes, on the same labelled subsets
    out_dir = os.path.join(args.out, "transfer_fashion")
    result = experiments.transfer_study(BACKBONE, target_classes=TARGET_CLASSES, out_dir=out_dir, **settings)

    ## The table the README quotes
    print(experiments.transfer_study_table(result))
    print(f"written: {out_dir}/study.md, study.json, study.png")
    return {f"{method}@{n}": float(by_method[method]["mean"])
            for n, by_method in result["summary"].items() for method in by_method}


if __name__ == "__main__":
    sys.exit(0 if main() else 2)
