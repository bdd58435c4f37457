# %% [markdown]
# # Optimizers side by side: SGD, momentum, Nesterov, Adagrad, RMSprop, Adam and NAdam
#
# Every optimizer of deep learning answers the same question: given the gradient at the current weights, how far
# to move, and in which direction? Plain stochastic gradient descent (SGD) moves by the gradient times a fixed
# learning rate. The others add one of two ideas:
#
# - **Momentum** (and Nesterov's variant) keeps a running sum of past gradients, like a ball rolling downhill: it
#   speeds up along directions where the gradients agree and damps the zig-zag where they alternate.
# - **Adaptive step sizes** (Adagrad, RMSprop, Adam, NAdam) divide each weight's step by a running measure of
#   that weight's gradient size, so a weight with tiny gradients still moves and one with huge gradients does not
#   jump. Adam and NAdam combine this with momentum.
#
# This lab runs the seven update rules of `keras_course.scratch` — numpy, written from the equations and checked
# against `keras.optimizers` in the tests — on two problems. The first is Rosenbrock's banana-shaped valley,
# f(x, y) = (1 − x)² + 100 (y − x²)², whose curved, nearly flat floor leads to the minimum at (1, 1): a classic
# trap for gradient descent. The second is a small network learning three interleaved spirals, with backprop
# written by hand.
#
# The claim tested: on the spirals every optimizer lowers the training loss, and the adaptive ones (Adam, NAdam,
# RMSprop) reach a lower loss than plain SGD in the same number of epochs.

# %% [markdown]
# The next cell installs the `keras_course` package when this notebook's kernel lacks it, from the clone of the
# repository the notebook sits in (`apps/notebooks/`). Elsewhere, Colab for instance, clone the repository first
# and open the notebook from its `apps/notebooks/` folder.

# %% active="ipynb"
# import importlib.util
#
# if importlib.util.find_spec("keras_course") is None:
#     %pip install -q -e ../..

# %% [markdown]
# ## Settings
#
# Each optimizer gets a learning rate on its own usual scale: comparing them all at one learning rate would only
# show which one that rate happens to suit. Momentum methods take smaller rates than SGD because their steps
# accumulate; adaptive methods take rates that are roughly the size of the step they will make.

# %% tags=["parameters"]
QUICK = False  # True: 50 steps on the valley and 3 epochs on the spirals, a smoke test
OUT = "runs/labs"  # folder the figures are written to
SURFACE_LR = {"sgd": 1e-3, "momentum": 2e-4, "nesterov": 2e-4, "adagrad": 0.3, "rmsprop": 0.01, "adam": 0.05,
              "nadam": 0.05}
SURFACE_STEPS = 1000  # updates on Rosenbrock's valley
START = (-1.5, 2.0)  # every optimizer starts here; the minimum is (1, 1)
NETWORK_LR = {"sgd": 0.1, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.05, "rmsprop": 3e-3, "adam": 3e-3,
              "nadam": 3e-3}
EPOCHS = 150  # passes over the spirals' training points
BATCH_SIZE = 32
HIDDEN = [32, 32]  # tanh units of the spirals network
QUICK_STEPS, QUICK_EPOCHS = 50, 3

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Optimizers side by side", QUICK, OUT)

# %% [markdown]
# ## The valley
#
# Each optimizer starts at the same point and takes the same number of steps; we record every point it visits.
# The gradient of Rosenbrock's function is written out by hand, and `scratch.make_optimizer(name, lr)` gives an
# object whose `step(parameters, gradients)` updates the parameters in place, as a Keras optimizer would.

# %%
import os

import numpy as np

from keras_course import data, labs, scratch, viz


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_gradient(point):
    x, y = point
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


def surface_path(name, steps):
    """Optimizer `name` from START on Rosenbrock's valley: the (x, y) after every step."""
    point = [np.array(START, dtype="float64")]
    optimizer = scratch.make_optimizer(name, SURFACE_LR[name])
    path = [point[0].copy()]
    for _ in range(steps):
        optimizer.step(point, [rosenbrock_gradient(point[0])])
        path.append(point[0].copy())
    return np.array(path)


steps = QUICK_STEPS if QUICK else SURFACE_STEPS
paths = {f"{name} (lr {SURFACE_LR[name]:g})": surface_path(name, steps) for name in scratch.OPTIMIZERS}
distances = {label.split()[0]: float(np.linalg.norm(path[-1] - (1, 1))) for label, path in paths.items()}
surface_png = os.path.join(OUT, "optimizers_rosenbrock.png")
figure = viz.trajectories_plot(rosenbrock, paths, surface_png, xlim=(-2, 2), ylim=(-1, 3), minimum=(1, 1),
                               title=f"Rosenbrock's valley, {steps} steps from {START}")
figure

# %% [markdown]
# Follow each path from the start at the top left. SGD falls quickly into the valley and then crawls: on the
# floor the gradient is tiny, and so is its step. Momentum and Nesterov overshoot across the valley first, then
# gather speed along its floor. The adaptive methods move by about their learning rate in every direction
# whatever the gradient's size, so they travel along the flat floor at a steady pace. The distances to the
# minimum after the last step are printed in the result below.
#
# ## The spirals
#
# Now a real (small) network: 2 inputs, two tanh layers of 32, 3 outputs, the same initial weights and the same
# batches for every optimizer (`seed=0`), so only the update rule differs. `scratch.MLP.fit` returns the
# training loss after every epoch.

# %%
train, _, test, info = data.load("spirals", val_fraction=0.1, seed=0)
(x, y), (x_test, y_test) = data.to_numpy(train), data.to_numpy(test)
epochs = QUICK_EPOCHS if QUICK else EPOCHS
curves, accuracy = {}, {}
for name in scratch.OPTIMIZERS:
    network = scratch.MLP([x.shape[1], *HIDDEN, info.num_classes], activation="tanh", seed=0)
    curves[f"{name} (lr {NETWORK_LR[name]:g})"] = network.fit(
        x, y, scratch.make_optimizer(name, NETWORK_LR[name]), epochs=epochs, batch_size=BATCH_SIZE, seed=0)
    accuracy[name] = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test.reshape(-1)))
curves_png = os.path.join(OUT, "optimizers_spirals.png")
figure = viz.loss_curves_plot(curves, curves_png, title=f"Spirals, {HIDDEN} tanh network, batch {BATCH_SIZE}")
figure

# %% [markdown]
# The vertical axis is logarithmic, so equal gaps mean equal *ratios* of loss. SGD's curve flattens first;
# RMSprop, Adam and NAdam keep going down. Adagrad starts fast but slows down for good, because it divides by the
# sum of *all* past squared gradients, which only grows: RMSprop's fix was to forget old gradients.
#
# ## Result

# %%
final = {label.split()[0]: values[-1] for label, values in curves.items()}
reached = all(values[-1] < values[0] for values in curves.values()) and all(
    final[name] < final["sgd"] for name in ("adam", "nadam", "rmsprop"))
print("optimizers: final training loss on the spirals " + ", ".join(f"{k} {v:.3f}" for k, v in final.items())
      + "; test accuracy " + ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items())
      + "; distance to Rosenbrock's minimum " + ", ".join(f"{k} {v:.2f}" for k, v in distances.items())
      + f": {labs.verdict(reached)}; plots: {surface_png}, {curves_png}")
RESULT = {**{f"loss_{k}": v for k, v in final.items()}, **{f"distance_{k}": v for k, v in distances.items()}}

# %% [markdown]
# ## What we learned
#
# - The gradient says which way is down, not how far to go. Plain SGD's step shrinks with the gradient, so it
#   stalls on flat ground such as the floor of a valley or a plateau of the loss.
# - Momentum remembers the direction of travel; adaptive methods rescale each weight's step. Adam does both,
#   which is why it is the default first choice, and why "Adam with lr 1e-3" trains most small networks.
# - A lower training loss is not the same as a better model: compare the test accuracies printed above, which
#   are far closer to each other than the losses. On real tasks, SGD with momentum and a good schedule often
#   generalises as well as or better than Adam (the recipes of the Fashion-MNIST demo use Nesterov).
#
# ## Try this
#
# 1. Set `SURFACE_LR["sgd"] = 2e-3`. Expect SGD to end next to the minimum (0.03 away when we tried, against
#    1.75 at 1e-3), and at 3e-3 to diverge (the path leaves the plot and the distance is `nan`): the valley's
#    steep walls set a ceiling on SGD's learning rate, just above the rate its flat floor needs.
# 2. Set every rate in `NETWORK_LR` to 0.01. Expect SGD and Adagrad to fall far behind (when we tried: final
#    losses 0.66 and 0.53, test accuracies 0.59 and 0.68), momentum and Nesterov to end about where they are, and
#    RMSprop, Adam and NAdam still near zero: one rate does not suit every rule.
# 3. Set `BATCH_SIZE = 256`, eight times fewer steps per epoch. Expect every loss to end higher after the same
#    150 epochs and plain SGD to suffer most (when we tried: SGD 0.57 and test accuracy 0.66, Adam 0.02 and
#    0.996): the adaptive methods make more of each step.
