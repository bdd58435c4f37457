"""`python -m bench.fingerprint [DIR]`: what one seed gives along every training path, to compare two versions.

Trains, at tiny sizes and fixed seeds, a plain run (`experiments.train`), a two-phase transfer run, the labs'
`experiments.fit`, a two-trial search and the learning-rate finder, and prints one JSON object: the weights'
SHA-256 and test accuracy of each run, the search's validation scores, the suggested learning rate. Run it at two
commits (e.g. in a `git worktree` of the older one, with PYTHONPATH set to it) and compare the lines: a refactor
that keeps behaviour prints the same object.
"""

import json
import os
import sys
import tempfile


def fingerprint(folder):
    from keras_course import experiments

    out = {}
    plain = experiments.RunConfig(model="lenet5_bn", dataset="fashion_mnist", epochs=2, limit=1000, augment="light",
                                  seed=3, patience=3)
    metrics = experiments.train(plain, os.path.join(folder, "plain"), verbose=0)
    out["plain"] = (metrics["weights_sha256"], metrics["test_accuracy"], metrics["best_epoch"])
    transfer = experiments.RunConfig(
        model="resnet20", dataset="fashion_mnist", epochs=1, batch_size=64, lr=3e-3, limit=500, schedule="constant",
        augment="light", transfer=dict(weights=None, fine_tune_epochs=1, fine_tune_lr=1e-3, unfreeze_stages=1,
                                       dropout=0.2, resize=32, options={"width": 0.25}))
    metrics = experiments.train(transfer, os.path.join(folder, "transfer"), verbose=0)
    out["transfer"] = (metrics["weights_sha256"], metrics["test_accuracy"], metrics["best_epoch"])
    out["fit"] = experiments.fit("mlp", "moons", epochs=20, lr=1e-2, schedule="cosine", hidden=(16, 16)).test
    search = experiments.search(experiments.RunConfig(model="mlp", dataset="digits", epochs=2, batch_size=64,
                                                      model_options={"hidden": [32]}),
                                os.path.join(folder, "search"), space={"lr": "log:1e-3:1e-1"}, max_trials=2)
    out["search"] = [row["val_accuracy"] for row in search.rows]
    out["lr_find"] = experiments.lr_find_run(experiments.RunConfig(model="mlp", dataset="digits", epochs=1),
                                             os.path.join(folder, "lr_find"), steps=30).suggested
    return out


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="fingerprint_")
    print(json.dumps(fingerprint(folder), sort_keys=True))
