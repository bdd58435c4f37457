"""Hyper-parameter search with keras-tuner (RandomSearch, Hyperband, BayesianOptimization) over run settings.

Every trial is an ordinary run configuration (`RunConfig`) with some settings drawn from the search space: the
same data, model registry, pipeline and compile settings as `keras-course train`, so the best trial's
configuration, written as `best_config.json`, trains the same way with `experiments.train` (or the command line's
`train` given that file as its config).

The space maps a name to a spec. Names are RunConfig settings (lr, batch_size, optimizer, weight_decay,
label_smoothing, augment, schedule, bn_momentum, model — a list of models searches depth) or else options of the
model builder (width, dropout, ...). Specs: a list of values (a choice), "a,b,c" (the same as text),
"log:LOW:HIGH" (a float, log-uniform), "float:LOW:HIGH" (uniform) or "int:LOW:HIGH[:STEP]".

A search directory holds search.json (the settings, compared on resume), tuner/ (keras-tuner's oracle and trial
checkpoints), logs/ (TensorBoard, one folder per trial, with its hyper-parameters), trials.csv and trials.md (one
row per trial, best first) and best_config.json. Running the same search again resumes it: finished trials are
kept and only the missing ones run (a larger max_trials adds trials); a search with other settings is refused in a
directory that holds one; `overwrite=True` deletes the directory and starts over.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import time
import types

import keras

from keras_course import data, models, training
from keras_course._checks import check_choice, check_int, check_positive
from keras_course.experiments import engine
from keras_course.experiments.config import RunConfig
from keras_course.experiments.run_dir import claim, read_json, write_json

TUNERS = ("random", "hyperband", "bayesian")
SETTINGS = ("lr", "batch_size", "optimizer", "weight_decay", "label_smoothing", "augment", "schedule", "bn_momentum",
            "model", "warmup_epochs")
SEARCH_FILE = "search.json"
BEST_CONFIG = "best_config.json"
TIMES_FILE = "trial_seconds.json"
PROJECT = "tuner"


def parse_spec(name, spec):
    """A space entry as a normalised dict: {"choice": [values]} or {"low", "high", "sampling", "type"[, "step"]}."""
    if isinstance(spec, (list, tuple)):
        values = list(spec)
    elif isinstance(spec, str) and spec.split(":", 1)[0] in ("log", "float", "int"):
        kind, *bounds = spec.split(":")
        try:
            numbers = [float(b) for b in bounds]
        except ValueError:
            numbers = None
        if numbers is None or len(numbers) not in ((2, 3) if kind == "int" else (2,)) or not numbers[0] < numbers[1] \
                or (kind == "log" and numbers[0] <= 0):
            raise ValueError(f"Search space {name}={spec!r} is not a valid range. Expected log:LOW:HIGH (0 < LOW < "
                             "HIGH), float:LOW:HIGH or int:LOW:HIGH[:STEP], e.g. lr=log:1e-4:1e-1")
        if kind == "int":
            entry = {"type": "int", "low": int(numbers[0]), "high": int(numbers[1]), "step": int(numbers[2]) if
                     len(numbers) == 3 else 1}
            return entry
        return {"type": "float", "low": numbers[0], "high": numbers[1], "sampling": "log" if kind == "log" else "linear"}
    elif isinstance(spec, str):
        values = [_json_or_text(v) for v in spec.split(",") if v != ""]
    else:
        raise ValueError(f"Search space {name}={spec!r}: expected a list of values or a string such as "
                         "'64,128,256' or 'log:1e-4:1e-1'")
    if not values:
        raise ValueError(f"Search space {name}={spec!r} has no values. Give at least one, e.g. {name}=a,b")
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values) and any(isinstance(v, float) for v in values):
        values = [float(v) for v in values]  # keras-tuner choices hold one type: 0,0.2 means 0.0,0.2
    elif len({type(v) for v in values}) > 1:
        raise ValueError(f"Search space {name}={spec!r} mixes kinds of values ({', '.join(sorted({type(v).__name__ for v in values}))}). "
                         "Give values of one kind, e.g. dropout=0.0,0.2 or augment=none,light")
    return {"choice": values}


def _json_or_text(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_space(entries):
    """`NAME=SPEC` strings (as the command line gives them) or a {name: spec} dict, as {name: normalised spec}."""
    if isinstance(entries, dict):
        return {name: parse_spec(name, spec) for name, spec in entries.items()}
    space = {}
    for entry in entries:
        name, sep, spec = entry.partition("=")
        if not sep or not name or not spec:
            raise ValueError(f"Each `space` entry must look like NAME=SPEC, e.g. lr=log:1e-4:1e-1 or "
                             f"batch_size=64,128. Received: space entry {entry!r}")
        space[name] = parse_spec(name, spec)
    return space


def default_space(config, input_shape, num_classes):
    """The space searched when none is given: learning rate (a decade either side of the optimizer's usual
    one), batch size, weight decay, augmentation (image data) and the builder's width and dropout where it has them."""
    usual = config.lr or training.DEFAULT_LR[config.optimizer]
    space = {"lr": f"log:{usual / 10:g}:{usual * 10:g}", "batch_size": [64, 128, 256], "weight_decay": [0.0, 1e-4, 5e-4]}
    if len(input_shape) == 3:
        space["augment"] = ["none", "light", "standard"]
    for option, values in (("width", [0.5, 1.0, 2.0]), ("dropout", [0.0, 0.2, 0.4])):
        if _builder_accepts(config.model, option, values[0], input_shape, num_classes):
            space[option] = values
    return parse_space(space)


def _builder_accepts(model, option, value, input_shape, num_classes):
    try:
        models.build(model, input_shape=input_shape, num_classes=num_classes, **{option: value})
    except (TypeError, ValueError):
        return False
    finally:
        keras.backend.clear_session(free_memory=False)  # only the name counters; a full gc per candidate is slow
    return True


def trial_config(base, values):
    """`base` (a RunConfig) with the trial's drawn `values`: settings replaced, other names as model options."""
    settings = {k: v for k, v in values.items() if k in SETTINGS}
    options = {k: v for k, v in values.items() if k not in SETTINGS and not k.startswith("tuner/")}
    if "weight_decay" in settings and not settings["weight_decay"]:
        settings["weight_decay"] = None
    config = dataclasses.replace(base, **settings, model_options={**base.model_options, **options})
    if "tuner/epochs" in values:  # Hyperband: the trial's epoch budget
        config = dataclasses.replace(config, epochs=int(values["tuner/epochs"]))
    return config


def _check_space(base, space, input_shape, num_classes, task="multiclass"):
    """Every value a trial can draw makes a valid run: fail before the search, not in trial after trial."""
    if not space:
        raise ValueError("The search space is empty: give `space` at least one NAME=SPEC entry, e.g. lr=log:1e-4:1e-1")
    for name, spec in space.items():
        if name in ("epochs", "dataset", "seed", "limit", "classes", "val_fraction"):
            raise ValueError(f"Search space {name!r}: {name} is fixed for the whole search (trials must compare on "
                             "the same data and budget). Set it with its own argument.")
        candidates = spec["choice"] if "choice" in spec else [spec["low"], spec["high"]]
        for value in candidates:
            config = trial_config(base, {name: value})
            config.validate()
            if name == "augment" and len(input_shape) == 3:  # a colour step on grayscale, label mixing's task
                data.check_policy(value, input_shape, task)
            if name not in SETTINGS and not _builder_accepts(config.model, name, value, input_shape, num_classes):
                raise ValueError(f"Search space {name}={value!r}: model {config.model!r} has no option {name!r} "
                                 f"taking that value. Search run settings ({', '.join(SETTINGS)}) or the builder's "
                                 "own options.")


def _check_tensorboard():
    # keras-tuner imports tensorboard inside each trial: without it every trial fails and search() returns quietly.
    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError("keras-tuner needs the `tensorboard` package, which TensorFlow 2.21 no longer installs: "
                          "pip install tensorboard")


def _encoded(spec):
    # keras-tuner choices are scalars: lists (an mlp's hidden sizes) travel as JSON text
    return "choice" in spec and not all(isinstance(v, (bool, int, float, str)) for v in spec["choice"])


def _declare(hp, name, spec):
    """Declare `name` on keras-tuner's `hp` (first call) and return the trial's value."""
    if "choice" in spec:
        values = [json.dumps(v) for v in spec["choice"]] if _encoded(spec) else spec["choice"]
        return hp.Choice(name, values, ordered=False) if len(values) > 1 else hp.Fixed(name, values[0])
    if spec["type"] == "int":
        return hp.Int(name, spec["low"], spec["high"], step=spec["step"])
    return hp.Float(name, spec["low"], spec["high"], sampling=spec["sampling"])


def drawn_values(values, space):
    """A trial's hyper-parameter values as run settings: JSON-encoded choices decoded."""
    return {name: json.loads(v) if name in space and _encoded(space[name]) else v for name, v in values.items()}


def _make_hypermodel(base, space, splits, info, verbose):
    """A keras_tuner.HyperModel that builds and fits each trial's RunConfig on data loaded once."""
    import keras_tuner  # imported when searching only: it imports tensorboard

    train_ds, val_ds = splits

    class RunHyperModel(keras_tuner.HyperModel):
        def config(self, hp):
            for name, spec in space.items():
                _declare(hp, name, spec)
            return trial_config(base, drawn_values(hp.values, space))

        def build(self, hp):
            keras.backend.clear_session(free_memory=False)  # keras-tuner has just collected garbage
            config = self.config(hp)
            training.set_seed(config.seed, deterministic_ops=config.deterministic_ops)
            with training.dtype_policy(config.precision):
                return engine.build_for(config, train_ds, info)

        def fit(self, hp, model, *args, epochs=None, initial_epoch=0, callbacks=(), **kwargs):
            config = self.config(hp)
            if epochs is not None:  # Hyperband: this trial's budget
                config = dataclasses.replace(config, epochs=epochs)
            train_pipe, val_pipe = engine.pipelines(config, train_ds, val_ds, info=info)
            # A Hyperband trial that continues another trains epochs - initial_epoch epochs with a fresh
            # optimizer: its schedule spans exactly those.
            training.fit_phases(model, engine.phases_for(config, initial_epoch=initial_epoch), train_pipe, val_pipe,
                                callbacks=callbacks, verbose=2 if verbose >= 2 else 0, initial_epoch=initial_epoch,
                                **engine.compile_options(config, info))
            return model.history  # the History of the trial's fit: what keras-tuner scores

    return RunHyperModel(name="run")


def _mixed_seed(n):
    return int.from_bytes(hashlib.sha256(str(n).encode()).digest()[:8], "little")


def _random_values_mixed(oracle):
    """keras-tuner's Oracle._random_values, drawing each value with a hashed seed.

    keras-tuner 1.4.8 draws value k with random.Random(seed + k).random(), and Python's first draws from nearby
    integer seeds are correlated (seeds 2263 and 2265 both give 0.048): random search then tries the same learning
    rate again and again. Hashing the running seed keeps the draws reproducible and independent.
    """
    import keras_tuner

    for _ in range(oracle._max_collisions + 1):
        hps = keras_tuner.HyperParameters()
        for hp in oracle.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                hps.values[hp.name] = hp.random_sample(_mixed_seed(oracle._seed_state))
                oracle._seed_state += 1
        if not oracle._duplicate(hps.values):
            return hps.values
    return None  # the space is exhausted: keras-tuner ends the search


def _tuner_class(tuner_class, times_path):
    """`tuner_class` with independent random draws, recording each trial's wall-clock seconds in `times_path`
    (keras-tuner keeps no times)."""

    class Timed(tuner_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.oracle._random_values = types.MethodType(_random_values_mixed, self.oracle)

        def run_trial(self, trial, *args, **kwargs):
            start = time.perf_counter()
            try:
                return super().run_trial(trial, *args, **kwargs)
            finally:
                times = read_json(times_path, {})
                times[trial.trial_id] = round(time.perf_counter() - start, 2)
                write_json(times_path, times)

    Timed.__name__ = tuner_class.__name__
    return Timed


class SearchFailedError(RuntimeError):
    """No trial of a search finished; the message ends with the last trial's error."""


@dataclasses.dataclass
class SearchResult:
    """The trials (best first, as in trials.csv), the best trial's RunConfig and the search directory."""

    rows: list
    best_config: RunConfig
    run_dir: str
    objective: str

    @property
    def best(self):
        return self.rows[0]

    @property
    def best_config_path(self):
        return os.path.join(self.run_dir, BEST_CONFIG)


def _make_tuner(tuner, hypermodel, run_dir, *, objective, max_trials, max_epochs, factor, seed, overwrite):
    import keras_tuner

    classes = {"random": keras_tuner.RandomSearch, "hyperband": keras_tuner.Hyperband,
               "bayesian": keras_tuner.BayesianOptimization}
    common = dict(objective=keras_tuner.Objective(objective, "min" if objective.endswith("loss") else "max"),
                  directory=run_dir, project_name=PROJECT, overwrite=overwrite,
                  seed=_mixed_seed(seed) % 2**31)  # keras-tuner takes seed 0 as 'no seed'
    cls = _tuner_class(classes[tuner], os.path.join(run_dir, TIMES_FILE))
    if tuner == "hyperband":
        return cls(hypermodel, max_epochs=max_epochs, factor=factor, **common)
    return cls(hypermodel, max_trials=max_trials, **common)


def search(config: RunConfig | dict, run_dir: str | os.PathLike, *, space: dict | None = None, tuner: str = "random",
           max_trials: int = 10, factor: int = 3, objective: str | None = None, overwrite: bool = False,
           verbose: int = 0) -> SearchResult:
    """Search hyper-parameters around `config` (a RunConfig or dict) with keras-tuner; returns a SearchResult.

    Args:
        config: the base run. Its epochs are each trial's budget (Hyperband: the most epochs a trial gets).
        run_dir: the search directory (see the module docstring for what it holds).
        space: {name: spec} or ["name=spec", ...]; None searches `default_space`.
        tuner: "random", "hyperband" or "bayesian".
        max_trials: int > 0, trials of random and Bayesian search (Hyperband sets its own from epochs and factor).
        factor: int >= 2, Hyperband's reduction factor.
        objective: metric to optimise on the validation split; default val_accuracy (val_loss for regression).
        overwrite: delete what `run_dir` holds and start over; otherwise an identical search resumes.
        verbose: 0 silent, 1 keras-tuner's report of each trial, 2 also one line per epoch.
    """
    config = engine.as_config(config)
    if config.ssl is not None:
        raise ValueError(f"config.ssl={config.ssl!r}: search compares runs by a validation metric, and a "
                         "self-supervised run has none; pretrain with experiments.train and search the runs that "
                         "use its encoder.")
    if config.minutes is not None:
        raise ValueError(f"config.minutes={config.minutes!r}: search budgets its trials by epochs (Hyperband gives "
                         "each its own), so they stay comparable; set minutes on the run that trains the best config.")
    check_choice("tuner", tuner, TUNERS)
    check_positive("max_trials", max_trials, integer=True)
    check_int("factor", factor, minimum=2, why=" (Hyperband keeps 1/factor of the trials each round)")
    if config.transfer is not None or config.strategy != "default":
        raise ValueError("search trains ordinary single-device runs: drop the transfer and strategy settings. "
                         f"Received: transfer={config.transfer!r}, strategy={config.strategy!r}")
    if not config.val_fraction:
        raise ValueError("search scores each trial on the validation split, and val_fraction=0 leaves none: keep "
                         "one, e.g. val_fraction=0.1.")
    _check_tensorboard()
    run_dir = os.fspath(run_dir)
    train_ds, val_ds, _, info = engine.load_splits(config)
    objective = objective or ("val_loss" if info.task == "regression" else "val_accuracy")
    if not objective.startswith("val_"):
        raise ValueError(f"`objective` is measured on the validation split: a name starting with val_, e.g. "
                         f"val_accuracy or val_loss. Received: objective={objective!r}")
    space = default_space(config, info.input_shape, info.num_classes) if space is None else parse_space(space)
    _check_space(config, space, info.input_shape, info.num_classes, info.task)
    settings = {"base": json.loads(json.dumps(config.to_dict())), "space": space, "tuner": tuner, "objective": objective,
                "max_trials": max_trials, "factor": factor}
    _check_search_dir(run_dir, settings, overwrite)
    os.makedirs(run_dir, exist_ok=True)
    write_json(os.path.join(run_dir, SEARCH_FILE), settings)

    hypermodel = _make_hypermodel(config, space, (train_ds, val_ds), info, verbose)
    keras_tuner_search = _make_tuner(tuner, hypermodel, run_dir, objective=objective, max_trials=max_trials,
                         max_epochs=config.epochs, factor=factor, seed=config.seed, overwrite=False)
    try:
        keras_tuner_search.search(callbacks=[keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"))], verbose=min(verbose, 1))
    except RuntimeError as error:  # keras-tuner stops after 3 failed trials in a row, with the last trial's traceback
        lines = str(error).strip().splitlines()
        raise SearchFailedError(f"{lines[0]} Last error: {lines[-1]}") from None
    return write_results(keras_tuner_search, config, run_dir, objective)


def _check_search_dir(run_dir, settings, overwrite):
    def changed():  # max_trials may grow: the same search resumes and adds trials
        saved = read_json(os.path.join(run_dir, SEARCH_FILE), {})
        return sorted(k for k in saved.keys() | settings.keys() if k != "max_trials" and saved.get(k) != settings.get(k))

    claim(run_dir, overwrite=overwrite, settings_file=SEARCH_FILE, changed=changed, what="search")


def write_results(engine, base, run_dir, objective):
    """trials.csv, trials.md and best_config.json from the tuner's trials; raises if no trial finished."""
    times = read_json(os.path.join(run_dir, TIMES_FILE), {})
    trials = list(engine.oracle.trials.values())
    finished = [t for t in trials if t.status == "COMPLETED" and t.score is not None and math.isfinite(t.score)]
    if not finished:
        failed = next((t for t in trials if t.message), None)
        reason = failed.message.strip().splitlines()[-1] if failed else "no trial ran"
        raise SearchFailedError(f"No trial of the search in {run_dir!r} finished ({len(trials)} tried). Last error: {reason}")
    names = []
    for trial in trials:
        names += [n for n in trial.hyperparameters.values if n not in names and not n.startswith("tuner/")]
    descending = not objective.endswith("loss")
    ranked = sorted(finished, key=lambda t: -t.score if descending else t.score)
    ranked += [t for t in trials if t not in finished]
    rows = []
    space = read_json(os.path.join(run_dir, SEARCH_FILE), {}).get("space", {})
    for trial in ranked:
        values = drawn_values(trial.hyperparameters.values, space)
        rows.append({"trial": trial.trial_id, "status": trial.status, **{n: values.get(n) for n in names},
                     "epochs": values.get("tuner/epochs", base.epochs),
                     objective: None if trial.score is None else round(float(trial.score), 4),
                     "best_epoch": None if trial.best_step is None else int(trial.best_step) + 1,
                     "seconds": times.get(trial.trial_id)})
    best = trial_config(base, drawn_values(ranked[0].hyperparameters.values, space))
    best = dataclasses.replace(best, epochs=base.epochs)  # Hyperband's trials had fewer; train the full budget
    write_json(os.path.join(run_dir, BEST_CONFIG), best.to_dict())
    columns = list(rows[0])
    with open(os.path.join(run_dir, "trials.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(run_dir, "trials.md"), "w") as f:
        f.write(markdown_table(rows, columns) + f"\nBest configuration: {os.path.join(run_dir, BEST_CONFIG)} (a "
                "RunConfig: train it with experiments.train, or give it to the command line's `train` as its config).\n")
    return SearchResult(rows=rows, best_config=best, run_dir=run_dir, objective=objective)


def markdown_table(rows, columns):
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"
