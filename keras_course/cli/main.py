"""`keras-course`: list models and datasets, train or transfer into a run directory, evaluate, export, predict, demo.

Bad input gets one line on stderr naming the problem and the fix, and exit code 2.
"""

import argparse
import json
import os
import shlex
import sys

EXIT_BAD_INPUT = 2


def _parser():
    parser = argparse.ArgumentParser(prog="keras-course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list registered models")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard pattern, e.g. 'lenet*'")
    p.add_argument("--details", action="store_true",
                   help="parameters, FLOPs per image, depth and default input of each model (builds every model)")
    p.add_argument("--json", action="store_true", help="with --details: one JSON object per line")

    p = sub.add_parser("datasets", help="list datasets, or download one for offline use")
    p.add_argument("--prepare", metavar="NAME", help="download NAME into its cache (needs the internet)")

    p = sub.add_parser("train", help="train a model into a run directory (re-run the same command to resume)")
    _add_train_arguments(p)

    p = sub.add_parser("lr-find", help="learning-rate range test: loss against an exponentially growing learning "
                       "rate, a suggested rate, plot in --run-dir")
    _add_train_arguments(p)
    p.add_argument("--start-lr", type=float, default=1e-7)
    p.add_argument("--end-lr", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=200, help="training steps of the sweep (default 200)")

    p = sub.add_parser("compare", help="train several models under one budget (Project 1): table, Pareto plot")
    p.add_argument("--models", required=True, help="comma-separated registry names, each optionally with builder "
                   "options: resnet20,vgg11_bn:stem=small;width=0.5")
    p.add_argument("--seeds", type=int, default=1, help="runs per model, seeds --seed, --seed + 1, ...")
    _add_train_arguments(p, model=False)

    p = sub.add_parser("pretrain", help="train a model and keep it in saved_models/NAME as a transfer-learning backbone")
    _add_train_arguments(p)
    p.add_argument("--name", required=True, help="folder name under --save-to; load it with weights='project:NAME'")
    p.add_argument("--save-to", default="saved_models", help="folder that receives NAME/ (default: saved_models)")

    p = sub.add_parser("transfer", help="transfer learning into a run directory: new head, then optional fine-tuning")
    p.add_argument("--data", required=True, help="dataset name or image_folder:PATH (one sub-folder per class)")
    p.add_argument("--backbone", required=True, help="keras.applications name (ResNet50, MobileNetV2, ...) or a "
                   "registry model (resnet20, ...)")
    p.add_argument("--weights", default="imagenet", help="imagenet (Keras cache), none, project:NAME or a weights file")
    p.add_argument("--image-size", type=int, default=None, help="resize images to N x N (image folders; default 160)")
    p.add_argument("--epochs", type=int, default=5, help="epochs of training the new head on the frozen backbone")
    p.add_argument("--fine-tune-epochs", type=int, default=0, help="then unfreeze and fine-tune for this many epochs")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of the head phase")
    p.add_argument("--fine-tune-lr", type=float, default=1e-5)
    p.add_argument("--unfreeze-stages", type=int, default=None, help="fine-tune only the last N stages (default: all)")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--augment", default="light", help="policy (none, light, standard, strong) or steps")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="registry backbone option")
    p.add_argument("--run-dir", default=None, help="default: runs/transfer_<backbone>")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("evaluate", help="evaluate a finished run on its test split")
    p.add_argument("--run-dir", required=True)

    p = sub.add_parser("export", help="export a finished run for serving (SavedModel, .keras, TFLite, ONNX) into "
                       "RUN_DIR/export/, each format checked against Keras")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--formats", nargs="+", default=None, metavar="FORMAT",
                   help="any of saved_model keras tflite tflite_int8 onnx (default: all), spaces or commas between")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("predict", help="top-k classes of image files, with any exported model")
    p.add_argument("--model", required=True, help="a run directory, a .keras file, a SavedModel folder, a .tflite or "
                   "an .onnx file")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files (any size and colour mode)")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON document instead of text")

    p = sub.add_parser("demo", help="the main job: train the default classifier on Fashion-MNIST and save it")
    p.add_argument("--epochs", type=int, default=DEMO["epochs"])
    p.add_argument("--limit", type=int, default=None, help="train on a subset (for a quick look)")
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--save-to", default="saved_models", help="folder that receives saved_models/<name>/")
    p.add_argument("--name", default=None, help="name of the saved model (default: fashion_mnist_<model>)")
    return parser


def _add_train_arguments(p, model=True):
    if model:
        p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the optimizer's usual one)")
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--augment", default="none", help="policy (none, light, standard, strong) or steps 'flip,rotate:0.1'")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=None, help="early stopping patience in epochs (off by default)")
    p.add_argument("--limit", type=int, default=None, help="use at most N training and N test examples")
    p.add_argument("--classes", default=None, help="keep only these class indices, e.g. 0,1,2,3,4 (relabelled 0..k-1)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model option, JSON value, e.g. --option width=2 --option 'hidden=[128,64]'")
    p.add_argument("--bn-momentum", type=float, default=None,
                   help="BatchNorm moving-average momentum (default: the model's, 0.99); 0.9 for runs of 1-2 epochs")
    p.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                   help="XLA compilation: auto = on with a GPU, off on the CPU (where it is slower)")
    p.add_argument("--deterministic", action="store_true", help="bit-for-bit repeatable TF ops (slower on GPU)")
    p.add_argument("--precision", default="auto", help="auto (mixed_float16 with a GPU, float32 on the CPU), float32, "
                   "mixed_float16 or mixed_bfloat16")
    p.add_argument("--strategy", default="default", help="default (one device), mirrored (every local GPU, or every "
                   "logical CPU) or multiworker (the cluster in TF_CONFIG; run the same command on every worker)")
    p.add_argument("--cpu-devices", type=int, default=None, metavar="N",
                   help="split the CPU into N logical devices (with --strategy mirrored and no GPU: N replicas)")
    p.add_argument("--run-dir", default=None, help="default: runs/<model>_<dataset>")
    p.add_argument("--overwrite", action="store_true", help="delete what --run-dir holds and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# The demo's settings: LeNet-5 with batch norm, cosine schedule; measured in the README.
DEMO = dict(model="lenet5_bn", dataset="fashion_mnist", epochs=14, batch_size=128, optimizer="adam", lr=3e-3,
            schedule="cosine", augment="none", seed=0, model_options={"width": 1.5})


def _parse_options(pairs):
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option must look like KEY=VALUE, e.g. width=2. Received: --option {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _augment_arg(value):
    return [s for s in value.split(",") if s] if "," in value or ":" in value else value


def _config_from_args(args, model=None):
    from keras_course.experiments import RunConfig

    return RunConfig(
        model=model or args.model, dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, schedule=args.schedule, warmup_epochs=args.warmup_epochs,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, augment=_augment_arg(args.augment),
        val_fraction=args.val_fraction, seed=args.seed, patience=args.patience, limit=args.limit,
        classes=_classes_arg(args.classes),
        data_dir=args.data_dir, model_options=_parse_options(args.option), bn_momentum=args.bn_momentum,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit], deterministic_ops=args.deterministic,
        precision=args.precision, strategy=args.strategy,
    )


def _classes_arg(text):
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--classes takes comma-separated class indices, e.g. 0,1,2. Received: --classes {text!r}") from None


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

    names = models.list_models(args.pattern)
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
    from keras_course import data

    config = _config_from_args(args)
    run_dir = args.run_dir or f"runs/{config.model}_{config.dataset.replace(':', '_').replace('/', '_')}"
    metrics = _train(args, config, run_dir)
    if metrics is None:
        return 0
    info = data.DatasetInfo(**metrics["dataset"])
    _print_metrics(metrics, info)
    print(f"run directory: {run_dir}  ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.1f} s of training)")
    if metrics["replicas"] > 1:
        print(f"{metrics['replicas']} replicas; weights SHA-256: {metrics['weights_sha256']}")
    return 0


def _cmd_compare(args):
    from keras_course import experiments

    config = _config_from_args(args, model="compare")
    settings = {k: v for k, v in config.to_dict().items() if k not in ("model", "dataset", "epochs", "model_options")}
    run_dir = args.run_dir or f"runs/compare_{config.dataset.replace(':', '_').replace('/', '_')}"
    if _parse_options(args.option):
        raise ValueError("compare takes builder options per model: --models name:key=value;key=value. Received: --option")
    rows = experiments.compare(args.models, config.dataset, run_dir=run_dir, epochs=config.epochs, seeds=args.seeds,
                               verbose=0 if args.quiet else 1, **settings)
    with open(os.path.join(run_dir, "compare.md")) as f:
        print(f.read(), end="")
    print(f"{len(rows)} models; table: {os.path.join(run_dir, 'compare.csv')}, plot: {os.path.join(run_dir, 'pareto.png')}")
    return 0


def _cmd_lr_find(args):
    from keras_course import experiments

    config = _config_from_args(args)
    out_dir = args.run_dir or f"runs/lr_find_{config.model}_{config.dataset.replace(':', '_').replace('/', '_')}"
    result = experiments.lr_find_run(config, out_dir, start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps)
    print(f"suggested learning rate: {result.suggested:.3g} (a tenth of {result.minimum:.3g}, where the smoothed "
          f"loss is lowest; steepest descent at {result.steepest:.3g}); {len(result.losses)} steps"
          f"{', stopped when the loss blew up' if result.diverged else ''}")
    print(f"plot: {os.path.join(out_dir, 'lr_find.png')}")
    return 0


def _cmd_pretrain(args):
    from keras_course import experiments

    config = _config_from_args(args)
    run_dir = args.run_dir or f"runs/pretrain_{args.name}"
    if "/" in args.name or args.name.startswith("."):
        raise ValueError(f"--name must be a plain folder name, e.g. fashion_mnist_0-4_resnet20. Received: --name {args.name!r}")
    metrics = _train(args, config, run_dir)
    if metrics is None:
        return 0
    path = experiments.save_pretrained(run_dir, args.save_to, args.name, command=args.command_line)
    print(f"pretrain: {config.model} reached test accuracy {metrics['test_accuracy']:.4f} on {config.dataset}"
          f"{' classes ' + ','.join(map(str, config.classes)) if config.classes else ''} in "
          f"{metrics['train_seconds']:.0f} s; saved to {path} (use weights='project:{args.name}')")
    return 0


def _cmd_transfer(args):
    from keras_course import data, experiments

    weights = None if args.weights.lower() == "none" else args.weights
    config = experiments.RunConfig(
        model=args.backbone, dataset=args.data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        schedule="constant", augment=_augment_arg(args.augment), val_fraction=args.val_fraction, seed=args.seed,
        limit=args.limit, image_size=None if args.image_size is None else [args.image_size, args.image_size],
        transfer=dict(weights=weights, fine_tune_epochs=args.fine_tune_epochs, fine_tune_lr=args.fine_tune_lr,
                      unfreeze_stages=args.unfreeze_stages, dropout=args.dropout,
                      options=_parse_options(args.option) or None),
    )
    run_dir = args.run_dir or f"runs/transfer_{args.backbone}"
    metrics = experiments.train(config, run_dir, overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    _print_metrics(metrics, data.DatasetInfo(**metrics["dataset"]))
    print(f"run directory: {run_dir}  ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.1f} s of training)")
    return 0


def _cmd_evaluate(args):
    from keras_course import experiments

    metrics, info = experiments.evaluate(args.run_dir)
    _print_metrics(metrics, info)
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


def _cmd_demo(args):
    from keras_course import experiments

    config = experiments.RunConfig(**{**DEMO, "epochs": args.epochs, "limit": args.limit})
    metrics = experiments.train(config, args.run_dir, overwrite=True)
    name = args.name or f"fashion_mnist_{config.model}"
    path = experiments.save_pretrained(args.run_dir, args.save_to, name, command=args.command_line)
    print(f"demo: {config.model} reached test accuracy {metrics['test_accuracy']:.4f} in "
          f"{metrics['train_seconds']:.0f} s of training; saved to {path}")
    return 0


COMMANDS = {"models": _cmd_models, "datasets": _cmd_datasets, "train": _cmd_train, "lr-find": _cmd_lr_find, "compare": _cmd_compare, "pretrain": _cmd_pretrain, "transfer": _cmd_transfer,
            "evaluate": _cmd_evaluate, "export": _cmd_export, "predict": _cmd_predict, "demo": _cmd_demo}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.command_line = "keras-course " + shlex.join(argv)
    from keras_course.data import DatasetNotFoundError
    from keras_course.training import NaNLossError

    try:
        return COMMANDS[args.command](args)
    except (ValueError, DatasetNotFoundError, NaNLossError) as error:
        print(f"keras-course {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
