"""`python -m bench NAME [--quick] [--json OUT]`.

Benchmarks:
  demo   the README's demo: Fashion-MNIST test accuracy and seconds of training of the default classifier.
         JSON: {"model": ..., "test_accuracy": ..., "train_seconds": ..., "epochs": ..., "seconds_per_epoch": ...,
                "params": ..., "cpu_count": ...}
"""

import argparse
import json
import os
import sys
import tempfile


def demo(quick):
    from keras_course import experiments
    from keras_course.cli.main import DEMO

    config = experiments.RunConfig(**{**DEMO, **({"epochs": 1, "limit": 5000} if quick else {})})
    with tempfile.TemporaryDirectory() as run_dir:
        metrics = experiments.train(config, os.path.join(run_dir, "run"), verbose=0)
    return {"model": config.model, "options": config.model_options, "test_accuracy": metrics["test_accuracy"],
            "train_seconds": metrics["train_seconds"], "epochs": metrics["epochs_run"],
            "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"], "params": metrics["params"],
            "cpu_count": os.cpu_count(), "quick": quick}


BENCHMARKS = {"demo": demo}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the benchmark runs")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    args = parser.parse_args(argv)
    result = BENCHMARKS[args.name](args.quick)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
