"""Lab T2 — binary classification: an MLP separates moons and circles.

What it shows: neither dataset is linearly separable, yet one hidden ReLU layer bends the decision boundary around
the classes. The plot draws each model's decision regions under the test points.
Target: test accuracy >= 0.95 on both datasets.

Run: python apps/lab2_binary_classification.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings
DATASETS = ("moons", "circles")
HIDDEN = (16, 16)
EPOCHS = 100
QUICK_EPOCHS = 2
LEARNING_RATE = 1e-2


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    results = {}
    for name in DATASETS:
        ## Train one MLP per dataset (sigmoid output, binary cross-entropy: chosen from the task)
        result = experiments.fit("mlp", name, epochs=epochs, lr=LEARNING_RATE, schedule="cosine", hidden=HIDDEN)
        results[name] = result

    ## Look: decision regions under the test points, one panel per dataset
    panels = []
    for name, result in results.items():
        x, y = data.to_numpy(result.splits[2])
        panels.append((result.model, f"{name}: test accuracy {result.test['accuracy']:.3f}", x, y))
    path = os.path.join(args.out, "lab2_boundaries.png")
    viz.decision_boundary(panels, path=path)

    ## Result
    accuracies = {name: r.test["accuracy"] for name, r in results.items()}
    reached = all(a >= 0.95 for a in accuracies.values())
    print("lab2: test accuracy " + ", ".join(f"{n} {a:.3f}" for n, a in accuracies.items())
          + f" (target >= 0.95): {'reached' if reached else 'NOT reached'}; plot: {path}")
    return accuracies


if __name__ == "__main__":
    main()
