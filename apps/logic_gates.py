"""Logic gates: AND and OR need no hidden layer; XOR cannot be learned without one.

What it shows: a single neuron draws one straight line, which separates AND and OR but never XOR (at best 3 of
the 4 corners are right, 0.75); one hidden layer solves XOR exactly.
Target: AND, OR = 1.00 with no hidden layer; XOR <= 0.75 without and 1.00 with a hidden layer.

Run: python apps/logic_gates.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings
EPOCHS = 60
QUICK_EPOCHS = 2
LEARNING_RATE = 3e-2
CASES = [  # (gate, hidden layers, label)
    ("and", (), "AND, no hidden layer"),
    ("or", (), "OR, no hidden layer"),
    ("xor", (), "XOR, no hidden layer"),
    ("xor", (8,), "XOR, hidden layer of 8 tanh"),
]


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    panels, accuracies = [], {}
    for gate, hidden, label in CASES:
        ## One logistic unit, or a hidden layer first
        result = experiments.fit("mlp", gate, epochs=epochs, lr=LEARNING_RATE, hidden=hidden, activation="tanh")
        accuracies[label] = result.test["accuracy"]
        x, y = data.to_numpy(result.splits[2])
        panels.append((result.model, f"{label}: {result.test['accuracy']:.2f}", x, y))

    ## Look: the four decision regions, each over its own gate's test points
    path = viz.decision_boundary(panels, path=os.path.join(args.out, "logic_gates.png"), resolution=150,
                                 class_names=result.info.class_names)

    ## Result
    reached = (accuracies[CASES[0][2]] == 1.0 and accuracies[CASES[1][2]] == 1.0
               and accuracies[CASES[2][2]] <= 0.75 and accuracies[CASES[3][2]] == 1.0)
    print("logic gates: " + ", ".join(f"{k} {v:.2f}" for k, v in accuracies.items())
          + f": {'reached' if reached else 'NOT reached'}; plot: {path}")
    return accuracies


if __name__ == "__main__":
    main()
