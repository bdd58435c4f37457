"""Run by tests/test_backends.py in a subprocess with KERAS_BACKEND=jax or torch and TensorFlow made unimportable:
builds one model of every family, loads the weights TensorFlow saved for it and reports how far its outputs are
from TensorFlow's, then trains the asked families one step on numpy arrays. Prints one JSON object.

    python tests/other_backend.py WEIGHTS_DIR [--families NAME,NAME] [--train NAME,NAME]
"""

import argparse
import json
import sys

import import_guard

import_guard.hide("tensorflow", "tensorflow_datasets", "tf_keras")

import numpy as np  # noqa: E402

import keras  # noqa: E402
from keras_course import models, training  # noqa: E402

from families import FAMILIES  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weights_dir")
    parser.add_argument("--families", default=",".join(FAMILIES), help="which families to build (default: all)")
    parser.add_argument("--train", default="")
    args = parser.parse_args()
    report = {"backend": keras.backend.backend(), "families": {}}
    for name in args.families.split(","):
        shape, options = FAMILIES[name]
        model = models.build(name, input_shape=shape, num_classes=3, **options)
        model.load_weights(f"{args.weights_dir}/{name}.weights.h5")
        x = np.load(f"{args.weights_dir}/{name}_x.npy")
        expected = np.load(f"{args.weights_dir}/{name}_y.npy")
        # predict: one compiled forward pass under JAX; calling the model runs it op by op, each op compiled on its
        # own (10.6 s against 2.2 s over the nine families of the default suite)
        got = model.predict(x, batch_size=len(x), verbose=0)
        entry = {"max_abs_diff": float(np.max(np.abs(got - expected))), "params": model.count_params()}
        if name in args.train.split(","):
            training.compile_model(model, optimizer="sgd", lr=0.01, steps_per_execution=1)
            labels = np.random.default_rng(0).integers(0, 3, size=len(x))
            entry["loss"] = float(model.fit(x, labels, batch_size=len(x), epochs=1, verbose=0).history["loss"][0])
            entry["jit_compile"] = bool(model.jit_compile)
        report["families"][name] = entry
    report["tensorflow_imported"] = "tensorflow" in sys.modules
    print(json.dumps(report))


if __name__ == "__main__":
    main()
