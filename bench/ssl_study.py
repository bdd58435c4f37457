"""`python -m bench ssl`: the course's few-labels claim on data this machine has. An encoder is pretrained by
SimCLR on the 60,000 Fashion-MNIST training images without their labels (one run, its budget in the JSON), then all
10 classes are learnt from 20 and 100 labelled images per class in three ways, each scored on the 10,000 test
images (the module is not bench/ssl.py, which would shadow the standard library's ssl):

(a) `scratch`: the same architecture from scratch, with the same augmentation, the best of a grid of epochs and
    learning rates chosen on a validation split of the labelled images (a fair baseline, not a weak one);
(b) `linear_probe`: logistic regression on the frozen encoder's features (scikit-learn, to convergence, its
    regularisation chosen on the same validation split);
(c) `fine_tune`: the encoder and a new softmax layer trained together, the same grid chosen the same way.

Each seed draws its own labelled images (`data.per_class_subset`) and its own initialisation; the validation
split is a fifth of them, at least one image per class (`ssl.few_labels`, which also trains and chooses). The test
split is never used to choose anything.
JSON: {"rows": [{"labels_per_class", "scratch", "scratch_std", "linear_probe", "linear_probe_std", "fine_tune",
       "fine_tune_std", "per_seed": {...}, "chosen": {...}}], "pretrain": {budget, seconds, kNN accuracy, ...},
       "grid": {...}, "seeds": [...], "goal": {...}, "machine": {...}, "quick": bool}
"""

import os
import shutil
import time

import numpy as np

from bench import common

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras_course", "bench_ssl")
PRETRAIN = dict(model="cnn4_bn", dataset="fashion_mnist", ssl="simclr", epochs=30, batch_size=256, optimizer="adamw",
                lr=2e-3, schedule="cosine", warmup_epochs=2, val_fraction=0.0, precision="auto", seed=0,
                bn_momentum=0.9)
LABELS_PER_CLASS = (20, 100)
SEEDS = (0, 1, 2)
GRID = {"epochs": (30, 90), "lr": (1e-3, 3e-3)}  # Adam; the batch is 32 labelled images
AUGMENT = "standard"  # flip and pad-and-crop, for (a) and (c) alike
BATCH = 32
QUICK = dict(pretrain={"epochs": 1, "limit": 2048, "warmup_epochs": 0}, labels=(5,), seeds=(0,),
             grid={"epochs": (2,), "lr": (1e-3,)})


def _pretrain(config, quick):
    """The pretraining run, trained once and kept under CACHE (keyed by its settings)."""
    import hashlib
    import json

    from keras_course import experiments

    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    run_dir = os.path.join(CACHE, f"pretrain{'_quick' if quick else ''}_{key}")
    if not os.path.exists(os.path.join(run_dir, "metrics.json")):
        shutil.rmtree(run_dir, ignore_errors=True)
        experiments.train(config, run_dir, verbose=0 if quick else 2)
    return run_dir


def run(quick=False):
    import dataclasses

    import keras

    from keras_course import data, experiments, models, training
    from keras_course.ssl import few_labels

    common.pin_tensorflow_threads()
    labels, seeds, grid = (QUICK["labels"], QUICK["seeds"], QUICK["grid"]) if quick else (LABELS_PER_CLASS, SEEDS, GRID)
    config = experiments.RunConfig(**{**PRETRAIN, **(QUICK["pretrain"] if quick else {})})
    config = dataclasses.replace(config, precision=training.resolve_precision(config.precision))
    started = time.perf_counter()
    pretrain_dir = _pretrain(config, quick)
    metrics = experiments.load_run(pretrain_dir)[1]
    encoder_path = os.path.join(pretrain_dir, experiments.report.ENCODER)

    pool, _, test_ds, info = data.load("fashion_mnist", val_fraction=0.0, seed=0)
    x_pool, y_pool = data.to_numpy(pool)
    test = data.to_numpy(test_ds)
    normalization = data.normalization_for(pool, info)

    def scratch():
        model = models.build(PRETRAIN["model"], input_shape=info.input_shape, num_classes=info.num_classes,
                             normalization=normalization)
        models.set_batch_norm_momentum(model, PRETRAIN["bn_momentum"])
        return model

    def fine_tune():
        return few_labels.classifier_on(keras.models.load_model(encoder_path), info.num_classes)

    rows = []
    for n in labels:
        found = {"scratch": [], "linear_probe": [], "fine_tune": []}
        chosen = {name: [] for name in found}
        for seed in seeds:
            x, y = data.per_class_subset(x_pool, y_pool, n, seed=seed)
            train, val = few_labels.split_per_class(x, y, seed)
            for name, make in (("scratch", scratch), ("fine_tune", fine_tune)):
                accuracy, choice = few_labels.fit_best(make, train, val, test, seed=seed, epochs=grid["epochs"],
                                                       lrs=grid["lr"], augment=AUGMENT, batch_size=BATCH)
                found[name].append(accuracy)
                chosen[name].append(choice)
            accuracy, choice = few_labels.linear_probe(keras.models.load_model(encoder_path), train, val, test)
            found["linear_probe"].append(accuracy)
            chosen["linear_probe"].append(choice)
            print(f"{n:>4} labels/class, seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in found.items()),
                  flush=True)
        row = {"labels_per_class": n}
        for name, values in found.items():
            row[name] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values, ddof=1 if len(values) > 1 else 0))
        row.update(per_seed=found, chosen=chosen)
        rows.append(row)
    first = rows[0]
    gain = max(first["linear_probe"], first["fine_tune"]) - first["scratch"]
    return {
        "rows": rows, "seeds": list(seeds), "grid": {k: list(v) for k, v in grid.items()}, "augment": AUGMENT,
        "pretrain": {"settings": config.to_dict(), "epochs_run": metrics["epochs_run"],
                     "seconds": metrics["train_seconds"], "budget_seconds": 20 * 60,
                     "knn_accuracy": metrics["knn_accuracy"], "test_knn_accuracy": metrics["test_knn_accuracy"],
                     "encoder_params": metrics["params"], "features": metrics["features"]},
        "goal": {"goal": f"(b) or (c) beats (a) by >= 10 points at {first['labels_per_class']} labels per class",
                 "measured": round(100 * gain, 2), "met": bool(gain >= 0.10)},
        "seconds": round(time.perf_counter() - started, 1), "machine": common.machine(), "quick": quick,
    }


def show(result):
    print(f"pretraining: {result['pretrain']['epochs_run']} epochs, {result['pretrain']['seconds']:.0f} s, kNN "
          f"accuracy on the test split {result['pretrain']['test_knn_accuracy']:.4f}")
    print(f"{'labels/class':>12}{'(a) scratch':>18}{'(b) linear probe':>20}{'(c) fine-tune':>18}")
    for row in result["rows"]:
        cells = "".join(f"{row[k]:>11.4f} ± {row[k + '_std']:.3f}" for k in ("scratch", "linear_probe", "fine_tune"))
        print(f"{row['labels_per_class']:>12}{cells}")
    goal = result["goal"]
    print(f"{'met ' if goal['met'] else 'MISSED'}  {goal['goal']}: {goal['measured']} points")
