"""Train a registry model in memory, without a run directory: what the labs and notebooks use."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from keras_course import data, training
from keras_course.experiments import engine
from keras_course.experiments.config import RunConfig

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["FitResult", "fit"]


@dataclasses.dataclass
class FitResult:
    model: object
    history: dict
    test: dict  # test-set metrics by name, e.g. {"loss": ..., "accuracy": ...}
    info: object
    splits: tuple  # (train, val, test) unbatched datasets


def fit(model_name: str, dataset: str, *, epochs: int, batch_size: int = 32, optimizer: str = "adam",
        lr: float | None = None, schedule: str = "constant", seed: int = 0, augment: str | Sequence[str] | None = None,
        verbose: int = 0, **model_options) -> FitResult:
    """Load `dataset`, build `model_name` with the task's head and normalisation inside, train, and test: the
    engine's path (`experiments.engine`) for a RunConfig of these settings, in memory.

    Example:
        >>> result = fit("mlp", "moons", epochs=100, lr=1e-2, schedule="cosine", hidden=(16, 16))
        >>> result.test["accuracy"] > 0.95  # lab T2 measured 0.992
        True
    """
    config = engine.as_config(RunConfig(model=model_name, dataset=dataset, epochs=epochs, batch_size=batch_size,
                                        optimizer=optimizer, lr=lr, schedule=schedule, seed=seed,
                                        augment="none" if augment is None else augment, model_options=model_options))
    training.set_seed(seed)  # before loading, as the labs' recorded results were made
    train, val, test, info = engine.load_splits(config)
    with training.dtype_policy(config.precision):
        model = engine.build_for(config, train, info)
    clock = data.EpochClock()
    train_pipe, val_pipe = engine.pipelines(config, train, val, clock=clock, info=info)
    (history,) = training.fit_phases(model, engine.phases_for(config), train_pipe, val_pipe,
                                     callbacks=[clock.callback()], verbose=verbose,
                                     **engine.compile_options(config, info))
    scores = model.evaluate(data.make_pipeline(test, batch_size=engine.VAL_BATCH), verbose=0, return_dict=True)
    return FitResult(model, history, {k: float(v) for k, v in scores.items()}, info, (train, val, test))
