# %% [markdown]
# # Early stopping: stop when the validation loss stops improving, and keep the best epoch's weights
#
# A network with far more parameters than training examples can memorise them. While it learns what the
# examples have in common, the loss on held-out data falls with the training loss; once it starts memorising
# what is particular to each example, the training loss keeps falling but the validation loss turns up. The
# best model is the one at the turning point.
#
# Early stopping watches the validation loss after every epoch. When it has not improved for `patience` epochs,
# training ends, and the weights of the best epoch — not the last — are restored. Two claims are tested here:
#
# - on a wide MLP (two hidden layers of 512 units, about 670,000 weights) trained on only 2,000 Fashion-MNIST
#   images, the validation loss reaches a minimum long before the budget of 150 epochs, and training stops
#   `patience` epochs after it;
# - the model saved in the run directory really is the best epoch's: reloaded from disk, its validation loss
#   equals the best epoch's (within 1e-4) and is lower than the last epoch's.
#
# You will see the learning curves with the best epoch and the stopping epoch marked.

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
# A small training set and a big network make overfitting quick to see. The learning rate is constant, so the
# turn of the validation curve comes from memorisation, not from a schedule decaying. Every setting of the run is
# one field of `experiments.RunConfig`, the same object the `keras-course train` command builds from its flags.

# %% tags=["parameters"]
QUICK = False  # True: 300 images, 8 epochs, patience 2, a smoke test
OUT = "runs/labs"  # folder of the run directory and the figure
CONFIG = dict(model="mlp", dataset="fashion_mnist", limit=2000, epochs=150, patience=10, batch_size=64, lr=1e-3,
              schedule="constant", model_options={"hidden": [512, 512]}, seed=0)
QUICK_CONFIG = dict(limit=300, epochs=8, patience=2)

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Early stopping", QUICK, OUT)

# %% [markdown]
# ## Train with early stopping
#
# `experiments.train` is what `keras-course train` runs: it writes a run directory with the configuration, the
# history of every epoch, the metrics and the saved model. With `patience` set, it stops on the validation loss
# and restores the best weights before saving.

# %%
import os

import keras

from keras_course import data, experiments, labs, viz

config = experiments.RunConfig(**{**CONFIG, **(QUICK_CONFIG if QUICK else {})})
run_dir = os.path.join(OUT, "early_stopping")
metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
history = viz.read_history(os.path.join(run_dir, "history.csv"))
best, last = metrics["best_epoch"], metrics["epochs_run"]
print(f"stopped after epoch {last} of {config.epochs}; best epoch {best}")

# %% [markdown]
# Training ended `patience` epochs after the best one: those last epochs were spent confirming that the
# validation loss would not come back down.
#
# ## Look: the curves, the best epoch and where training stopped
#
# TensorBoard logs are in the run directory's `logs/` folder. In Jupyter, `%load_ext tensorboard` and then
# `%tensorboard --logdir runs/labs/early_stopping/logs` open them below the cell (not run here: the
# committed notebook and the tests start no server).

# %%
path = os.path.join(OUT, "early_stopping.png")
figure = viz.learning_curves(history, path, best_epoch=best - 1,
                             stopped_epoch=last - 1 if metrics["stopped_early"] else None,
                             title=f"Early stopping, patience {config.patience}: {config.model_options['hidden']} "
                                   f"MLP on {config.limit} images")
figure

# %% [markdown]
# The training loss falls all the way; the validation loss falls, noisily, for about a dozen epochs, then drifts
# up while the training loss keeps going down. That widening gap is overfitting. Notice that the validation
# *accuracy* moves much less than the validation loss: past the minimum the network keeps most of its answers but
# becomes more and more confident in its wrong ones, which the loss punishes and the accuracy does not see.
#
# ## Check: the saved model holds the best epoch's weights
#
# A claim about a saved file is only worth checking on the file itself. We reload `model.keras` from the run
# directory and evaluate it on the same validation split.

# %%
_, val, _, _ = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed, limit=config.limit)
model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
saved = model.evaluate(data.make_pipeline(val, batch_size=256), verbose=0, return_dict=True)["loss"]
best_loss, last_loss = float(history["val_loss"][best - 1]), float(history["val_loss"][-1])

# %% [markdown]
# ## Result

# %%
reached = metrics["stopped_early"] and abs(saved - best_loss) < 1e-4 and saved < last_loss
print(f"early stopping: stopped after epoch {last} of {config.epochs}, best epoch {best}; validation loss of "
      f"the saved model {saved:.4f} (best epoch {best_loss:.4f}, last epoch {last_loss:.4f}); test accuracy "
      f"{metrics['test_accuracy']:.4f}: {labs.verdict(reached)}; plot: {path}")
RESULT = {"best_epoch": float(best), "epochs_run": float(last), "saved_val_loss": float(saved),
          "best_val_loss": best_loss, "last_val_loss": last_loss}

# %% [markdown]
# ## What we learned
#
# - The validation loss is the signal for "the model has stopped learning what generalises". Training past its
#   minimum makes the model worse on new data even while the training loss improves.
# - Early stopping is two things: stopping (saves time) and restoring the best weights (saves the model). Without
#   the restore, you keep the last, overfitted weights.
# - The validation split is used to choose the epoch, so it is no longer an unbiased estimate of performance:
#   that is what the separate test split is for.
#
# ## Try this
#
# 1. Set `CONFIG["patience"] = 3`. Expect the run to stop much earlier and before the real minimum (when we
#    tried: stopped at epoch 10 with best epoch 7 and validation loss 0.422, against 0.409 at epoch 12): a noisy
#    validation curve can rise three epochs in a row on its way down.
# 2. Set `CONFIG["limit"] = 10000`. With five times more images the network generalises better: expect a lower
#    best validation loss (0.373 when we tried) and a higher test accuracy (0.856 against 0.816), with the
#    minimum at about the same epoch (10) — each epoch now has five times as many steps.
# 3. Add dropout: `CONFIG["model_options"] = {"hidden": [512, 512], "dropout": 0.5}`. Expect the validation curve
#    to turn up much later and the run to last far longer (best epoch 38, stopped at 48 when we tried), with a
#    lower best validation loss (0.377); the regularisation lab compares such remedies side by side.
