# %% [markdown]
# # Initialisation and activations: why a deep sigmoid network does not learn, and ReLU with He weights does
#
# Training moves each weight by its gradient. If the gradients reaching the first layers of a deep network are
# a million times smaller than those of the last layers, the first layers do not move at all, whatever the
# learning rate: the network trains as if it were shallow, or not at all. This lab looks at that problem before
# any training, on one batch of Fashion-MNIST, by measuring two things in every layer of a 20-layer network:
#
# - going **forward**, the spread (standard deviation) of each layer's activations;
# - going **backward**, the spread of the loss gradient on each layer's weights.
#
# Two facts of the course explain what we will see. The sigmoid's slope is at most 1/4, so backpropagation
# multiplies the gradient by at most 1/4 (times the weights) at every layer: after 20 layers it has *vanished*.
# ReLU's slope is 1 where it is active, but it zeroes half of its inputs, halving the signal's variance per layer;
# Glorot initialisation, designed for symmetric activations, does not make up for it, so the activations die out
# with depth. He initialisation (He et al. 2015) doubles the weights' variance to compensate, and keeps both the
# activations and the gradients steady across depth.
#
# Target: the first hidden layer's gradient spread is below 1e-3 of the last hidden layer's for sigmoid with
# Glorot weights, and between 0.1 and 10 of it for ReLU with He weights.

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
# Twenty hidden layers of 64 units is deep for a multilayer perceptron, and that is the point: the effects
# compound layer after layer, so depth makes them visible. We try three activations under two initialisations,
# six untrained networks in all.

# %% tags=["parameters"]
QUICK = False  # True: 6 layers and a batch of 32, a smoke test
OUT = "runs/labs"  # folder the figure is written to
DEPTH = 20  # hidden layers
WIDTH = 64  # units per hidden layer
BATCH = 256  # Fashion-MNIST images in the one batch measured
QUICK_DEPTH, QUICK_BATCH = 6, 32
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITIALIZERS = ("glorot_normal", "he_normal")  # Keras's names

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Initialisation and activations", QUICK, OUT)

# %% [markdown]
# ## Measure six untrained networks
#
# For each pair (activation, initialisation) we build the registry's `mlp` with that many layers, compile it
# (the loss is needed for gradients) and call `training.layer_statistics`, which runs the batch forward and
# backward once and returns, per layer, the standard deviation of its outputs and of its weights' gradient.
# Nothing is trained: the question is what the network looks like at the start of training, when the first
# steps are decided.

# %%
import os

from keras_course import data, labs, models, training, viz

depth, batch = (QUICK_DEPTH, QUICK_BATCH) if QUICK else (DEPTH, BATCH)
train, _, _, info = data.load("fashion_mnist", limit=batch)
x, y = data.to_numpy(train)
statistics = {}
for activation in ACTIVATIONS:
    for initializer in INITIALIZERS:
        training.set_seed(0)
        model = models.build("mlp", input_shape=info.input_shape, num_classes=info.num_classes,
                             hidden=[WIDTH] * depth, activation=activation, initializer=initializer,
                             normalization="rescale")
        training.compile_model(model, task="multiclass")
        statistics[f"{activation}, {initializer.split('_')[0]}"] = training.layer_statistics(model, x, y)

# %% [markdown]
# ## Look: the signal forward, the gradient backward
#
# Left: activation spread by layer. Right: gradient spread by layer, on a logarithmic scale, since the
# differences span many orders of magnitude. A healthy network draws two roughly flat lines; a slope on the right
# panel means each layer's gradient is a constant factor smaller than the next one's.

# %%
path = os.path.join(OUT, "init_and_activations.png")
figure = viz.layer_statistics_plot(statistics, path, title=f"{depth} hidden layers of {WIDTH}, untrained, one "
                                   f"batch of {batch} Fashion-MNIST images")
figure

# %% [markdown]
# The sigmoid lines on the right fall steeply towards the first layers: that straight slope on a log scale is
# the constant factor per layer of vanishing gradients. On the left, ReLU under Glorot weights shrinks layer
# after layer (half the signal dropped each time), while ReLU under He weights holds its level. tanh sits in
# between: its slope is 1 at zero, so it fares much better than the sigmoid, but it still saturates.
#
# ## Result: the first hidden layer's gradient against the last's
#
# One number per network: the gradient spread of the first hidden layer divided by that of the last hidden
# layer (the classifier left out). 1 means every layer learns at the same pace.

# %%
ratios = {label: rows[0]["gradient_std"] / rows[-2]["gradient_std"] for label, rows in statistics.items()}
reached = ratios["sigmoid, glorot"] < 1e-3 and 0.1 <= ratios["relu, he"] <= 10
print("init and activations: first/last hidden layer gradient std "
      + ", ".join(f"{label} {ratio:.1e}" for label, ratio in ratios.items())
      + f": {labs.verdict(reached)}; plot: {path}")
RESULT = {f"ratio {label}": float(ratio) for label, ratio in ratios.items()}

# %% [markdown]
# ## What we learned
#
# - Depth multiplies: whatever a layer does to the size of the signal or of the gradient, twenty layers do it
#   twenty times over. A factor of 1/4 per layer leaves about 1e-12 after twenty.
# - The activation's slope decides the backward pass. Sigmoid networks of this depth cannot be trained by plain
#   gradient descent; this is why deep learning waited for ReLU.
# - The initialisation must match the activation: Glorot's variance suits symmetric activations (tanh), He's
#   twice larger variance suits ReLU, which drops half its input. Keras's default is Glorot, so pass
#   `initializer="he_normal"` for deep ReLU networks.
# - Batch normalisation and residual connections (later labs) are the other two fixes: both keep the signal's
#   scale under control whatever the depth.
#
# ## Try this
#
# 1. Set `DEPTH = 5`. Expect the sigmoid's ratio to rise to around 1e-3 (2.4e-3 when we tried): five factors of
#    at most 1/4 are far milder than twenty, which is why shallow sigmoid networks trained fine for decades.
# 2. Add `"selu"` to `ACTIVATIONS` and `"lecun_normal"` to `INITIALIZERS`. SELU with LeCun initialisation is
#    designed to keep the activations' mean and variance fixed by itself; expect a flat gradient line (a ratio of
#    1.03 when we tried) and activations whose spread settles towards 1, SELU's fixed point.
# 3. Train the sigmoid network and the ReLU + He one for three epochs (`experiments.fit("mlp", "fashion_mnist",
#    hidden=[64] * 20, activation="sigmoid", epochs=3)`, then with `activation="relu",
#    initializer="he_normal"`). Expect the sigmoid network to stay at chance, 0.10 accuracy for ten classes (0.100
#    when we tried), while the ReLU one learns (0.818).
