"""`augment`: each augmentation policy under one budget: cnn4_bn and resnet20 on Fashion-MNIST, the same recipe,
epochs and seed, only `augment` changing (none, light, standard, mixup, cutmix, randaugment).

Method: `experiments.train` on all 60,000 training images with the demo's recipe (Nesterov SGD, one-cycle peaking
at 0.2, weight decay 5e-4, label smoothing 0.1, batch norm momentum 0.9, precision "auto"), no validation split;
test accuracy on the 10,000 test images, one seed. Seconds per epoch are the mean of the epochs after the first
(the first also traces the graph), so they show what a policy costs in the input pipeline on these cores.
Regularising policies need longer schedules than a short budget gives: read the table as "at this budget".
With `--models` naming some of the models and `--json` an earlier result of the same budget, the other models'
rows are kept from it (each model's rows say when and where they were measured).
JSON: {"budget": {...}, "epochs": {model: N}, "rows": [{"model", "policy", "test_accuracy", "epoch_seconds",
       "train_seconds", "epochs"}], "machine": {...}, "quick": bool,
       "measured": {model: {"date", "machine"}}}
"""

import os
import tempfile
import time

POLICIES = ("none", "light", "standard", "mixup", "cutmix", "randaugment")
MODELS = ("cnn4_bn", "resnet20")
EPOCHS = {"cnn4_bn": 10, "resnet20": 6}  # about 2 and 6 minutes a policy on 2 cores
RECIPE = dict(dataset="fashion_mnist", batch_size=256, optimizer="nesterov", lr=0.2, schedule="one_cycle",
              weight_decay=5e-4, label_smoothing=0.1, bn_momentum=0.9, val_fraction=0.0, precision="auto", seed=0)


def _kept_rows(update, models, budget, quick):
    """The earlier result's rows and dates of the models not measured now; nothing when there is no comparable
    earlier result (another budget, or quick against full)."""
    from bench import common

    if not update or not os.path.exists(update):
        return [], {}, {}
    previous = common.read_result(update, "augment")
    if previous.get("budget") != budget or previous.get("quick") != quick:
        return [], {}, {}
    kept = [row for row in previous.get("rows", []) if row.get("model") not in models]
    names = {row["model"] for row in kept}
    epochs = {m: n for m, n in previous.get("epochs", {}).items() if m in names}
    measured = {m: when for m, when in previous.get("measured", {}).items() if m in names}
    for model in names - set(measured):  # a result from before rows were dated: its own date is theirs
        measured[model] = {"date": previous.get("date"), "machine": previous.get("machine")}
    return kept, epochs, measured


def run(quick=False, only=None, epochs=None, progress=None, update=None):
    import numpy as np

    from keras_course import experiments, training, viz

    from bench import common

    models = list(only or MODELS)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise SystemExit(f"augment: unknown models {unknown}; choose from {', '.join(MODELS)}")
    common.pin_tensorflow_threads()
    budget = {**RECIPE, "precision": training.resolve_precision(RECIPE["precision"]),
              **({"limit": 512} if quick else {})}
    per_model = {m: (1 if quick else epochs or EPOCHS[m]) for m in models}
    kept, kept_epochs, measured = _kept_rows(update, models, budget, quick)
    today, machine = time.strftime("%Y-%m-%d"), common.machine()
    result = {"budget": budget, "epochs": {**kept_epochs, **per_model}, "rows": list(kept), "machine": machine,
              "quick": quick, "date": today,
              "measured": {**measured, **{m: {"date": today, "machine": machine} for m in models}}}
    with tempfile.TemporaryDirectory() as runs:
        for model in models:
            for policy in POLICIES:
                config = experiments.RunConfig(model=model, epochs=per_model[model], augment=policy, **budget)
                run_dir = os.path.join(runs, f"{model}_{policy}")
                metrics = experiments.train(config, run_dir, verbose=0)
                seconds = viz.read_history(os.path.join(run_dir, "history.csv"))["epoch_seconds"]
                result["rows"].append({
                    "model": model, "policy": policy, "test_accuracy": metrics["test_accuracy"],
                    "epoch_seconds": float(np.mean(seconds[1:] if len(seconds) > 1 else seconds)),
                    "train_seconds": metrics["train_seconds"], "epochs": per_model[model]})
                if progress:
                    progress(result)
    return result


def show(result):
    print(f"{'model':<10}{'policy':<13}{'epochs':>7}{'test acc':>10}{'s/epoch':>9}")
    for row in result["rows"]:
        print(f"{row['model']:<10}{row['policy']:<13}{row['epochs']:>7}{row['test_accuracy']:>10.4f}"
              f"{row['epoch_seconds']:>9.1f}")
