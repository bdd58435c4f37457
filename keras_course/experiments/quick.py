"""Train a registry model in memory, without a run directory: what the labs and notebooks use."""

import dataclasses

from keras_course import data, models, training


@dataclasses.dataclass
class FitResult:
    model: object
    history: dict
    test: dict  # test-set metrics by name, e.g. {"loss": ..., "accuracy": ...}
    info: object
    splits: tuple  # (train, val, test) unbatched datasets


def fit(model_name, dataset, *, epochs, batch_size=32, optimizer="adam", lr=None, schedule="constant", seed=0,
        augment=None, verbose=0, **model_options):
    """Load `dataset`, build `model_name` with the task's head and normalisation inside, train, and test.

    Example:
        >>> result = fit("mlp", "moons", epochs=100, lr=1e-2, schedule="cosine", hidden=(16, 16))
        >>> result.test["accuracy"] > 0.95  # lab T2 measured 0.992
        True
    """
    training.set_seed(seed)
    train, val, test, info = data.load(dataset, seed=seed)
    options = {**models.head_options(info.task, info.num_classes), "normalization": data.normalization_for(train, info),
               **model_options}
    model = models.build(model_name, input_shape=info.input_shape, **options)
    clock = data.EpochClock()
    train_pipe = data.make_pipeline(train, batch_size=batch_size, training=True, augment=augment, seed=seed, clock=clock)
    steps = int(train_pipe.cardinality())
    training.compile_model(model, task=info.task, optimizer=optimizer, lr=lr, schedule=schedule,
                           total_steps=steps * epochs)
    history = model.fit(train_pipe, validation_data=data.make_pipeline(val, batch_size=256), epochs=epochs,
                        callbacks=[clock.callback()], verbose=verbose, shuffle=False)
    scores = model.evaluate(data.make_pipeline(test, batch_size=256), verbose=0, return_dict=True)
    return FitResult(model, history.history, {k: float(v) for k, v in scores.items()}, info, (train, val, test))
