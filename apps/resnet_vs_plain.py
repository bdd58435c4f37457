# %% [markdown]
# # Plain deep networks against residual ones: deeper plain networks train worse, deeper ResNets do not
#
# More layers should never hurt a network's ability to fit its training data: a deeper network could copy a
# shallower one and set its extra layers to the identity. Yet He et al. (2015, Figure 6) found that a 56-layer
# "plain" convolutional network — the layers of a ResNet without its shortcuts — reached a *higher training
# error* than a 20-layer one on CIFAR-10. Not overfitting (that would show as a gap between training and test),
# but an optimisation problem: gradient descent cannot find the good solutions that exist in the deeper network.
#
# Their fix was the **identity shortcut**: every block computes x + F(x) instead of F(x). A block whose F is near
# zero is then the identity, so the deep network starts out behaving like a shallow one, and the gradient flows
# back through the additions undiminished to the first layers.
#
# This lab repeats the comparison on Fashion-MNIST under one budget: four networks, 20 and 56 layers, with and
# without shortcuts, with the same layers and the same number of parameters. The claim tested:
#
# - plain-56 ends with a higher training loss than plain-20 (depth hurts without shortcuts);
# - ResNet-56 ends with a lower training loss than plain-56 (the shortcuts remove the problem).
#
# You will see all four runs' curves on shared axes.

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
# ## Settings: one budget for all four
#
# The registry's CIFAR ResNets take `residual=False` to drop the shortcuts and keep everything else. The budget
# is small (4 epochs on 6,000 images) so the lab runs in a few minutes on two cores; the effect shows early in
# training, which is where it matters. `QUICK` uses the same family at depths 8 and 14 on 200 images, only to
# check that everything runs: its numbers say nothing about depth.

# %% tags=["parameters"]
QUICK = False  # True: depths 8 and 14, 1 epoch on 200 images, a smoke test
OUT = "runs/labs"  # folder of the run directories and the figure
DEPTHS = (20, 56)  # shallow, deep
QUICK_DEPTHS = (8, 14)  # resnet8, resnet14: 1 and 2 blocks per stage
BUDGET = dict(dataset="fashion_mnist", epochs=4, limit=6000, batch_size=128, optimizer="adam", lr=3e-3,
              schedule="cosine", bn_momentum=0.9, seed=0)
QUICK_BUDGET = dict(epochs=1, limit=200)

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Plain deep networks against residual ones", QUICK, OUT)

# %% [markdown]
# ## Train each depth with and without shortcuts
#
# Each network is an ordinary run directory written by `experiments.train`. We keep each run's history (one row
# per epoch) and its metrics.

# %%
import os

from keras_course import experiments, labs, viz

budget = {**BUDGET, **(QUICK_BUDGET if QUICK else {})}
shallow, deep = QUICK_DEPTHS if QUICK else DEPTHS
runs = {}
for depth in (shallow, deep):
    for residual in (False, True):
        label = f"{'ResNet' if residual else 'plain'}-{depth}"
        config = experiments.RunConfig(model=f"resnet{depth}", model_options={"residual": residual}, **budget)
        run_dir = os.path.join(OUT, "resnet_vs_plain", label)
        metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
        runs[label] = (viz.read_history(os.path.join(run_dir, "history.csv")), metrics)

# %% [markdown]
# ## Look: the four runs side by side
#
# TensorBoard logs are in each run directory's `logs/` folder. In Jupyter, `%load_ext tensorboard` and then
# `%tensorboard --logdir runs/labs/resnet_vs_plain` open them below the cell (not run here: the
# committed notebook and the tests start no server).
#
# Dashed lines are the training loss and accuracy, solid lines validation. The claim is about the dashed lines:
# compare plain-20 with plain-56, then plain-56 with ResNet-56.

# %%
path = os.path.join(OUT, "resnet_vs_plain.png")
figure = viz.runs_curves({label: history for label, (history, _) in runs.items()}, path,
                         title=f"Shortcuts or not, {budget['epochs']} epochs on {budget['limit']} Fashion-MNIST "
                               "images")
figure

# %% [markdown]
# In the full run, plain-56's training loss stays well above every other network's from the first epoch: the
# deepest plain network is the *worst* at fitting its own training data. ResNet-56, the same layers with
# shortcuts, is the best. The validation curves follow the same order, which confirms that this is about
# optimisation, not overfitting.
#
# ## Result: the last epoch's training loss

# %%
loss = {label: float(history["loss"][-1]) for label, (history, _) in runs.items()}
accuracy = {label: metrics["test_accuracy"] for label, (_, metrics) in runs.items()}
reached = loss[f"plain-{deep}"] > loss[f"plain-{shallow}"] and loss[f"ResNet-{deep}"] < loss[f"plain-{deep}"]
print("resnet vs plain: final training loss " + ", ".join(f"{k} {v:.3f}" for k, v in loss.items())
      + "; test accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())
      + f": {labs.verdict(reached)}; plot: {path}")
RESULT = {f"loss {k}": v for k, v in loss.items()}

# %% [markdown]
# The committed run is the full one (about four minutes on the project's 2 cores): the training losses ended at
# plain-20 0.410, **plain-56 0.972**, ResNet-20 0.334 and **ResNet-56 0.297**, the test accuracies at 0.831,
# 0.608, 0.847 and 0.849. Twice the training loss for the deeper plain network, and the lowest for the deeper
# residual one: the paper's Figure 6 in miniature.
#
# ## What we learned
#
# - Depth alone does not make a network better: without shortcuts, a deeper network can be harder to optimise
#   and end up worse even on its training data.
# - Identity shortcuts make depth safe: a residual block can do no harm at the start, and the additions carry
#   the gradient back to the first layers.
# - "Worse on training data" and "worse on test data" have different causes and different remedies; always look
#   at the training curves before blaming overfitting.
#
# ## Try this
#
# 1. Set `DEPTHS = (20, 110)`. Expect plain-110 to train worse still than plain-56 and ResNet-110 to stay close to
#    ResNet-56, at about twice its time per epoch (He et al. report this on CIFAR-10; not measured here).
# 2. Set `BUDGET["epochs"] = 12`. Expect plain-56 to close part of its gap with longer training but to stay behind
#    plain-20 and ResNet-56: in He et al.'s Figure 6 the deeper plain network stays worse for the whole run.
# 3. Look at the test accuracies in the result line, not only the losses. Expect them in the same order as the
#    training losses (they were in the committed run: 0.608 for plain-56 against 0.849 for ResNet-56): a network
#    that cannot fit its training data cannot do well on new data either.
