"""Initialisation and activations: why a 20-layer sigmoid network does not learn and ReLU with He weights does.

What it shows: 20 hidden layers of 64 units, untrained, one batch of Fashion-MNIST. For each activation (sigmoid,
tanh, ReLU) under Glorot and He initialisation, the spread of every layer's activations going forward and of the
loss gradient on every layer's weights going backward. Sigmoid's derivative is at most 1/4, so the gradient shrinks
by a constant factor per layer: the first layers' gradients are many orders of magnitude smaller than the last's
(vanishing gradients). ReLU with Glorot weights halves the signal's variance per layer (it drops the negative
half), so the activations die out; He initialisation doubles the weights' variance to compensate and keeps both
the activations and the gradients steady across depth (He et al. 2015).
Target: first/last hidden layer gradient ratio below 1e-3 for sigmoid + Glorot, between 0.1 and 10 for ReLU + He.

Run: python apps/init_and_activations.py [--quick] [--out runs/labs]
"""

import os

from _common import parse_lab_args
from keras_course import data, models, training, viz

## Settings
DEPTH, WIDTH, BATCH = 20, 64, 256
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITIALIZERS = ("glorot_normal", "he_normal")
QUICK = dict(depth=6, batch=32)


def gradient_ratio(rows):
    """Gradient spread of the first hidden layer over the last hidden layer's (the classifier excluded)."""
    return rows[0]["gradient_std"] / rows[-2]["gradient_std"]


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    depth, batch = (QUICK["depth"], QUICK["batch"]) if args.quick else (DEPTH, BATCH)
    train, _, _, info = data.load("fashion_mnist", limit=batch)
    x, y = data.to_numpy(train)

    ## Each activation under each initialisation: one untrained network, one batch
    statistics = {}
    for activation in ACTIVATIONS:
        for initializer in INITIALIZERS:
            training.set_seed(0)
            model = models.build("mlp", input_shape=info.input_shape, num_classes=info.num_classes,
                                 hidden=[WIDTH] * depth, activation=activation, initializer=initializer,
                                 normalization="rescale")
            training.compile_model(model, task="multiclass")
            statistics[f"{activation}, {initializer.split('_')[0]}"] = training.layer_statistics(model, x, y)

    ## Look
    path = os.path.join(args.out, "init_and_activations.png")
    viz.layer_statistics_plot(statistics, path,
                              title=f"{depth} hidden layers of {WIDTH}, untrained, one batch of {batch} "
                                    "Fashion-MNIST images")

    ## Result: how much smaller the first layer's gradients are than the last hidden layer's
    ratios = {label: gradient_ratio(rows) for label, rows in statistics.items()}
    reached = ratios["sigmoid, glorot"] < 1e-3 and 0.1 <= ratios["relu, he"] <= 10
    print("init and activations: first/last hidden layer gradient std "
          + ", ".join(f"{label} {ratio:.1e}" for label, ratio in ratios.items())
          + f": {'reached' if reached else 'NOT reached'}; plot: {path}")
    return {f"ratio {label}": float(ratio) for label, ratio in ratios.items()}


if __name__ == "__main__":
    main()
