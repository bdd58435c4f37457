"""`python -m bench NAME [--quick] [--json OUT]`: a table on stdout, the results as JSON.

Benchmarks (each module's docstring gives its method and JSON schema):
  demo              the README's demo: test accuracy and training seconds of the default classifier
  zoo               six architectures on Fashion-MNIST under one budget
  roofline          training throughput as a percentage of this machine's measured GEMM speed
  overheads         steps_per_execution and XLA on/off; do the library's defaults pick the faster option?
  pipeline          the input pipeline's images/s against resnet20's training rate
  time_to_accuracy  seconds of training until Fashion-MNIST test accuracy reaches 0.92, 0.93 and 0.94
  batchnorm         the library's fused batch norm against Keras's, same models, alternated
  vs_keras_apps     our resnet50, vgg16, densenet121 against keras.applications: parameters, throughput ratio
  vs_torch          lenet5, cnn4_bn, resnet20, resnet18 (small stem) against the same networks in PyTorch
  scaling           cnn4_bn under each tf.distribute strategy (one replica, mirrored x2, two local workers)
  conv_ceiling      each conv net's convolutions alone: the roofline and vs_torch figures they allow
  precision         one model of every family in float32 and mixed_bfloat16: what precision="auto" rests on
  gpu               on a GPU with JAX and no TensorFlow: time to 0.95 and every family's img/s (--dry-run: CPU)
  compression       pruning, channels, factorization, int8/int4 PTQ and QAT, distillation on one Fashion-MNIST model
  augment           each augmentation policy (none ... mixup, cutmix, randaugment) on cnn4_bn and resnet20, one budget
  ssl               SimCLR pretraining without labels, then 20 and 100 labels per class: scratch, probe, fine-tune
"""

import argparse
import importlib
import sys

from bench import common

# imported on demand: `gpu` runs where TensorFlow, which some of the others import at the top, is not installed
BENCHMARKS = ("demo", "zoo", "roofline", "overheads", "pipeline", "time_to_accuracy", "vs_keras_apps", "batchnorm",
              "vs_torch", "scaling", "conv_ceiling", "precision", "gpu", "compression", "augment", "ssl")
# a benchmark whose module is named otherwise: bench/ssl.py would shadow the standard library's ssl for any script
# run from bench/ (its folder is then the first place Python looks)
MODULES = {"ssl": "ssl_study"}


# The command-line options each benchmark takes besides --quick (the others take none).
OPTIONS = {
    "zoo": lambda args, only: dict(epochs=args.epochs, limit=args.limit, only=only,
                                   progress=lambda partial: common.write_json(args.json, partial)),
    "roofline": lambda args, only: dict(only=only),
    "vs_torch": lambda args, only: dict(only=only, precision=args.precision),
    "conv_ceiling": lambda args, only: dict(only=only),
    "precision": lambda args, only: dict(only=only),
    "time_to_accuracy": lambda args, only: dict(epochs=args.epochs),
    "batchnorm": lambda args, only: dict(precision=args.precision),
    "gpu": lambda args, only: dict(data_dir=args.data, only=only),
    "compression": lambda args, only: dict(model=_one(only, "compression"), seeds=args.seeds,
                                           techniques=args.techniques, update=args.json),
    "augment": lambda args, only: dict(only=only, epochs=args.epochs, update=args.json,
                                       progress=lambda partial: common.write_json(args.json, partial)),
}


def _one(only, benchmark):
    """The single model a benchmark studies at a time (None: its default)."""
    if only is None:
        return None
    if len(only) != 1:
        raise SystemExit(f"python -m bench {benchmark}: --models takes one model at a time; received {only}.")
    return only[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the benchmark runs")
    parser.add_argument("--dry-run", action="store_true", help="gpu: tiny sizes, JAX on the CPU (as --quick)")
    parser.add_argument("--data", metavar="DIR", help="gpu: the folder holding Fashion-MNIST's four IDX files "
                        "(default: where Debian's dataset-fashion-mnist puts them, or keras's cache)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON (zoo: rewritten after each model)")
    parser.add_argument("--epochs", type=int, help="zoo, time_to_accuracy, augment: epochs (default: the benchmark's own)")
    parser.add_argument("--limit", type=int, help="zoo: examples drawn from the training set; 0 for all of it")
    parser.add_argument("--models", help="zoo, roofline, vs_torch, conv_ceiling, precision, gpu: comma-separated registry "
                        "names or labels (default: all); compression: cnn4_bn or resnet20; augment: cnn4_bn,resnet20")
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",")],
                        help="compression: comma-separated seeds (default: 0,1,2; --quick: 0)")
    parser.add_argument("--techniques", type=lambda text: [t.strip() for t in text.split(",")],
                        help="compression: re-measure only these rows (e.g. qat_int8,qat_int4,combined) and put them "
                        "into the earlier result named by --json")
    parser.add_argument("--precision", default="float32", help="vs_torch (both sides), batchnorm: float32 or "
                        "mixed_bfloat16")
    args = parser.parse_args(argv)
    only = None if args.models is None else [m.strip() for m in args.models.split(",")]

    options = OPTIONS.get(args.name, lambda args, only: {})(args, only)
    benchmark = importlib.import_module(f"bench.{MODULES.get(args.name, args.name)}")
    result = benchmark.run(args.quick or args.dry_run, **options)
    benchmark.show(result)
    # a benchmark may name where its full-size results belong (gpu: bench/results/gpu_<device>.json)
    default_json = getattr(benchmark, "default_json", lambda result: None)(result)
    common.write_json(args.json or default_json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
