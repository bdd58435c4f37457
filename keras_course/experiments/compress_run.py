"""A finished run's model through the compression techniques into a run directory of its own.

The techniques compose in one order: distil (a teacher's soft targets) -> remove channels -> prune weights ->
factorize -> quantize. Each one that trains is a phase of the engine (training.fit_phases) of `epochs` epochs,
fine-tuning what the technique changed (quantization-aware training too; post-training quantization trains
nothing); each one's model is kept in stages/N_TECHNIQUE/model.keras when it
ends, so an interrupted run resumes in the technique it was in (and, through that stage's backup, at its epoch).

The run directory is an ordinary one (config.json, history.csv, model.keras, saved_model/, metrics.json last:
`keras-course evaluate`, `plot` and `export` work on it), plus compress.json (these settings) and
compress_report.json = {"baseline": report, "compressed": report, "stages": [...]}, each report compress.report's
fields measured on the run's test split (the baseline's also in baseline_report.json, so that a resumed run does not
measure the dense model again). Bad settings are refused before anything is written.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil

import keras
import numpy as np

from keras_course import compress, data, training
from keras_course._checks import check_choice, check_int, check_positive, check_range
from keras_course.experiments import engine, report
from keras_course.experiments.config import RunConfig
from keras_course.experiments.run_dir import CONFIG, HISTORY, METRICS, claim, load_run, read_json, write_json

__all__ = ["CompressSettings", "REPORT", "SETTINGS", "TECHNIQUES", "compress_run"]

SETTINGS = "compress.json"
REPORT = "compress_report.json"
STAGES = "stages"
TECHNIQUES = ("distill", "channels", "prune", "factorize", "quantize")  # the order they compose in
CALIBRATION_EXAMPLES = 1000


@dataclasses.dataclass
class CompressSettings:
    """What `compress_run` does to the model. At least one of prune, prune_channels, factorize, quantize and
    distill_from must be set."""

    prune: float | None = None  # fraction of the Dense/Conv weights zeroed, in [0, 1)
    prune_channels: float | None = None  # fraction of each inner convolution's filters removed, in [0, 1)
    factorize: float | None = None  # fraction of the factorized layers' weights kept, in (0, 1]
    quantize: str | None = None  # compress.quantize.MODES: ptq8, ptq4, qat8, qat4
    distill_from: str | None = None  # a finished run directory: the teacher
    epochs: int = 2  # fine-tuning epochs of each technique that trains
    lr: float | None = None  # peak learning rate of those phases (None: stage_lr's default, from the run's)
    scope: str = "global"  # pruning: "global" (one threshold: measured far better on batch-norm nets) or "layer"
    criterion: str = "l1"  # channel pruning: "l1" or "bn_scale"
    temperature: float = 4.0  # distillation
    alpha: float = 0.1  # distillation: weight of the labels' loss
    latency_runs: int = 200  # single-image TFLite calls whose median is the latency

    def techniques(self) -> list:
        chosen = {"distill": self.distill_from, "channels": self.prune_channels, "prune": self.prune,
                  "factorize": self.factorize, "quantize": self.quantize}
        return [name for name in TECHNIQUES if chosen[name] is not None]

    def validate(self) -> CompressSettings:
        if not self.techniques():
            raise ValueError("Nothing to do: set at least one of prune, prune_channels, factorize, quantize or "
                             "distill_from.")
        if self.prune is not None:
            compress.pruning.check_sparsity(self.prune, "prune")
        if self.prune_channels is not None:
            check_range("prune_channels", self.prune_channels, 0, 1, example=0.5)
        if self.factorize is not None:
            check_range("factorize", self.factorize, 0, 1, low_open=True, high_open=False, example=0.5)
        if self.quantize is not None:
            compress.quantize.check_mode(self.quantize)
        check_int("epochs", self.epochs)
        if self.quantize is not None and compress.quantize.is_aware(self.quantize) and not self.epochs:
            raise ValueError(f"quantize={self.quantize!r} trains through the rounding, which takes `epochs` >= 1 (its "
                             "activation ranges are measured while training); quantize='ptq8' or 'ptq4' trains "
                             "nothing. Received: epochs=0")
        if self.lr is not None:
            check_positive("lr", self.lr)
        check_choice("scope", self.scope, compress.SCOPES)
        check_choice("criterion", self.criterion, compress.CRITERIA)
        check_positive("temperature", self.temperature)
        check_range("alpha", self.alpha, 0, 1, high_open=False, example=0.1)
        check_int("latency_runs", self.latency_runs, minimum=1)
        return self


def _load_model(run_dir):
    return keras.models.load_model(os.path.join(run_dir, "model.keras"), safe_mode=True)


CALIBRATION_IMAGES = 1024  # training images that set a quantization-aware model's ranges before it trains


def _stage_model(technique, model, settings, teacher, calibration=None):
    """The model a technique trains (before its fine-tuning), and the model it leaves when it trained nothing."""
    if technique == "distill":
        return compress.distiller(teacher, model, temperature=settings.temperature, alpha=settings.alpha)
    if technique == "channels":
        return compress.prune_channels(model, settings.prune_channels, criterion=settings.criterion)
    if technique == "prune":
        return compress.prunable(model)
    if technique == "factorize":
        return compress.factorize(model, settings.factorize)
    return compress.quantize.quantize_for(model, settings.quantize, calibration=calibration)


def _dry_run(model, settings, teacher):
    """Every structural change, in order, on a copy: a layer a technique cannot handle is named before anything
    is written."""
    for technique in settings.techniques():
        if technique == "distill":
            compress.distill.check_compatible(teacher, model)
            continue
        model = _stage_model(technique, model, settings, teacher)


def compress_run(from_dir: str | os.PathLike, run_dir: str | os.PathLike, settings: CompressSettings | dict, *,
                 overwrite: bool = False, verbose: int = 1) -> dict:
    """Compress the model of the finished run `from_dir` into `run_dir` (module doc); returns compress_report.

    Raises:
        ValueError: bad settings, an unfinished run, a teacher of other classes or input, a layer a technique
            cannot handle; nothing is written then.
    """
    settings = settings if isinstance(settings, CompressSettings) else CompressSettings(**settings)
    settings.validate()
    from_dir, run_dir = os.fspath(from_dir), os.fspath(run_dir)
    config, _ = load_run(from_dir)
    train_ds, val_ds, test_ds, info = engine.load_splits(config)
    training.set_seed(config.seed, deterministic_ops=config.deterministic_ops)
    source = _load_model(from_dir)
    teacher = None
    if settings.distill_from is not None:
        load_run(settings.distill_from)
        teacher = _load_model(settings.distill_from)
    _dry_run(source, settings, teacher)
    saved = {"from": os.path.abspath(from_dir), "settings": dataclasses.asdict(settings)}
    state = claim(run_dir, overwrite=overwrite, settings_file=SETTINGS, finished_file=METRICS, what="compression",
                  changed=lambda: sorted(k for k in saved if read_json(os.path.join(run_dir, SETTINGS)).get(k) != saved[k]))
    os.makedirs(run_dir, exist_ok=True)
    if state == "new":
        write_json(os.path.join(run_dir, CONFIG), config.to_dict())
        write_json(os.path.join(run_dir, SETTINGS), saved)
    try:
        model, stages = _run_stages(source, teacher, settings, config, info, train_ds, val_ds, run_dir, verbose)
        return _finish(source, model, stages, settings, config, info, train_ds, test_ds, run_dir)
    except (training.NaNLossError, ValueError):
        if state == "new":
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


# The default fine-tuning rate of a stage, as a fraction of the run's peak rate. Quantization-aware training gets a
# tenth of the others': its batch norms are folded away, and resnet20's folded copy diverged at a tenth of the
# recipe's rate (0.02: weights past 1e20 in two epochs) and trained at a hundredth (0.96 in its first epoch).
STAGE_LR_FRACTION = {"quantize": 0.01}
DEFAULT_STAGE_LR_FRACTION = 0.1


def stage_lr(technique: str, settings: CompressSettings, config: RunConfig) -> float:
    """The peak learning rate `technique` fine-tunes at: `settings.lr` when given, else STAGE_LR_FRACTION's share
    of the run's rate."""
    if settings.lr is not None:
        return settings.lr
    run_lr = config.lr or training.DEFAULT_LR[config.optimizer]
    return run_lr * STAGE_LR_FRACTION.get(technique, DEFAULT_STAGE_LR_FRACTION)


def _run_stages(model, teacher, settings, config, info, train_ds, val_ds, run_dir, verbose):
    stages = []
    for index, technique in enumerate(settings.techniques()):
        stage_dir = os.path.join(run_dir, STAGES, f"{index}_{technique}")
        done = os.path.join(stage_dir, "model.keras")
        trains = technique != "quantize" or compress.quantize.is_aware(settings.quantize)
        lr = stage_lr(technique, settings, config)
        if os.path.exists(done):
            model = keras.models.load_model(done, safe_mode=True)
        else:
            calibration = None
            if technique == "quantize" and trains:  # QAT measures its ranges first; post-training modes need none
                calibration = data.to_numpy(train_ds.take(CALIBRATION_IMAGES))[0]
            with training.dtype_policy(config.precision):
                staged = _stage_model(technique, model, settings, teacher, calibration)
            if trains:
                _fine_tune(technique, staged, settings, lr, config, info, train_ds, val_ds, stage_dir, verbose)
                _refuse_divergence(technique, staged, lr, settings.epochs)
            model = compress.student_of(staged) if technique == "distill" else staged
            os.makedirs(stage_dir, exist_ok=True)
            model.save(done + ".partial.keras")
            os.replace(done + ".partial.keras", done)  # whole or not at all: its presence means the stage ended
        stages.append({"technique": technique, "epochs": settings.epochs if trains else 0,
                       **({"lr": lr} if trains else {})})
    return model, stages


def _fine_tune(technique, model, settings, lr, config, info, train_ds, val_ds, stage_dir, verbose):
    clock = data.EpochClock()
    train_pipe, val_pipe = engine.pipelines(config, train_ds, val_ds, clock=clock, info=info)
    steps = int(train_pipe.cardinality())
    if technique == "prune":
        phase = compress.pruning_phase(settings.prune, epochs=settings.epochs, steps_per_epoch=steps, lr=lr,
                                       schedule="cosine", scope=settings.scope)
        if not settings.epochs:  # one shot: no fine-tuning to prune during
            updates = phase.callbacks[0]
            updates.set_model(model)
            updates.update(updates.schedule.end)
    else:
        phase = training.Phase(technique, settings.epochs, lr=lr, schedule="cosine")
    callbacks = [training.EpochSeconds(), *training.make_callbacks(stage_dir, checkpoint=False, tensorboard=False,
                                                                    clock=clock)]
    training.fit_phases(model, [phase], train_pipe, val_pipe, callbacks=callbacks, verbose=verbose,
                        **engine.compile_options(config, info))


DIVERGED = 1e6  # no weight or measured activation range of a trained network gets near this; a diverged one does


def _refuse_divergence(technique, model, lr, epochs):
    """Raise NaNLossError when fine-tuning blew the weights (or a quantizer's measured ranges) up while the loss
    stayed finite: such a model is no result, and TFLite's converter aborts the whole process on its ranges."""
    largest = max((float(np.max(np.abs(keras.ops.convert_to_numpy(v)))) for v in model.weights if np.prod(v.shape)),
                  default=0.0)
    if not np.isfinite(largest) or largest > DIVERGED:
        raise training.NaNLossError(
            f"The {technique} stage diverged: after {epochs} epoch(s) at learning rate {lr:g} a weight or activation "
            f"range reached {largest:.3g}. Lower the rate (lr=, e.g. {lr / 10:g}) and run again.")


def _combined_history(run_dir, stages):
    """The stages' history.csv files, one after the other, epochs numbered on (the run's history.csv)."""
    rows, header, epoch = [], None, 0
    for index, stage in enumerate(stages):
        path = os.path.join(run_dir, STAGES, f"{index}_{stage['technique']}", HISTORY)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            lines = f.read().splitlines()
        if not lines:
            continue
        columns = lines[0].split(",")
        header = header or columns
        for line in lines[1:]:
            values = dict(zip(columns, line.split(",")))
            values["epoch"] = str(epoch)
            epoch += 1
            rows.append(",".join(values.get(c, "") for c in header))
    if header is not None:
        with open(os.path.join(run_dir, HISTORY), "w") as f:
            f.write("\n".join([",".join(header), *rows]) + "\n")
    return header is not None


BASELINE = "baseline_report.json"  # the dense model's report, measured once per run directory


def _baseline_report(source, test_data, settings, run_dir):
    """The dense model's compress.report, kept in the run directory: a resumed compression (same source, same
    settings: `claim` saw to that) does not convert and time the dense model again."""
    path = os.path.join(run_dir, BASELINE)
    try:
        kept = read_json(path)
    except (OSError, ValueError):  # a damaged copy is measured again
        kept = None
    if isinstance(kept, dict) and set(kept) == set(compress.FIELDS):
        return kept
    baseline = compress.report(source, test_data, latency_runs=settings.latency_runs)
    write_json(path, baseline)
    return baseline


def _finish(source, model, stages, settings, config, info, train_ds, test_ds, run_dir):
    model = compress.strip(model)
    x_test, y_test = data.to_numpy(test_ds)
    representative = None
    if settings.quantize is not None:
        representative, _ = data.to_numpy(train_ds.take(CALIBRATION_EXAMPLES))
    int8 = settings.quantize is not None
    weight_bits = compress.quantize.WEIGHT_BITS[settings.quantize] if int8 else None
    compressed = compress.report(model, (x_test, y_test), int8=int8, representative_data=representative,
                                 weight_bits=weight_bits, latency_runs=settings.latency_runs)
    baseline = _baseline_report(source, (x_test, y_test), settings, run_dir)
    result = {"baseline": baseline, "compressed": {**compressed, "score": compress.score(compressed, baseline)},
              "stages": stages}
    _combined_history(run_dir, stages)
    training.compile_model(model, **engine.compile_options(config, info))
    model.optimizer.build(model.trainable_variables)  # saved with model.keras: the state it loads back into
    write_json(os.path.join(run_dir, REPORT), result)
    for backup in glob.glob(os.path.join(run_dir, STAGES, "*", training.callbacks.BACKUP_DIR)):
        shutil.rmtree(backup, ignore_errors=True)
    callbacks = []
    strategy = training.make_strategy("default")
    report.finish_run(config, run_dir, model, test_ds, info, callbacks=callbacks, strategy=strategy,
                      options=engine.compile_options(config, info))
    return result
