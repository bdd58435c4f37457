"""`demo`: the README's demo: Fashion-MNIST test accuracy and seconds of training of the default classifier.

JSON: {"model": ..., "test_accuracy": ..., "train_seconds": ..., "epochs": ..., "seconds_per_epoch": ..., "params": ...,
       "cpu_count": ...}
"""

import os
import tempfile


def run(quick=False):
    from keras_course import experiments, training
    from keras_course.cli.main import DEMO, demo_epochs

    epochs = demo_epochs(training.resolve_precision("auto"))
    config = experiments.RunConfig(**{**DEMO, "epochs": epochs, **({"epochs": 1, "limit": 5000} if quick else {})})
    with tempfile.TemporaryDirectory() as run_dir:
        metrics = experiments.train(config, os.path.join(run_dir, "run"), verbose=0)
    return {"model": config.model, "options": config.model_options, "test_accuracy": metrics["test_accuracy"],
            "train_seconds": metrics["train_seconds"], "epochs": metrics["epochs_run"],
            "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"], "params": metrics["params"],
            "cpu_count": os.cpu_count(), "quick": quick}


def show(result):
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
