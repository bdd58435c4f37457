"""`keras-course`: list models and datasets, train or transfer into a run directory, evaluate, export, predict, demo.

Bad input gets one line on stderr naming the problem and the fix, and exit code 2.
"""

import argparse
import json
import os
import shlex
import sys

from keras_course.cli import errors, quiet  # light: TensorFlow is imported under quiet's filter, in main

EXIT_BAD_INPUT = 2


def _parser():
    from keras_course.cli import arguments
    from keras_course.training import PRECISIONS

    parser = argparse.ArgumentParser(prog="keras-course", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help=f"show TensorFlow's own start-up and log lines too (or set {quiet.ENV_VERBOSE}=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, text):
        p = sub.add_parser(name, help=text, parents=[common])
        p.set_defaults(parser=p)  # its flags put the library's messages in its words
        return p

    p = command("models", "list registered models")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard pattern, e.g. 'lenet*'")
    p.add_argument("--exclude", default=None, help="leave out names matching this pattern, e.g. 'preact*'")
    p.add_argument("--details", action="store_true",
                   help="parameters, FLOPs per image, depth and default input of each model (builds every model)")
    p.add_argument("--json", action="store_true", help="with --details: one JSON object per line")

    p = command("datasets", "list datasets, or download one for offline use")
    p.add_argument("--prepare", metavar="NAME", help="download NAME into its cache (needs the internet)")

    p = command("train", "train a model into a run directory (re-run the same command to resume)")
    _run_arguments(p)

    p = command("lr-find", "learning-rate range test: loss against an exponentially growing learning rate, a "
                "suggested rate, plot in --run-dir")
    _run_arguments(p, exclude=("ssl", "minutes"))
    p.add_argument("--start-lr", type=float, default=1e-7)
    p.add_argument("--end-lr", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=200, help="training steps of the sweep (default 200)")

    p = command("compare", "train several models under one budget (Project 1): table, Pareto plot")
    p.add_argument("--models", required=True, help="comma-separated registry names, each optionally with builder "
                   "options: resnet20,vgg11_bn:stem=small;width=0.5")
    p.add_argument("--seeds", type=int, default=1, help="runs per model, seeds --seed, --seed + 1, ...")
    _run_arguments(p, exclude=("model", "model_options", "transfer", "ssl"))

    p = command("search", "hyper-parameter search with keras-tuner around a run: trials table, best_config.json "
                "for `train --config`")
    _run_arguments(p, exclude=("ssl", "minutes"))
    p.add_argument("--tuner", default="random", help="random, hyperband or bayesian (default random)")
    p.add_argument("--max-trials", type=int, default=10, help="trials of random and Bayesian search (default 10)")
    p.add_argument("--factor", type=int, default=3, help="Hyperband's reduction factor (default 3); its trials "
                   "get up to --epochs epochs")
    p.add_argument("--space", action="append", default=None, metavar="NAME=SPEC",
                   help="a dimension of the search: lr=log:1e-4:1e-1, batch_size=64,128,256, width=int:1:4, "
                   "augment=none,light, model=resnet20,resnet32 (default: lr, batch size, weight decay, augmentation, "
                   "and the model's width and dropout where it has them)")
    p.add_argument("--objective", default=None, help="validation metric to optimise (default val_accuracy)")

    p = command("pretrain", "train a model and keep it in saved_models/NAME as a transfer-learning backbone")
    _run_arguments(p)
    p.add_argument("--name", required=True, help="folder name under --save-to; load it with weights='project:NAME'")
    p.add_argument("--save-to", default="saved_models", help="folder that receives NAME/ (default: saved_models)")

    p = command("transfer", "transfer learning into a run directory: new head, then optional fine-tuning")
    _run_arguments(p, exclude=("ssl",), defaults=TRANSFER_COMMAND,
                   aliases={"dataset": ["--data"], "model": ["--backbone"], "transfer.dropout": ["--dropout"]})

    p = command("augment", "draw a grid of training images and augmented views of them under a policy, as the "
                "training pipeline makes them")
    p.add_argument("--dataset", required=True, help="an image dataset (keras-course datasets lists them), "
                   "image_folder:PATH included")
    p.add_argument("--augment", required=True, type=arguments.augment_arg,
                   help="a policy (none, light, standard, strong, mixup, cutmix, randaugment, augmix, simclr) or "
                   "comma-separated steps, e.g. resized_crop,blur@0.5")
    p.add_argument("--n", type=int, default=16, help="training images shown, 1 to 64 (default 16)")
    p.add_argument("--views", type=int, default=4, help="augmented rows under the originals, 1 to 8 (default 4)")
    p.add_argument("--seed", type=int, default=0, help="the views' seed (default 0)")
    p.add_argument("--data-dir", default=None, help="where the dataset lives (default: its usual place)")
    p.add_argument("--out", default="augment.png", help="the PNG written (default augment.png)")

    p = command("evaluate", "evaluate a finished run on its test split")
    p.add_argument("--run-dir", required=True)

    p = command("plot", "draw a finished run's pictures again: curves, confusion, confused pairs, highest-loss "
                "images, filters, feature maps, CAM, Grad-CAM, t-SNE")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--what", default="all", help="all (default: every picture that applies to the run) or any of "
                   "curves, confusion, pairs, top_losses, filters, feature_maps, cam, gradcam, tsne, comma-separated")
    p.add_argument("--layer", default=None, help="layer whose feature maps to draw (default: the last conv maps)")
    p.add_argument("--images", type=int, default=8, help="test images in the CAM and Grad-CAM figures (default 8)")
    p.add_argument("--out", default=None, help="folder for the PNG files (default: RUN_DIR/plots)")

    p = command("export", "export a finished run for serving (SavedModel, .keras, TFLite, ONNX) into "
                "RUN_DIR/export/, each format checked against Keras")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--formats", nargs="+", default=None, metavar="FORMAT",
                   help="any of saved_model keras tflite tflite_int8 onnx (default: all), spaces or commas between")
    p.add_argument("--quiet", action="store_true")

    p = command("predict", "top-k classes of image files, with any exported model")
    p.add_argument("--model", required=True, help="a run directory, a .keras file, a SavedModel folder, a .tflite or "
                   "an .onnx file")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files (any size and colour mode)")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON document instead of text")

    p = command("compress", "compress a finished run's model (distil, remove channels, prune, factorize, quantize, "
                "in that order, each fine-tuned) into a run directory with compress_report.json")
    p.add_argument("--from", dest="from_dir", required=True, metavar="RUN_DIR", help="a finished run directory")
    p.add_argument("--prune", type=float, default=None, metavar="S", help="fraction of the Dense/Conv weights "
                   "zeroed by magnitude, in [0, 1), reached on a polynomial schedule while fine-tuning")
    p.add_argument("--prune-channels", type=float, default=None, metavar="F", help="fraction of the filters of each "
                   "convolution inside a block removed (a smaller model), in [0, 1)")
    p.add_argument("--factorize", type=float, default=None, metavar="K", help="fraction of the factorized layers' "
                   "weights kept by truncated SVD, in (0, 1]")
    p.add_argument("--quantize", default=None, help="ptq8 (post-training full-integer int8), ptq4 (int4 weights, "
                   "stored as int8 by TFLite, counted at 4 bits), qat8 or qat4 (quantization-aware training, "
                   "--epochs of it)")
    p.add_argument("--distill-from", default=None, metavar="TEACHER_RUN_DIR", help="a finished run whose model "
                   "teaches this one (first, before the other techniques)")
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs of each technique that trains "
                   "(default 2)")
    p.add_argument("--lr", type=float, default=None, help="their peak learning rate (default: a tenth of the run's; "
                   "a hundredth for --quantize qat8/qat4, whose batch norms are folded away)")
    p.add_argument("--scope", default="global", help="pruning: global (one threshold over every layer) or layer "
                   "(each layer to the sparsity) (default global)")
    p.add_argument("--criterion", default="l1", help="channel pruning: keep the filters of largest L1 norm (l1) or "
                   "largest batch-norm scale (bn_scale) (default l1)")
    p.add_argument("--temperature", type=float, default=4.0, help="distillation temperature (default 4)")
    p.add_argument("--alpha", type=float, default=0.1, help="distillation: weight of the labels' loss (default 0.1)")
    p.add_argument("--latency-runs", type=int, default=200, help="single-image TFLite calls timed (default 200)")
    p.add_argument("--run-dir", default=None, help="default: runs/compress_<the run's folder name>")
    p.add_argument("--overwrite", action="store_true", help="delete what --run-dir holds and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = command("score", "what a model costs and scores (parameters, storage bits, MACs, TFLite size, latency, "
                "accuracy) against a dense baseline: for any .keras or .tflite file")
    p.add_argument("model", metavar="MODEL", help="a .keras or .tflite file")
    p.add_argument("--data", default="fashion_mnist", help="dataset whose test split scores it (default "
                   "fashion_mnist)")
    p.add_argument("--baseline", default=None, help="the dense model scored against: a .keras or .tflite file or "
                   "project:NAME (default for fashion_mnist: project:fashion_mnist_cnn4_bn)")
    p.add_argument("--weight-bits", type=int, default=None, help="count int8 kernels at this many bits, 2 to 7 (a "
                   "model quantized to 4 bits, which TFLite stores as int8)")
    p.add_argument("--limit", type=int, default=None, help="score on the first N test images only (a quick look)")
    p.add_argument("--latency-runs", type=int, default=200, help="single-image calls timed (default 200)")
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")

    p = command("demo", "the main job: train the default classifier on Fashion-MNIST and save it")
    p.add_argument("--epochs", type=int, default=None, help="default: 7 where the precision computes in bfloat16 or "
                   "float16, 5 in float32 (the one-cycle schedule fitted to the demo's time budget)")
    p.add_argument("--limit", type=int, default=None, help="train on a subset (for a quick look)")
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--save-to", default="saved_models", help="folder that receives saved_models/<name>/")
    p.add_argument("--name", default=None, help="name of the saved model (default: fashion_mnist_<model>)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="auto (by hardware: mixed_bfloat16 on a "
                   "CPU or GPU that computes bfloat16), or one policy for every machine")
    return parser


def _run_arguments(p, **options):
    """A command that trains: every run setting (keras_course.cli.arguments), and where the run goes."""
    from keras_course.cli import arguments

    arguments.add_run_arguments(p, **options)
    p.add_argument("--cpu-devices", type=int, default=None, metavar="N",
                   help="split the CPU into N logical devices (with --strategy mirrored and no GPU: N replicas)")
    p.add_argument("--run-dir", default=None, help="default: runs/<command>_<model>_<dataset>")
    p.add_argument("--overwrite", action="store_true", help="delete what --run-dir holds and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# The demo's settings: the time_to_accuracy recipe (bench/time_to_accuracy.py) with its schedule fitted to 7 epochs
# and no test-time augmentation, so that the saved model is what scores the printed accuracy; measured in the README.
DEMO = dict(model="cnn4_bn", dataset="fashion_mnist", epochs=7, batch_size=256, optimizer="nesterov", lr=0.2,
            schedule="one_cycle", weight_decay=5e-4, label_smoothing=0.1, augment=["flip"], bn_momentum=0.9,
            val_fraction=0.0, seed=0)
# float32 on a CPU trains about 2x slower than bfloat16 where the CPU computes it (22 s an epoch against 10 s on
# the project's machines), so a CPU without bfloat16 gets a shorter one-cycle schedule: 0.92 within 120 s
DEMO_FLOAT32_EPOCHS = 5


def demo_epochs(precision: str) -> int:
    """The demo's epochs under a resolved precision policy."""
    return DEMO_FLOAT32_EPOCHS if precision == "float32" else DEMO["epochs"]


# The transfer command's defaults: a head at a constant rate on a small batch, light augmentation.
TRANSFER_COMMAND = dict(epochs=5, lr=1e-3, batch_size=32, schedule="constant", augment="light", val_fraction=0.2,
                        transfer=dict(weights="imagenet", fine_tune_epochs=0, fine_tune_lr=1e-5, unfreeze_stages=None,
                                      dropout=0.2, options=None))


def _config(args, **options):
    from keras_course.cli import arguments

    return arguments.config_from_args(args, **options)


def _run_dir(args, *parts):
    """--run-dir, or runs/<parts joined by _> (a dataset name made a plain folder name)."""
    return args.run_dir or "runs/" + "_".join(str(p).replace(":", "_").replace("/", "_") for p in parts)


def _print_metrics(metrics, info):
    if info.task == "regression":
        print(f"test_mse={metrics['test_mse']:.5f}  test_mae={metrics['test_mae']:.5f}")
        return
    print(f"test_accuracy={metrics['test_accuracy']:.4f}  test_loss={metrics['test_loss']:.4f}")
    width = max(len(n) for n in info.class_names) + 2
    print(f"{'class':<{width}}precision  recall  f1     support")
    for name, row in metrics["per_class"].items():
        print(f"{name:<{width}}{row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1-score']:5.3f}  {int(row['support']):7d}")
    macro = metrics["macro_avg"]
    print(f"{'macro avg':<{width}}{macro['precision']:9.3f}  {macro['recall']:6.3f}  {macro['f1-score']:5.3f}")


def _cmd_models(args):
    from keras_course import models

    names = models.list_models(args.pattern, exclude=args.exclude)
    if not names:
        raise ValueError(f"No model matches {args.pattern!r}. `keras-course models` lists them all.")
    if not args.details:
        for name in names:
            print(f"{name:<18}{models.describe(name)}")
        return 0
    if not args.json:
        print(f"{'model':<18}{'params':>13}{'trainable':>13}{'GFLOPs/img':>12}{'depth':>7}  input")
    for name in names:
        row = models.details(name)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            shape = "x".join(map(str, row["input_shape"]))
            print(f"{name:<18}{row['params']:>13,}{row['trainable_params']:>13,}{row['flops_per_image'] / 1e9:>12.3f}"
                  f"{row['depth']:>7}  {shape}", flush=True)
    return 0


def _cmd_datasets(args):
    from keras_course import data

    if args.prepare:
        data.prepare(args.prepare)
        print(f"{args.prepare} is ready for offline use.")
        return 0
    for name, text in data.DESCRIPTIONS.items():
        print(f"{name:<22}{text}")
    return 0


def _train(args, config, run_dir):
    """experiments.train for `train` and `pretrain`, after --cpu-devices; None on a non-chief worker."""
    from keras_course import experiments, training

    if args.cpu_devices is not None:
        training.split_cpu(args.cpu_devices)
    metrics = experiments.train(config, run_dir, overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    if not metrics.get("chief", True):
        print(f"keras-course {args.command}: this worker finished ({metrics['replicas']} replicas in all); "
              f"the chief wrote the run directory. Weights SHA-256: {metrics['weights_sha256']}")
        return None
    return metrics


def _cmd_train(args):
    config = _config(args)
    return _train_and_print(args, config, _run_dir(args, config.model, config.dataset))


def _cmd_transfer(args):
    config = _config(args, defaults=TRANSFER_COMMAND, transfer=True)
    return _train_and_print(args, config, _run_dir(args, "transfer", config.model))


def _knn_words(metrics):
    """What a self-supervised run's kNN accuracy was, or why it has none."""
    if metrics["test_knn_accuracy"] is None:
        return "no kNN accuracy (the images have no labels to score features by)"
    return (f"kNN accuracy of the encoder's features on the test split {metrics['test_knn_accuracy']:.4f} "
            f"({metrics['knn_reference_images']} labelled reference images)")


def _train_and_print(args, config, run_dir):
    from keras_course import data

    metrics = _train(args, config, run_dir)
    if metrics is None:
        return 0
    if "ssl" in metrics:
        print(f"{metrics['ssl']}: {_knn_words(metrics)}")
    else:
        _print_metrics(metrics, data.DatasetInfo(**metrics["dataset"]))
    out_of_time = f"; the --minutes {config.minutes:g} budget ran out first" if metrics.get("out_of_time") else ""
    print(f"run directory: {run_dir}  ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.1f} s of training"
          f"{out_of_time})")
    if metrics["replicas"] > 1:
        print(f"{metrics['replicas']} replicas; weights SHA-256: {metrics['weights_sha256']}")
    return 0


def _cmd_compare(args):
    from keras_course import experiments

    config = _config(args, defaults={"model": "compare"})
    settings = {k: v for k, v in config.to_dict().items() if k not in ("model", "dataset", "epochs", "model_options")}
    run_dir = _run_dir(args, "compare", config.dataset)
    rows = experiments.compare(args.models, config.dataset, run_dir=run_dir, epochs=config.epochs, seeds=args.seeds,
                               verbose=0 if args.quiet else 1, **settings)
    with open(os.path.join(run_dir, "compare.md")) as f:
        print(f.read(), end="")
    print(f"{len(rows)} models; table: {os.path.join(run_dir, 'compare.csv')}, plot: {os.path.join(run_dir, 'pareto.png')}")
    return 0


def _cmd_search(args):
    from keras_course import experiments

    config = _config(args)
    run_dir = _run_dir(args, "search", config.model, config.dataset)
    result = experiments.search(config, run_dir, space=args.space, tuner=args.tuner, max_trials=args.max_trials,
                                factor=args.factor, objective=args.objective, overwrite=args.overwrite,
                                verbose=0 if args.quiet else 1)
    with open(os.path.join(run_dir, "trials.md")) as f:
        print(f.read(), end="")
    print(f"best {result.objective}: {result.best[result.objective]:.4f} (trial {result.best['trial']}); "
          f"train it: keras-course train --config {result.best_config_path}")
    return 0


def _cmd_lr_find(args):
    from keras_course import experiments

    config = _config(args)
    out_dir = _run_dir(args, "lr_find", config.model, config.dataset)
    result = experiments.lr_find_run(config, out_dir, start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps)
    print(f"suggested learning rate: {result.suggested:.3g} (a tenth of {result.minimum:.3g}, where the smoothed "
          f"loss is lowest; steepest descent at {result.steepest:.3g}); {len(result.losses)} steps"
          f"{', stopped when the loss blew up' if result.diverged else ''}")
    print(f"plot: {os.path.join(out_dir, 'lr_find.png')}")
    return 0


def _cmd_pretrain(args):
    from keras_course import experiments

    config = _config(args)
    run_dir = _run_dir(args, "pretrain", args.name)
    if "/" in args.name or args.name.startswith("."):
        raise ValueError(f"--name must be a plain folder name, e.g. fashion_mnist_0-4_resnet20. Received: --name {args.name!r}")
    metrics = _train(args, config, run_dir)
    if metrics is None:
        return 0
    path = experiments.save_pretrained(run_dir, args.save_to, args.name, command=args.command_line)
    if config.ssl is not None:
        print(f"pretrain: {config.ssl} {config.model} on {config.dataset} without its labels for "
              f"{metrics['train_seconds']:.0f} s, {_knn_words(metrics)}; saved the encoder to {path} "
              f"(use weights='project:{args.name}')")
        return 0
    print(f"pretrain: {config.model} reached test accuracy {metrics['test_accuracy']:.4f} on {config.dataset}"
          f"{' classes ' + ','.join(map(str, config.classes)) if config.classes else ''} in "
          f"{metrics['train_seconds']:.0f} s; saved to {path} (use weights='project:{args.name}')")
    return 0


def _cmd_augment(args):
    from keras_course import data, viz

    for flag, value, high in (("--n", args.n, 64), ("--views", args.views, 8)):
        if not 1 <= value <= high:
            raise ValueError(f"{flag} must be between 1 and {high}. Received: {flag} {value}")
    if not args.out.lower().endswith(".png"):
        raise ValueError(f"--out names the PNG file to write, ending in .png. Received: --out {args.out}")
    train, _, _, info = data.load(args.dataset, val_fraction=0.0, limit=max(args.n, 64), data_dir=args.data_dir,
                                  unlabelled=True)  # a preview needs no labels
    if not info.is_image:
        raise ValueError(f"--dataset {args.dataset} is not an image dataset: augmentation applies to images.")
    data.check_policy(args.augment, info.input_shape, info.task)
    x, y = data.to_numpy(train)
    x, y = x[:args.n], y[:args.n].astype("int64").reshape(-1)
    views, labels = data.augment_preview(x, y, args.augment, num_classes=info.num_classes, views=args.views,
                                         seed=args.seed)
    policy = args.augment if isinstance(args.augment, str) else ",".join(args.augment)
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    viz.augmentation_grid(x, y, views, labels, info.class_names, args.out,
                          title=f"{args.dataset}: --augment {policy} (seed {args.seed})")
    print(f"wrote {args.out}: {args.n} images of {args.dataset} and {args.views} views of each under {policy}")
    return 0


def _cmd_evaluate(args):
    from keras_course import experiments

    metrics, info = experiments.evaluate(args.run_dir)
    _print_metrics(metrics, info)
    return 0


def _cmd_plot(args):
    from keras_course import experiments

    written, skipped = experiments.plot_run(args.run_dir, args.what, out_dir=args.out, layer=args.layer,
                                            images=args.images)
    for name, path in written.items():
        print(f"{name:<13}{path}")
    for name, reason in skipped.items():
        print(f"{name:<13}skipped: {reason}")
    return 0


def _cmd_export(args):
    from keras_course import export, experiments

    formats = export.check_formats(",".join(args.formats)) if args.formats else export.FORMATS
    report = experiments.export_run(args.run_dir, formats, verbose=not args.quiet)
    keras_accuracy = report["keras"].get("test_accuracy")
    print(f"{'format':<12} {'size':>10} {'max |diff|':>11} {'top-1 agree':>11} {'test acc':>9} {'ms/image':>9}  check")
    print(f"{'keras model':<12} {'':>10} {'':>11} {'':>11} {_figure(keras_accuracy, 4):>9} "
          f"{_figure(report['keras']['latency_ms_per_image'], 3):>9}")
    for name, entry in report["formats"].items():
        if "error" in entry:
            print(f"{name:<12} not produced: {entry['error']}")
            continue
        print(f"{name:<12} {entry['size_bytes']:>10,} {entry['max_abs_diff']:>11.2e} "
              f"{_figure(entry.get('top1_agreement'), 4):>11} {_figure(entry.get('test_accuracy'), 4):>9} "
              f"{entry['latency_ms_per_image']:>9.3f}  {'ok' if entry['passed'] else 'FAILED'}")
    print(f"report: {os.path.join(args.run_dir, 'export', export.REPORT)}")
    failed = [name for name, entry in report["formats"].items() if not entry["passed"]]
    if failed:
        print(f"keras-course export: {', '.join(failed)} failed its check or could not be produced (see the report)",
              file=sys.stderr)
        return 1
    return 0


def _figure(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def _cmd_predict(args):
    from keras_course import export

    predictions = export.predict_files(args.model, args.images, top_k=args.top_k)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        for prediction in predictions:
            print(prediction, file=sys.stderr if prediction.error else sys.stdout)
    return 1 if any(p.error for p in predictions) else 0


def _cmd_compress(args):
    from keras_course import experiments
    from keras_course.experiments.compress_run import REPORT

    settings = experiments.CompressSettings(
        prune=args.prune, prune_channels=args.prune_channels, factorize=args.factorize, quantize=args.quantize,
        distill_from=args.distill_from, epochs=args.epochs, lr=args.lr, scope=args.scope, criterion=args.criterion,
        temperature=args.temperature, alpha=args.alpha, latency_runs=args.latency_runs)
    run_dir = args.run_dir or os.path.join("runs", "compress_" + os.path.basename(os.path.normpath(args.from_dir)))
    result = experiments.compress_run(args.from_dir, run_dir, settings, overwrite=args.overwrite,
                                      verbose=0 if args.quiet else 1)
    _print_reports({"dense": result["baseline"], "compressed": result["compressed"]})
    print(f"score {result['compressed']['score']:.4f} (the dense model: 2); run directory: {run_dir}; "
          f"report: {os.path.join(run_dir, REPORT)}")
    return 0


REPORT_COLUMNS = (("test_accuracy", "test acc", "{:.4f}"), ("params", "params", "{:,}"),
                  ("nonzero_params", "non-zero", "{:,}"), ("storage_bits", "storage KiB", "{:,.1f}"),
                  ("macs", "MACs", "{:,}"), ("sparse_macs", "sparse MACs", "{:,}"),
                  ("tflite_bytes", "tflite B", "{:,}"), ("tflite_gzip_bytes", "gzip B", "{:,}"),
                  ("latency_ms", "ms/img", "{:.3f}"))


def _print_reports(rows):
    """compress.report entries as a table, one row each."""
    print(f"{'':<11}" + "".join(f"{title:>13}" for _, title, _ in REPORT_COLUMNS))
    for name, entry in rows.items():
        cells = []
        for field, _, style in REPORT_COLUMNS:
            value = entry.get(field)
            if field == "storage_bits" and value is not None:
                value = value / 8 / 1024
            cells.append(f"{'-' if value is None else style.format(value):>13}")
        print(f"{name:<11}" + "".join(cells))


def _cmd_score(args):
    from keras_course import compress, data

    if args.baseline is None and args.data != "fashion_mnist":
        raise ValueError(f"--data {args.data} has no default baseline: pass --baseline (the dense model, a .keras "
                         "or .tflite file).")
    if args.weight_bits is not None and not 2 <= args.weight_bits <= 7:
        raise ValueError(f"--weight-bits counts int8 kernels at fewer bits: 2 to 7. Received: --weight-bits "
                         f"{args.weight_bits}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be a positive number of test images. Received: --limit {args.limit}")
    _, _, test_ds, info = data.load(args.data, val_fraction=0.0, limit=args.limit)
    x, y = data.to_numpy(test_ds)
    model = compress.read_model(args.model)
    baseline = compress.read_model(_project_path(args.baseline or "project:fashion_mnist_cnn4_bn"))
    for name, candidate in (("MODEL", model), ("--baseline", baseline)):
        shape = compress.input_shape_of(candidate)
        if tuple(shape) != tuple(info.input_shape):
            raise ValueError(f"{name} takes inputs shaped {tuple(shape)} and --data {args.data} has "
                             f"{tuple(info.input_shape)}: score it on the data it was trained for.")
    entry = compress.report(model, (x, y), weight_bits=args.weight_bits, latency_runs=args.latency_runs)
    reference = compress.report(baseline, (x, y), latency_runs=args.latency_runs)
    entry["score"] = compress.score(entry, reference)
    if args.json:
        print(json.dumps({"model": args.model, "baseline": reference, "scored": entry}, indent=2))
        return 0
    _print_reports({"baseline": reference, "model": entry})
    print(f"score {entry['score']:.4f} = storage {entry['storage_bits'] / reference['storage_bits']:.4f} + "
          f"operations {entry['bit_macs'] / reference['bit_macs']:.4f} (lower is better; the baseline scores 2)")
    return 0


def _project_path(path):
    """project:NAME as the path of that saved model's .keras file; any other path as it is."""
    from keras_course.transfer.backbones import PROJECT_PREFIX, project_model_dir, project_models

    if not path.startswith(PROJECT_PREFIX):
        return path
    try:
        return os.path.join(project_model_dir(path[len(PROJECT_PREFIX):]), "model.keras")
    except ValueError:
        raise ValueError(f"--baseline {path}: no such project model. Available: "
                         f"{', '.join(project_models()) or 'none'} (or pass a .keras or .tflite file).") from None


def _cmd_demo(args):
    from keras_course import experiments, training

    epochs = demo_epochs(training.resolve_precision(args.precision)) if args.epochs is None else args.epochs
    config = experiments.RunConfig(**{**DEMO, "epochs": epochs, "limit": args.limit, "precision": args.precision})
    metrics = experiments.train(config, args.run_dir, overwrite=True)
    name = args.name or f"fashion_mnist_{config.model}"
    command = args.command_line
    if args.precision == "auto":  # the manifest's command names the policy used, so it reproduces the model anywhere
        command += f" --precision {metrics['precision']}"
    path = experiments.save_pretrained(args.run_dir, args.save_to, name, command=command)
    print(f"demo: {config.model} reached test accuracy {metrics['test_accuracy']:.4f} in "
          f"{metrics['train_seconds']:.0f} s of training; saved to {path}")
    return 0


COMMANDS = {"models": _cmd_models, "datasets": _cmd_datasets, "train": _cmd_train, "lr-find": _cmd_lr_find, "compare": _cmd_compare, "search": _cmd_search, "pretrain": _cmd_pretrain, "transfer": _cmd_transfer,
            "augment": _cmd_augment, "evaluate": _cmd_evaluate, "plot": _cmd_plot, "export": _cmd_export, "predict": _cmd_predict, "compress": _cmd_compress,
            "score": _cmd_score, "demo": _cmd_demo}


# Arguments of library functions that a command's messages name, where they differ from its flags
PYTHON_NAMES = {"predict": {"model_path": "--model", "path": "--model"}, "plot": {"what": "--what"},
                "compress": {"prune_channels": "--prune-channels", "distill_from": "--distill-from",
                             "run_dir": "--run-dir", "path": "--from"},
                "score": {"path": "MODEL", "model": "MODEL"}}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if quiet.verbose_requested(argv):
        return _main(argv)
    with quiet.StartupLinesHidden():
        return _main(argv)


def _main(argv):
    parser = _parser()
    args = parser.parse_args(argv)
    args.command_line = "keras-course " + shlex.join(argv)
    from keras_course.data import DatasetNotFoundError
    from keras_course.experiments import SearchFailedError
    from keras_course.training import NaNLossError

    try:
        return COMMANDS[args.command](args)
    except (ValueError, DatasetNotFoundError, NaNLossError) as error:
        _say(args, error)
        return EXIT_BAD_INPUT
    except (SearchFailedError, ImportError) as error:  # every trial failed; a missing optional package
        _say(args, error)
        return 1


def _say(args, error):
    """One line on stderr: the library's message in this command's flag words."""
    message = errors.in_flag_words(str(error), errors.flags_of(args.parser), PYTHON_NAMES.get(args.command))
    print(f"keras-course {args.command}: error: {' '.join(message.split())}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
