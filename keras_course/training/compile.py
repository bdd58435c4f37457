"""compile_model: optimizer, schedule, loss and metrics chosen by name and by the model's task."""

from __future__ import annotations

import platform

import keras

from keras_course._checks import check_choice, check_positive, check_range
from keras_course.models.common import layers_within
from keras_course.training.devices import gpu_available
from keras_course.training.layerwise import with_lr_multipliers
from keras_course.training.schedules import make_schedule

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam", "adamw")
# Training steps per call into the graph: 32 trained mlp 2.3x and lenet5 1.2x faster than 1 on 2 CPU cores, and
# faster than 8 for both (`python -m bench overheads`, bench/results/overheads_cpu2.json); a model that takes
# milliseconds per step hardly notices the per-call overhead either way. Callbacks then see every 32nd batch.
DEFAULT_STEPS_PER_EXECUTION = 32
DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
              "nadam": 1e-3, "adamw": 1e-3}
TASKS = ("regression", "binary", "multiclass")


def label_rows(y_true, y_pred):
    """Labels as rows of class probabilities, whichever form they come in: soft rows (MixUp, CutMix) as they are,
    class indices one-hot. The form is told apart by the labels' static shape: (batch, classes) is soft."""
    depth = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == depth and depth > 1:
        return keras.ops.cast(y_true, y_pred.dtype)
    return keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), depth, dtype=y_pred.dtype)


@keras.saving.register_keras_serializable(package="keras_course")
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """Categorical cross-entropy with label smoothing on class indices (Keras's sparse loss has no smoothing
    option) or on soft labels: a run whose training labels are mixed and whose test labels are not compiles one
    loss for both."""

    def __init__(self, label_smoothing=0.0, from_logits=False, name="sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return keras.losses.categorical_crossentropy(
            label_rows(y_true, y_pred), y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing, from_logits=self.from_logits)
        return config


def resolve_jit(jit_compile: bool | str) -> bool:
    """"auto" means: under TensorFlow, XLA on a GPU and off on the CPU, where it measured about 2x slower for conv
    nets; under JAX always, since XLA is how JAX runs a step at speed; under PyTorch off (Keras would call
    torch.compile, which it marks experimental)."""
    check_choice("jit_compile", jit_compile, ("auto", True, False))
    if jit_compile != "auto":
        return jit_compile
    backend = keras.backend.backend()
    return backend == "jax" or (backend == "tensorflow" and gpu_available())


def infer_task(model: keras.Model) -> str:
    """Guess the task from the output layer: softmax → multiclass, sigmoid → binary, linear 1 unit → regression."""
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "linear")
    units = model.output_shape[-1]
    if activation == "softmax":
        return "multiclass"
    if activation == "sigmoid":
        return "binary"
    return "regression" if units == 1 else "multiclass"


def output_is_logits(model):
    return getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear") == "linear"


@keras.saving.register_keras_serializable(package="keras_course")
def label_accuracy(y_true, y_pred):
    """Accuracy on the argmax, the labels class indices or soft rows (a mixed label counts as its larger class)."""
    rows = label_rows(y_true, y_pred)
    return keras.ops.cast(keras.ops.argmax(rows, axis=-1) == keras.ops.argmax(y_pred, axis=-1), "float32")


@keras.saving.register_keras_serializable(package="keras_course")
def label_top5_accuracy(y_true, y_pred):
    """Top-5 accuracy, the labels class indices or soft rows (their argmax)."""
    target = keras.ops.argmax(label_rows(y_true, y_pred), axis=-1)
    return keras.ops.cast(keras.ops.in_top_k(target, y_pred, 5), "float32")


def loss_and_metrics(task: str, num_outputs: int, *, from_logits: bool = False, label_smoothing: float = 0.0,
                     soft_labels: bool = False) -> tuple:
    """The loss and metrics the course uses for each task; `soft_labels`: multiclass ones that read soft labels
    (from label mixing) as well as class indices."""
    check_choice("task", task, TASKS)
    if soft_labels and task != "multiclass":
        raise ValueError(f"Soft labels (label mixing) need a multiclass task. Received: task={task!r}")
    if task == "regression":
        return keras.losses.MeanSquaredError(), [keras.metrics.MeanAbsoluteError(name="mae"),
                                                  keras.metrics.MeanSquaredError(name="mse")]
    if task == "binary":
        threshold = 0.0 if from_logits else 0.5
        return (keras.losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing),
                [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
                 keras.metrics.AUC(name="auc", from_logits=from_logits)])
    if soft_labels:
        metrics = [keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy")]
        if num_outputs > 5:
            metrics.append(keras.metrics.MeanMetricWrapper(label_top5_accuracy, name="top5_accuracy"))
        return SparseCategoricalCrossentropyWithSmoothing(label_smoothing, from_logits=from_logits), metrics
    if label_smoothing:
        loss = SparseCategoricalCrossentropyWithSmoothing(label_smoothing, from_logits=from_logits)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if num_outputs > 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"))
    return loss, metrics


# name -> (learning rate, momentum, {"weight_decay": w} or {}) -> optimizer; AdamW decays by 1e-4 unless told
OPTIMIZER_FACTORIES = {
    "sgd": lambda lr, momentum, wd: keras.optimizers.SGD(lr, **wd),
    "momentum": lambda lr, momentum, wd: keras.optimizers.SGD(lr, momentum=momentum, **wd),
    "nesterov": lambda lr, momentum, wd: keras.optimizers.SGD(lr, momentum=momentum, nesterov=True, **wd),
    "adagrad": lambda lr, momentum, wd: keras.optimizers.Adagrad(lr, **wd),
    "rmsprop": lambda lr, momentum, wd: keras.optimizers.RMSprop(lr, **wd),
    "adam": lambda lr, momentum, wd: keras.optimizers.Adam(lr, **wd),
    "nadam": lambda lr, momentum, wd: keras.optimizers.Nadam(lr, **wd),
    "adamw": lambda lr, momentum, wd: keras.optimizers.AdamW(lr, weight_decay=wd.get("weight_decay", 1e-4)),
}


def make_optimizer(name, learning_rate, *, momentum=0.9, weight_decay=None):
    check_choice("optimizer", name, OPTIMIZERS)
    return OPTIMIZER_FACTORIES[name](learning_rate, momentum, {"weight_decay": weight_decay} if weight_decay else {})


def compile_model(model: keras.Model, *, task: str | None = None, optimizer: str | keras.optimizers.Optimizer = "adam",
                  lr: float | None = None, momentum: float = 0.9, weight_decay: float | None = None,
                  schedule: str = "constant", total_steps: int | None = None, warmup_steps: int = 0,
                  label_smoothing: float = 0.0, jit_compile: bool | str = "auto",
                  steps_per_execution: int = DEFAULT_STEPS_PER_EXECUTION,
                  lr_multipliers: dict[str, float] | None = None, soft_labels: bool = False) -> keras.Model:
    """Compile `model` with a named optimizer and schedule, and the loss and metrics of its task.

    Args:
        model: keras.Model.
        task: "regression", "binary", "multiclass" or None to infer it from the output layer.
        optimizer: one of OPTIMIZERS. "momentum"/"nesterov" are SGD with `momentum`.
        lr: float > 0 or None for the optimizer's usual default (DEFAULT_LR).
        momentum: float in [0, 1). For "momentum" and "nesterov".
        weight_decay: float or None. Decoupled weight decay (AdamW defaults to 1e-4).
        schedule: one of SCHEDULES (see `make_schedule`); decaying ones need `total_steps`.
        total_steps, warmup_steps: int. Steps of the whole run, and of cosine warm-up.
        label_smoothing: float in [0, 1). For classification losses.
        jit_compile: "auto" (see `resolve_jit`: XLA on a GPU, and always under JAX), True or False.
        steps_per_execution: int > 0. Training steps run per call into the graph. Keras 3.15 runs whole calls:
            `fit(repeating_dataset, steps_per_epoch=N)` trains N rounded up to a multiple of it, so choose N
            as a multiple (datasets that end, like `data.make_pipeline`'s, are not affected).
        lr_multipliers: {variable path: factor} scaling the learning rate per variable (discriminative
            fine-tuning), or None.
        soft_labels: bool. The training labels are soft (MixUp, CutMix): a multiclass loss and accuracy that read
            soft labels and class indices alike.

    Returns:
        The same model, compiled.
    """
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    check_positive("lr", lr)
    check_range("momentum", momentum, 0, 1)
    if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing < 1:
        raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing!r}")
    check_positive("steps_per_execution", steps_per_execution, integer=True)
    # a model that trains another (keras.distillation.Distiller) gets the loss and metrics of that one's head
    head = getattr(model, "student", model)
    learning_rate = make_schedule(schedule, lr, total_steps=total_steps, warmup_steps=warmup_steps)
    if getattr(model, "trains_without_labels", False):  # self-supervised: the model computes its own loss
        loss, metrics = None, None
    else:
        task = task or infer_task(head)
        from_logits = output_is_logits(head) and task != "regression"
        loss, metrics = loss_and_metrics(task, head.output_shape[-1], from_logits=from_logits,
                                         label_smoothing=label_smoothing, soft_labels=soft_labels)
    opt = make_optimizer(optimizer, learning_rate, momentum=momentum, weight_decay=weight_decay)
    if lr_multipliers:
        opt = with_lr_multipliers(opt, lr_multipliers)
    model.compile(
        optimizer=opt,
        loss=loss,
        metrics=metrics,
        jit_compile=resolve_jit(jit_compile),
        steps_per_execution=steps_per_execution,
    )
    if jit_compile is True and not model.jit_compile:
        raise ValueError(f"`jit_compile=True`, but Keras compiled {model.name!r} without XLA because "
                         f"{_why_not_jit(model)}. Use jit_compile=False or 'auto'.")
    return model


def _why_not_jit(model):
    """What made Keras's jit_compile setter turn an explicit True off (it only warns): a layer without XLA
    support, TensorFlow on an Apple-silicon GPU, or op determinism (the one reason left)."""
    unsupported = [layer.name for layer in layers_within(model) if not getattr(layer, "supports_jit", True)]
    if unsupported:
        return f"these layers do not support XLA: {', '.join(unsupported[:5])}"
    if platform.system() == "Darwin" and "arm" in platform.processor().lower() and gpu_available():
        return "TensorFlow has no XLA on Apple-silicon GPUs"
    return "op determinism is on (tf.config.experimental.enable_op_determinism), which XLA does not guarantee"
