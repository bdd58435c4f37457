"""Run directories: new, resume, finished or refused; atomic JSON writes; settings compared on resume.

One set of rules for a run, a search and a comparison: a folder that does not exist or is empty is new; one that
holds the same settings resumes; one that holds other settings, a finished run, or files of something else is
refused with the path and the reason, in Python's words (`run_dir=`, `overwrite=True`); the command line says
them in flag words (keras_course.cli.errors).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from keras_course import training
from keras_course.experiments.config import TRANSFER_DEFAULTS, RunConfig

__all__ = ["CONFIG", "METRICS", "HISTORY", "RunDirectoryError", "changed_settings", "claim", "load_run", "prepare_run",
           "read_json", "truncate_history", "write_json"]

CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"


class RunDirectoryError(ValueError):
    """The run directory holds something that this run must not overwrite or resume."""


def jsonable(value):
    """`json.dump`'s `default`: numpy scalars and arrays, tuples."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_json(path, payload) -> None:
    """Write `payload` to `path` whole or not at all (a temporary file renamed into place)."""
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, default=jsonable)
    os.replace(tmp, path)


def read_json(path, default=None):
    """The JSON document at `path`, or `default` when there is no such file."""
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def claim(run_dir: str, *, overwrite: bool, settings_file: str, changed, finished_file: str = None,
          what: str = "run") -> str:
    """Decide what `run_dir` is for this job: "new" (absent, empty, or cleared by `overwrite`) or "resume".

    Args:
        run_dir: str. The folder.
        overwrite: bool. Delete whatever the folder holds and start over.
        settings_file: the file a job of this kind writes first (config.json, search.json).
        changed: callable() -> sorted names of the settings in which the saved job differs from this one.
        finished_file: a file whose presence means the job finished and must not be resumed (None: no such file).
        what: "run", "search", ... for the messages.

    Raises:
        RunDirectoryError: the folder holds something else, other settings, or a finished job.
    """
    if not os.path.exists(run_dir):
        return "new"
    if not os.path.isdir(run_dir):
        raise RunDirectoryError(f"run_dir={run_dir!r} exists and is not a folder. Choose another path.")
    if overwrite:
        shutil.rmtree(run_dir)
        return "new"
    if not os.listdir(run_dir):
        return "new"
    if not os.path.exists(os.path.join(run_dir, settings_file)):
        raise RunDirectoryError(f"run_dir={run_dir!r} is not empty and holds no {settings_file}. Choose an empty or "
                                "new folder.")
    names = changed()
    if names:
        raise RunDirectoryError(f"run_dir={run_dir!r} holds a {what} with other settings ({', '.join(names)}). Use a "
                                "new `run_dir`, or overwrite=True to start over.")
    if finished_file and os.path.exists(os.path.join(run_dir, finished_file)):
        raise RunDirectoryError(f"run_dir={run_dir!r} holds a finished {what}. Use experiments.evaluate, a new "
                                "`run_dir`, or overwrite=True.")
    return "resume"


def changed_settings(run_dir: str, config: RunConfig) -> list:
    """The names of the settings in which the run saved in `run_dir` differs from `config` (sorted; [] if none)."""
    with open(os.path.join(run_dir, CONFIG)) as f:
        saved = _comparable(json.load(f))
    wanted = _comparable(config.to_dict())
    return sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))


def _comparable(values):
    """A config's settings as JSON values, every setting it lacks (transfer settings too) at its default: settings
    added since a run was saved do not make it look different, and "auto" precision is the policy it stands for
    here (`train` records the policy it used)."""
    values = json.loads(json.dumps(RunConfig.with_defaults(values), default=jsonable))
    if values.get("precision") == "auto":
        values["precision"] = training.resolve_precision("auto")
    if values.get("transfer") is not None:
        values["transfer"] = {**TRANSFER_DEFAULTS, **values["transfer"]}
    return values


def prepare_run(run_dir: str, config: RunConfig, *, overwrite: bool, resume_epoch) -> str:
    """Claim `run_dir` for a training run: create it, write config.json when new, and keep only the history rows of
    the epochs the backup holds (`resume_epoch(run_dir)`). Returns "new" or "resume"."""
    state = claim(run_dir, overwrite=overwrite, settings_file=CONFIG, finished_file=METRICS,
                  changed=lambda: changed_settings(run_dir, config))
    os.makedirs(run_dir, exist_ok=True)
    if state == "new":
        write_json(os.path.join(run_dir, CONFIG), config.to_dict())
    truncate_history(run_dir, resume_epoch(run_dir))
    return state


def truncate_history(run_dir: str, epochs_done: int) -> None:
    """Keep the history rows of finished epochs only (a kill can land between the CSV row and the backup)."""
    path = os.path.join(run_dir, HISTORY)
    if not os.path.exists(path):
        return
    with open(path) as f:
        lines = f.read().splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line and int(line.split(",", 1)[0]) < epochs_done]
    with open(path, "w") as f:
        f.write("\n".join(kept) + ("\n" if kept else ""))


def load_run(run_dir: str | os.PathLike) -> tuple:
    """The config and metrics of a finished run directory."""
    run_dir = os.fspath(run_dir)
    for name in (CONFIG, METRICS, "model.keras"):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise RunDirectoryError(f"run_dir={run_dir!r} has no {name}: it is not a finished run. Train it first.")
    with open(os.path.join(run_dir, CONFIG)) as f:
        config = RunConfig.from_dict(json.load(f))
    with open(os.path.join(run_dir, METRICS)) as f:
        metrics = json.load(f)
    return config, metrics
