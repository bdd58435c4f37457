"""X or O: a convolutional network whose filters are set by hand, then the same network learned from data.

What it shows: the workshop's three +-1 filters — a "\\" diagonal, a "/" diagonal and a small "x" — slid over the
image (convolution), negatives dropped (ReLU), the strongest response kept in each 2x2 block (max-pooling), and
a dense layer that weighs the pooled responses into a vote. With the filters fixed by hand only the vote is learned,
and it already tells X from O on shifted, rescaled, thicker or thinner, noisy letters: the X lights up the two
diagonal detectors along its strokes, the O only in its four corners. The same network with its filters learned
from a random start gets there too; its learned filters are drawn next to the hand-set ones.
Target: test accuracy >= 0.95 with the hand-set filters and with learned ones.

Run: python apps/x_vs_o.py [--quick] [--out runs/labs]
"""

import os

import numpy as np

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings: the deck's filters
HAND_FILTERS = {
    "\\ diagonal": [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
    "/ diagonal": [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]],
    "x centre": [[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
}
PIXELS = "rescale"  # background 0, ink 1: the background then answers no filter (with -1 it answers every one with 3)
EPOCHS, LEARNING_RATE = 15, 1e-2
QUICK_EPOCHS = 1


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS

    ## The hand-set network: only the dense vote learns
    hand = experiments.fit("simple_cnn", "x_vs_o", epochs=epochs, lr=LEARNING_RATE, kernels=list(HAND_FILTERS.values()),
                           train_kernels=False, normalization=PIXELS)
    ## The same network, filters learned from a random start
    learned = experiments.fit("simple_cnn", "x_vs_o", epochs=epochs, lr=LEARNING_RATE, filters=len(HAND_FILTERS),
                              normalization=PIXELS)

    ## Look: an X and an O, what each hand-set filter sees in them (after ReLU), and the learned filters
    x, y = data.to_numpy(hand.splits[2])
    images, titles = [], []
    for label, letter in enumerate(hand.info.class_names):
        image = x[np.flatnonzero(y == label)[0]]
        maps, _ = viz.feature_maps(hand.model, image, "conv_relu")
        images += [image[..., 0]] + [maps[..., k] for k in range(len(HAND_FILTERS))]
        titles += [f"an {letter}"] + [f"{name} on the {letter}" for name in HAND_FILTERS]
    learned_kernels = np.asarray(learned.model.get_layer("conv").kernel)[:, :, 0, :]
    images += [np.asarray(k, "float32") for k in HAND_FILTERS.values()] + [learned_kernels[..., k] for k in range(3)]
    titles += [f"hand-set {name}" for name in HAND_FILTERS] + [f"learned filter {k + 1}" for k in range(3)]
    path = os.path.join(args.out, "x_vs_o.png")
    viz.image_grid(images[:8] + images[8:11] + [np.zeros((3, 3))] + images[11:], titles[:8] + titles[8:11]
                   + [""] + titles[11:], path, cols=4, size=2.6,
                   signed=tuple(range(8, 16)), title="X or O: hand-set filters (top), learned filters (bottom)")

    ## Result
    scores = {"hand-set filters": hand.test["accuracy"], "learned filters": learned.test["accuracy"]}
    reached = min(scores.values()) >= 0.95
    print("x vs o: test accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
          + f": {'reached' if reached else 'NOT reached'}; plot: {path}")
    return scores


if __name__ == "__main__":
    main()
