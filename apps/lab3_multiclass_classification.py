"""Lab T3 — multi-class classification: a linear softmax against a one-hidden-layer MLP on three spirals.

What it shows: softmax regression can only cut the plane with straight lines, so it cannot follow spiral arms;
one hidden layer of ReLUs can. Both decision boundaries are drawn side by side.
Target: MLP >= 0.95, linear <= 0.60 test accuracy.

Run: python apps/lab3_multiclass_classification.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings
HIDDEN = (128,)
EPOCHS = 200
QUICK_EPOCHS = 2
LEARNING_RATE = 1e-2


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS

    ## Two models, same data, same training: no hidden layer vs one hidden layer
    linear = experiments.fit("mlp", "spirals", epochs=epochs, lr=LEARNING_RATE, schedule="cosine", hidden=())
    mlp = experiments.fit("mlp", "spirals", epochs=epochs, lr=LEARNING_RATE, schedule="cosine", hidden=HIDDEN)

    ## Look: both decision boundaries over the test points
    x, y = data.to_numpy(mlp.splits[2])
    path = os.path.join(args.out, "lab3_spirals_boundaries.png")
    viz.decision_boundary(
        [(linear.model, f"linear softmax: {linear.test['accuracy']:.3f}"),
         (mlp.model, f"MLP {HIDDEN} ReLU: {mlp.test['accuracy']:.3f}")],
        x, y, path, class_names=mlp.info.class_names)

    ## Result
    a_lin, a_mlp = linear.test["accuracy"], mlp.test["accuracy"]
    reached = a_mlp >= 0.95 and a_lin <= 0.60
    print(f"lab3: spirals test accuracy linear {a_lin:.3f} (target <= 0.60), MLP {a_mlp:.3f} (target >= 0.95): "
          f"{'reached' if reached else 'NOT reached'}; plot: {path}")
    return {"linear": a_lin, "mlp": a_mlp}


if __name__ == "__main__":
    main()
