"""`compression`: every technique of keras_course.compress on one dense Fashion-MNIST model, counted and timed.

Method: the dense model is cnn4_bn (or resnet20 with `--models resnet20`, the second table) trained by the demo's recipe (7 epochs of one-cycle Nesterov on all 60,000
training images), one run per seed, cached between invocations (it is the same run each time). Every technique
starts from a seed's dense run through `experiments.compress_run` (the command `keras-course compress`), with the
fine-tuning budget in the row's "budget"; the student (cnn4_bn at width 0.5, about a quarter of the parameters)
trains from scratch under the dense run's recipe, alone (`student_alone`) or with the dense model as its teacher
(`distill`), the same epochs either way. Every figure is compress.report's, on the full 10,000 test images through
the model's TFLite file (int8 where the technique quantizes): accuracies are means over the seeds (listed per row),
sizes and latencies those of the first seed. Each goal of issue 21 is checked against `dense` and reported as
measured, met or not.
JSON: {"model": ..., "recipe": {...}, "seeds": [...], "rows": [{"technique": ..., "test_accuracy": mean,
       "test_accuracies": [...], "params", "nonzero_params", "storage_bits", "macs", "sparse_macs", "bit_macs",
       "tflite_bytes", "tflite_gzip_bytes", "latency_ms", "score", "seeds": [...], "budget": {...}}, ...],
       "goals": [{"goal": ..., "measured": ..., "met": bool}], "machine": {...}, "quick": bool,
       "remeasured": [{"techniques": [...], "date", "machine"}] (rows measured again later with --techniques)}
"""

import dataclasses
import hashlib
import json
import os
import shutil
import time

import numpy as np

from bench import common

RECIPE = dict(model="cnn4_bn", dataset="fashion_mnist", epochs=7, batch_size=256, optimizer="nesterov", lr=0.2,
              schedule="one_cycle", weight_decay=5e-4, label_smoothing=0.1, augment=["flip"], bn_momentum=0.9,
              val_fraction=0.0, precision="auto")
STUDENT_WIDTH = 0.5
FINE_TUNE = 3  # epochs of each technique that trains
QAT_EPOCHS = 2
# technique -> compress settings (the epochs are filled in); student_alone, distill and combined are built apart
TECHNIQUES = {
    "prune_90": dict(prune=0.9, scope="global"),  # per layer: 0.8860 on seed 0 (global 0.9222)
    "channels_50": dict(prune_channels=0.5),
    "factorize_50": dict(factorize=0.5),
    "ptq_int8": dict(quantize="ptq8"),
    "qat_int8": dict(quantize="qat8"),
    "ptq_int4": dict(quantize="ptq4"),
    "qat_int4": dict(quantize="qat4"),
}
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras_course", "bench_compression")


def _cached_run(config, name):
    """A finished training run of `config`, trained once and kept under CACHE (keyed by the config)."""
    from keras_course import experiments

    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    run_dir = os.path.join(CACHE, f"{name}_{key}")
    if not os.path.exists(os.path.join(run_dir, "metrics.json")):
        shutil.rmtree(run_dir, ignore_errors=True)
        experiments.train(config, run_dir, verbose=0)
    return run_dir


def _student_with_teacher(student_run, teacher_run, out_dir, *, temperature, alpha):
    """The student's own recipe and seed, trained from scratch with the teacher's soft targets; its report."""
    import keras

    from keras_course import compress, data, training
    from keras_course.experiments import engine, load_run

    config, _ = load_run(student_run)
    train, val, test, info = engine.load_splits(config)
    training.set_seed(config.seed)
    with training.dtype_policy(config.precision):
        student = engine.build_for(config, train, info)
    teacher = keras.models.load_model(os.path.join(teacher_run, "model.keras"))
    distiller = compress.distiller(teacher, student, temperature=temperature, alpha=alpha)
    train_pipe, val_pipe = engine.pipelines(config, train, val, info=info)
    training.fit_phases(distiller, engine.phases_for(config), train_pipe, val_pipe,
                        **engine.compile_options(config, info))
    os.makedirs(out_dir, exist_ok=True)
    alone = compress.student_of(distiller)
    alone.save(os.path.join(out_dir, "model.keras"))
    return compress.report(alone, data.to_numpy(test))


# what else was tried for `distill` (python -c "from bench import compression; compression.distill_variants()"):
# a teacher trained without label smoothing (Mueller et al. 2019 found smoothing hurts distillation), two settings
DISTILL_VARIANTS = {"smoothing_teacher_T4_a0.1": (0.1, 4.0, 0.1), "plain_teacher_T4_a0.1": (0.0, 4.0, 0.1),
                    "plain_teacher_T2_a0.5": (0.0, 2.0, 0.5)}


def distill_variants(seed=0):
    """{variant: test accuracy} of the cnn4_bn student distilled from teachers with and without label smoothing
    (teacher's label smoothing, temperature, alpha), beside `student_alone` of the same seed."""
    from keras_course import compress, data, experiments, training

    common.pin_tensorflow_threads()
    recipe = {**RECIPE, "precision": training.resolve_precision(RECIPE["precision"])}
    config = experiments.RunConfig(**{**recipe, "seed": seed})
    student = _cached_run(dataclasses.replace(config, model_options={"width": STUDENT_WIDTH}), "student")
    _, _, test, _ = experiments.load_splits(config)
    found = {"student_alone": compress.report(os.path.join(student, "model.keras"), data.to_numpy(test),
                                              latency_runs=1)["test_accuracy"]}
    for name, (smoothing, temperature, alpha) in DISTILL_VARIANTS.items():
        teacher_config = dataclasses.replace(config, label_smoothing=smoothing)
        teacher = _cached_run(teacher_config, "dense" if smoothing == RECIPE["label_smoothing"] else
                              "teacher_no_smoothing")
        out = os.path.join(CACHE, "distill_variants", f"{name}_{seed}")
        found[name] = _student_with_teacher(student, teacher, out, temperature=temperature, alpha=alpha)[
            "test_accuracy"]
        print(f"{name:<28}{found[name]:.4f}  (student alone {found['student_alone']:.4f})", flush=True)
    return found


def _row(technique, reports, baselines, seeds, budget):
    from keras_course import compress

    first = dict(reports[0])
    accuracies = [r["test_accuracy"] for r in reports]
    first.update(technique=technique, test_accuracy=float(np.mean(accuracies)), test_accuracies=accuracies,
                 score=compress.score(reports[0], baselines[0]), seeds=list(seeds), budget=budget)
    return first


MODELS = ("cnn4_bn", "resnet20")


ROWS = ("dense", "student_alone", *TECHNIQUES, "distill", "combined")


def _previous(update, model, seeds, quick):
    """The earlier result that re-measured `techniques` rows go into, checked to be the same study."""
    if update is None or not os.path.exists(update):
        raise SystemExit(f"compression: --techniques re-measures rows of an earlier result; pass its file with --json "
                         f"(received {update!r}, which does not exist).")
    previous = common.read_result(update, "compression")
    if previous.get("model") != model or previous.get("seeds") != seeds or previous.get("quick") != quick:
        raise SystemExit(f"compression: {update} holds model {previous.get('model')!r}, seeds {previous.get('seeds')} "
                         f"(quick: {previous.get('quick')}); re-measure with the same --models and --seeds.")
    return previous


def run(quick=False, seeds=None, model=None, techniques=None, update=None):
    """Every technique from `model`'s dense runs (default cnn4_bn), one per seed (default: 0, 1, 2; quick: 0).

    With `techniques` (names from ROWS), only those rows are measured again and replace theirs in the earlier
    result in the JSON file `update` (its other rows stay as they were measured); the result says which and when.
    """
    from keras_course import compress, data, experiments, training

    model = model or MODELS[0]
    if model not in MODELS:
        raise ValueError(f"model={model!r} is not one of the compression study's models {MODELS}.")
    unknown = sorted(set(techniques or ()) - set(ROWS))
    if unknown:
        raise SystemExit(f"compression: unknown techniques {unknown}; choose from {', '.join(ROWS)}")
    common.pin_tensorflow_threads()
    seeds = list(seeds or ([0] if quick else [0, 1, 2]))
    previous = _previous(update, model, seeds, quick) if techniques else None
    wanted = set(techniques or ROWS)
    fine_tune, qat_epochs = (1, 1) if quick else (FINE_TUNE, QAT_EPOCHS)
    recipe = {**RECIPE, "model": model, **({"epochs": 1, "limit": 2000} if quick else {})}
    recipe["precision"] = training.resolve_precision(recipe["precision"])
    latency_runs = 20 if quick else compress.measure.LATENCY_RUNS
    work = os.path.join(CACHE, f"{model}_{'quick' if quick else 'full'}")
    shutil.rmtree(os.path.join(work, "compressed"), ignore_errors=True)
    dense_runs, student_runs, baselines = {}, {}, []
    for seed in seeds:
        config = experiments.RunConfig(**{**recipe, "seed": seed})
        dense_runs[seed] = _cached_run(config, f"dense{'_quick' if quick else ''}")
        student = dataclasses.replace(config, model_options={"width": STUDENT_WIDTH})
        student_runs[seed] = _cached_run(student, f"student{'_quick' if quick else ''}")
    test = None
    reports = {name: [] for name in ROWS}
    for seed in seeds:
        config, _ = experiments.load_run(dense_runs[seed])
        if test is None:
            _, _, test_ds, _ = experiments.load_splits(config)
            test = data.to_numpy(test_ds)
        dense = compress.report(os.path.join(dense_runs[seed], "model.keras"), test, latency_runs=latency_runs)
        baselines.append(dense)
        reports["dense"].append(dense)
        if "student_alone" in wanted:
            reports["student_alone"].append(compress.report(os.path.join(student_runs[seed], "model.keras"), test,
                                                            latency_runs=latency_runs))
        for name, settings in TECHNIQUES.items():
            if name not in wanted:
                continue
            epochs = qat_epochs if settings.get("quantize", "").startswith("qat") else fine_tune
            result = experiments.compress_run(dense_runs[seed], os.path.join(work, "compressed", f"{name}_{seed}"),
                                              dict(settings, epochs=epochs, latency_runs=latency_runs), verbose=0)
            reports[name].append(result["compressed"])
        if "distill" in wanted:
            reports["distill"].append(_student_with_teacher(student_runs[seed], dense_runs[seed],
                                                            os.path.join(work, "compressed", f"distill_{seed}"),
                                                            temperature=4.0, alpha=0.1))
        if "combined" not in wanted:
            continue
        combined = experiments.compress_run(
            student_runs[seed], os.path.join(work, "compressed", f"combined_{seed}"),
            dict(distill_from=dense_runs[seed], prune=0.8, quantize="qat8", epochs=fine_tune,
                 latency_runs=latency_runs), verbose=0)
        reports["combined"].append(combined["compressed"])
    budgets = {
        "dense": {"train_epochs": recipe["epochs"]},
        "student_alone": {"train_epochs": recipe["epochs"], "width": STUDENT_WIDTH},
        "distill": {"train_epochs": recipe["epochs"], "width": STUDENT_WIDTH, "temperature": 4.0, "alpha": 0.1},
        "combined": {"from": "student_alone", "distill_epochs": fine_tune, "prune": 0.8, "prune_epochs": fine_tune,
                     "qat8_epochs": fine_tune},
        **{name: {**settings, "fine_tune_epochs": 0 if name.startswith("ptq") else
                  (qat_epochs if name.startswith("qat") else fine_tune)} for name, settings in TECHNIQUES.items()},
    }
    rows = [_row(name, found, baselines, seeds, budgets[name]) for name, found in reports.items() if name in wanted]
    remeasured = []
    if previous is not None:
        fresh = {row["technique"]: row for row in rows}
        rows = [fresh.get(row["technique"], row) for row in previous["rows"]]
        remeasured = previous.get("remeasured", []) + [{"techniques": sorted(wanted), "date": time.strftime("%Y-%m-%d"),
                                                        "machine": common.machine()}]
    result = {"model": model, "recipe": recipe, "seeds": seeds, "rows": rows, "goals": goals(rows),
              "machine": previous["machine"] if previous else common.machine(), "quick": quick}
    return {**result, "remeasured": remeasured} if remeasured else result


def goals(rows):
    """Issue 21's goals, each against `dense`: what was measured and whether it met the goal."""
    by = {row["technique"]: row for row in rows}
    dense = by["dense"]

    def drop(name):
        return round(100 * (dense["test_accuracy"] - by[name]["test_accuracy"]), 2)

    checks = [
        ("prune_90: accuracy drop <= 1.0 point", drop("prune_90"), drop("prune_90") <= 1.0),
        ("channels_50: accuracy drop <= 1.5 points", drop("channels_50"), drop("channels_50") <= 1.5),
        ("channels_50: TFLite latency >= 1.5x faster", round(dense["latency_ms"] / by["channels_50"]["latency_ms"], 2),
         dense["latency_ms"] / by["channels_50"]["latency_ms"] >= 1.5),
        ("factorize_50: accuracy drop <= 1.0 point", drop("factorize_50"), drop("factorize_50") <= 1.0),
        ("qat_int8: accuracy drop <= 0.3 points", drop("qat_int8"), drop("qat_int8") <= 0.3),
        ("qat_int4 beats ptq_int4 by >= 2 points", round(100 * (by["qat_int4"]["test_accuracy"]
                                                               - by["ptq_int4"]["test_accuracy"]), 2),
         by["qat_int4"]["test_accuracy"] - by["ptq_int4"]["test_accuracy"] >= 0.02),
        ("distill beats student_alone by >= 1 point", round(100 * (by["distill"]["test_accuracy"]
                                                                  - by["student_alone"]["test_accuracy"]), 2),
         by["distill"]["test_accuracy"] - by["student_alone"]["test_accuracy"] >= 0.01),
        ("combined: accuracy drop <= 1.5 points", drop("combined"), drop("combined") <= 1.5),
        ("combined: gzip'd .tflite >= 20x smaller than the dense float one",
         round(dense["tflite_gzip_bytes"] / by["combined"]["tflite_gzip_bytes"], 1),
         dense["tflite_gzip_bytes"] / by["combined"]["tflite_gzip_bytes"] >= 20),
    ]
    return [{"goal": goal, "measured": measured, "met": bool(met)} for goal, measured, met in checks]


def show(result):
    print(f"{'technique':<14}{'test acc':>9}{'params':>10}{'non-zero':>10}{'KiB':>9}{'MMACs':>8}{'sparse':>8}"
          f"{'tflite KiB':>11}{'gzip KiB':>9}{'ms/img':>8}{'score':>7}")
    for row in result["rows"]:
        print(f"{row['technique']:<14}{row['test_accuracy']:>9.4f}{row['params']:>10,}{row['nonzero_params']:>10,}"
              f"{row['storage_bits'] / 8192:>9.1f}{row['macs'] / 1e6:>8.2f}{row['sparse_macs'] / 1e6:>8.2f}"
              f"{row['tflite_bytes'] / 1024:>11.1f}{row['tflite_gzip_bytes'] / 1024:>9.1f}{row['latency_ms']:>8.3f}"
              f"{row['score']:>7.3f}")
    for goal in result["goals"]:
        print(f"{'met ' if goal['met'] else 'MISSED'}  {goal['goal']}: {goal['measured']}")
