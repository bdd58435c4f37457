"""Optimizers side by side: SGD, momentum, Nesterov, Adagrad, RMSprop, Adam and NAdam, from their update rules.

What it shows: every optimizer of `keras_course.scratch` (numpy, written from the equations and checked against
keras.optimizers in the tests) on two problems. On Rosenbrock's banana-shaped valley, f = (1 - x)^2 + 100 (y - x^2)^2,
plain SGD crawls along the curved floor, momentum overshoots and then follows it, and the adaptive methods take
steps of about the learning rate in every direction. On a small network (2 -> 32 -> 32 -> 3, tanh, hand-written
backprop) learning three interleaved spirals, the loss curves show how fast each gets down.
Target: on the spirals every optimizer lowers the training loss; the adaptive ones (Adam, NAdam, RMSprop) reach a
lower loss than plain SGD in the same epochs.

Run: python apps/optimizers.py [--quick] [--out runs/labs]
"""

import os

import numpy as np

from _common import parse_lab_args
from keras_course import data, scratch, viz

## Settings: learning rates per problem (each optimizer's usual scale)
SURFACE_LR = {"sgd": 1e-3, "momentum": 2e-4, "nesterov": 2e-4, "adagrad": 0.3, "rmsprop": 0.01, "adam": 0.05,
              "nadam": 0.05}
SURFACE_STEPS = 1000
START = (-1.5, 2.0)
NETWORK_LR = {"sgd": 0.1, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.05, "rmsprop": 3e-3, "adam": 3e-3,
              "nadam": 3e-3}
EPOCHS, BATCH_SIZE, HIDDEN = 150, 32, [32, 32]
QUICK = dict(steps=50, epochs=3)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_gradient(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


def surface_path(name, steps):
    """Optimizer `name` from START on Rosenbrock: the (x, y) of every step."""
    point = [np.array(START, dtype="float64")]
    optimizer = scratch.make_optimizer(name, SURFACE_LR[name])
    path = [point[0].copy()]
    for _ in range(steps):
        optimizer.step(point, [rosenbrock_gradient(point[0])])
        path.append(point[0].copy())
    return np.array(path)


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    steps = QUICK["steps"] if args.quick else SURFACE_STEPS
    epochs = QUICK["epochs"] if args.quick else EPOCHS

    ## The valley: every optimizer from the same start
    paths = {f"{name} (lr {SURFACE_LR[name]:g})": surface_path(name, steps) for name in scratch.OPTIMIZERS}
    surface_png = os.path.join(args.out, "optimizers_rosenbrock.png")
    viz.trajectories_plot(rosenbrock, paths, surface_png,
                          xlim=(-2, 2), ylim=(-1, 3), minimum=(1, 1),
                          title=f"Rosenbrock's valley, {steps} steps from {START}")
    distances = {label.split()[0]: float(np.linalg.norm(p[-1] - (1, 1))) for label, p in paths.items()}

    ## The spirals: the same network, the same batches, each optimizer
    train, _, test, info = data.load("spirals", val_fraction=0.1, seed=0)
    (x, y), (x_test, y_test) = data.to_numpy(train), data.to_numpy(test)
    curves, accuracy = {}, {}
    for name in scratch.OPTIMIZERS:
        network = scratch.MLP([x.shape[1], *HIDDEN, info.num_classes], activation="tanh", seed=0)
        curves[f"{name} (lr {NETWORK_LR[name]:g})"] = network.fit(
            x, y, scratch.make_optimizer(name, NETWORK_LR[name]), epochs=epochs, batch_size=BATCH_SIZE, seed=0)
        accuracy[name] = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test.reshape(-1)))
    curves_png = os.path.join(args.out, "optimizers_spirals.png")
    viz.loss_curves_plot(curves, curves_png,
                         title=f"Spirals, {HIDDEN} tanh network, batch {BATCH_SIZE}")

    ## Result
    final = {label.split()[0]: values[-1] for label, values in curves.items()}
    reached = all(values[-1] < values[0] for values in curves.values()) and all(
        final[name] < final["sgd"] for name in ("adam", "nadam", "rmsprop"))
    print("optimizers: final training loss on the spirals " + ", ".join(f"{k} {v:.3f}" for k, v in final.items())
          + "; test accuracy " + ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items())
          + "; distance to Rosenbrock's minimum " + ", ".join(f"{k} {v:.2f}" for k, v in distances.items())
          + f": {'reached' if reached else 'NOT reached'}; plots: {surface_png}, {curves_png}")
    return {**{f"loss_{k}": v for k, v in final.items()}, **{f"distance_{k}": v for k, v in distances.items()}}


if __name__ == "__main__":
    main()
