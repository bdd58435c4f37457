"""Lab T1 — regression: an MLP fits a noisy sinusoid.

What it shows: a small network with a non-linear activation approximates a smooth function from noisy samples; a
model can do no better than the noise, so a test MSE near the noise variance (0.1² = 0.01) means the fit is right.
Target: test MSE within 1.5x the noise variance.
Result (full settings, 2-core CPU): see README's lab table; the run prints its own figure.

Run: python apps/lab1_sine_regression.py [--quick] [--out runs/labs]
"""

import os

import numpy as np

from _common import parse_lab_args
from keras_course import data, experiments, viz

## Settings
HIDDEN = (64, 64)  # two tanh layers: smooth functions need smooth activations
EPOCHS = 300
QUICK_EPOCHS = 3
LEARNING_RATE = 1e-2  # peak of a cosine schedule
BATCH_SIZE = 32


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS

    ## Fit: the library loads the data, puts normalisation inside the model, and trains with a cosine schedule
    result = experiments.fit("mlp", "sine", epochs=epochs, batch_size=BATCH_SIZE, lr=LEARNING_RATE,
                             schedule="cosine", hidden=HIDDEN, activation="tanh")
    noise_var = result.info.extras["noise_std"] ** 2
    mse = result.test["mse"]

    ## Look: data, truth and fit on one plot
    x, y = data.to_numpy(result.splits[0])
    path = viz.regression_fit(x, y, {f"MLP {HIDDEN}, tanh": result.model}, os.path.join(args.out, "lab1_sine_fit.png"),
                              truth=np.sin, title=f"Noisy sin(x): test MSE {mse:.4f} (noise variance {noise_var:.4f})")

    ## Result
    ratio = mse / noise_var
    print(f"lab1: test MSE {mse:.4f} = {ratio:.2f}x the noise variance (target <= 1.5x): "
          f"{'reached' if ratio <= 1.5 else 'NOT reached'}; plot: {path}")
    return {"test_mse": mse, "noise_variance": noise_var, "ratio": ratio}


if __name__ == "__main__":
    main()
