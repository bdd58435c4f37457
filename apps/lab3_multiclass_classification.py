# %% [markdown]
# # Lab T3 — multi-class classification: a linear softmax against one hidden layer on three spirals
#
# With more than two classes, a classifier's output becomes a *softmax*: one score per class, turned into
# probabilities that sum to one, trained with categorical cross-entropy. Without a hidden layer this model is
# softmax regression, the multi-class version of logistic regression. Its regions are bounded by straight lines:
# where two classes' scores are equal, the boundary is the set of points where two linear functions agree.
#
# The three-spirals dataset is built to defeat that model: three arms wind around the centre, each class
# following its own arm, so any straight cut slices through all three arms. The claim tested:
#
# - softmax regression stays at or below 0.60 test accuracy (chance is 0.33: a few straight cuts do a little
#   better than chance, no more);
# - the same model with one hidden layer of 128 ReLU units reaches at least 0.95, by building a curved boundary
#   out of many short straight pieces.
#
# Both models train the same way on the same data; only the hidden layer differs. You will see both decision
# maps side by side.

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
# The spirals need more creases than the moons of lab T2, hence a wider hidden layer (128 units) and more epochs.
# Both models get the same schedule: a cosine decay from the learning rate below to zero.

# %% tags=["parameters"]
QUICK = False  # True: 2 epochs per model, a smoke test
OUT = "runs/labs"  # folder the figure is written to
HIDDEN = (128,)  # ReLU units of the one hidden layer
EPOCHS = 200
QUICK_EPOCHS = 2
LEARNING_RATE = 1e-2  # peak of the cosine schedule

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Lab T3: multi-class classification", QUICK, OUT)

# %% [markdown]
# ## Two models, same data, same training
#
# `hidden=()` is the registry's `mlp` with no hidden layer: the input goes straight to the softmax, which makes
# it softmax regression. The dataset's task ("multiclass") makes `experiments.fit` use a softmax output and
# sparse categorical cross-entropy for both.

# %%
import os

from keras_course import data, experiments, labs, viz

epochs = QUICK_EPOCHS if QUICK else EPOCHS
linear = experiments.fit("mlp", "spirals", epochs=epochs, lr=LEARNING_RATE, schedule="cosine", hidden=())
mlp = experiments.fit("mlp", "spirals", epochs=epochs, lr=LEARNING_RATE, schedule="cosine", hidden=HIDDEN)
accuracies = {"linear": linear.test["accuracy"], "mlp": mlp.test["accuracy"]}
accuracies

# %% [markdown]
# The linear model barely beats guessing; the hidden layer's model gets nearly every test point right.
#
# ## Look: both decision maps over the test points

# %%
x, y = data.to_numpy(mlp.splits[2])
path = os.path.join(OUT, "lab3_spirals_boundaries.png")
figure = viz.decision_boundary(
    [(linear.model, f"linear softmax: {linear.test['accuracy']:.3f}"),
     (mlp.model, f"MLP {HIDDEN} ReLU: {mlp.test['accuracy']:.3f}")],
    x, y, path, class_names=mlp.info.class_names)
figure

# %% [markdown]
# On the left, three wedges meeting near the centre: the best softmax regression can do is give each class the
# sector where its arm spends most of its length. On the right, the regions wind with the arms. Near the centre,
# where the three arms start close together, is where the remaining mistakes are, if any: that is where the
# classes overlap most.
#
# ## Result

# %%
a_lin, a_mlp = accuracies["linear"], accuracies["mlp"]
reached = a_mlp >= 0.95 and a_lin <= 0.60
print(f"lab3: spirals test accuracy linear {a_lin:.3f} (target <= 0.60), MLP {a_mlp:.3f} (target >= 0.95): "
      f"{labs.verdict(reached)}; plot: {path}")
RESULT = accuracies

# %% [markdown]
# ## What we learned
#
# - Softmax turns one score per class into probabilities; without a hidden layer the regions it draws are convex
#   wedges bounded by straight lines.
# - A hidden layer is what lets a classifier follow a shape such as a spiral: each unit adds a straight crease,
#   and enough creases approximate any curve.
# - The same training recipe (loss, optimizer, schedule) serves both models: capacity, not training, made the
#   difference.
#
# ## Try this
#
# 1. Set `HIDDEN = (4,)`, then `(2,)`. Expect the accuracy to fall with the number of units: four creases still
#    trace most of the arms (0.928 when we tried), two barely beat softmax regression (0.630). Eight were already
#    enough for 0.996.
# 2. Set `HIDDEN = (64, 64)`. Expect 0.95 or more as well (0.998 when we tried), usually with a smoother-looking
#    boundary: a second layer combines creases into curves more economically than one wide layer.
# 3. Set `LEARNING_RATE = 1e-4`. Expect the hidden layer's model to fall well short of 0.95 (0.722 when we tried):
#    the capacity is there, but the steps are too small to trace the arms in 200 epochs.
