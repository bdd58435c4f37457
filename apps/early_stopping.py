"""Early stopping: stop when the validation loss stops improving, and keep the best epoch's weights.

What it shows: a wide MLP (two hidden layers of 512) on 2,000 Fashion-MNIST images memorises them — the training
loss keeps falling while the validation loss turns up after a few epochs. Early stopping with a patience of 10
epochs ends the run 10 epochs after the lowest validation loss and restores that epoch's weights; the plot marks
both epochs. The saved model's validation loss is checked to be the best epoch's, not the last one's.
Target: training stops before the epoch budget, and the saved model's validation loss equals the best epoch's
(within 1e-4) and is below the last epoch's.

Run: python apps/early_stopping.py [--quick] [--out runs/labs]
"""

import os

import keras

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings: a network big enough to overfit a small training set
CONFIG = dict(model="mlp", dataset="fashion_mnist", limit=2000, epochs=150, patience=10, batch_size=64, lr=1e-3,
              schedule="constant", model_options={"hidden": [512, 512]}, seed=0)
QUICK = dict(limit=300, epochs=8, patience=2)


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    config = experiments.RunConfig(**{**CONFIG, **(QUICK if args.quick else {})})
    run_dir = os.path.join(args.out, "early_stopping")

    ## Train with early stopping on the validation loss
    metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
    history = viz.read_history(os.path.join(run_dir, "history.csv"))
    best, last = metrics["best_epoch"], metrics["epochs_run"]

    ## Look: the curves, the best epoch and where training stopped
    path = os.path.join(args.out, "early_stopping.png")
    viz.learning_curves(history, path, best_epoch=best - 1,
                        stopped_epoch=last - 1 if metrics["stopped_early"] else None,
                        title=f"Early stopping, patience {config.patience}: {config.model_options['hidden']} "
                              f"MLP on {config.limit} images")

    ## Check: the saved model holds the best epoch's weights
    _, val, _, _ = data.load(config.dataset, val_fraction=config.val_fraction, seed=config.seed, limit=config.limit)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    saved = model.evaluate(data.make_pipeline(val, batch_size=256), verbose=0, return_dict=True)["loss"]
    best_loss, last_loss = float(history["val_loss"][best - 1]), float(history["val_loss"][-1])

    ## Result
    reached = metrics["stopped_early"] and abs(saved - best_loss) < 1e-4 and saved < last_loss
    print(f"early stopping: stopped after epoch {last} of {config.epochs}, best epoch {best}; validation loss of "
          f"the saved model {saved:.4f} (best epoch {best_loss:.4f}, last epoch {last_loss:.4f}); test accuracy "
          f"{metrics['test_accuracy']:.4f}: {'reached' if reached else 'NOT reached'}; plot: {path}")
    return {"best_epoch": float(best), "epochs_run": float(last), "saved_val_loss": float(saved),
            "best_val_loss": best_loss, "last_val_loss": last_loss}


if __name__ == "__main__":
    main()
