"""Knowledge distillation (Hinton et al. 2015) with keras.distillation.Distiller: a student learns from the labels
and from a frozen teacher's softened outputs.

    distiller = compress.distiller(teacher, student, temperature=4.0, alpha=0.1)
    training.fit_phases(distiller, [training.Phase("distill", 10, lr=1e-3)], train, val, task="multiclass")
    student = compress.student_of(distiller)       # the student alone, with its softmax head back

The loss is alpha * cross-entropy(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student
/ T)), the T^2 keeping the soft term's gradients the size of the hard one's as T grows. Keras's LogitsDistillation
divides logits by T, and our models end in a softmax, so both models are used through a copy whose classifier is
linear (the same weights): `with_logits`. The teacher runs in inference mode (batch norm on its moving statistics)
and never trains; the student is saved alone.
"""

from __future__ import annotations

import keras

from keras_course._checks import check_positive, check_range
from keras_course.compress.rebuild import check_rebuildable, rebuild

__all__ = ["distiller", "student_of", "with_activation", "with_logits"]


def _head(model):
    return model.layers[-1]


def with_activation(model: keras.Model, activation: str | None) -> keras.Model:
    """A copy of `model` (same weights) whose last layer has `activation` (None: linear, the logits)."""
    check_rebuildable(model, "distillation")
    last = _head(model).name

    def replace(layer):
        if layer.name != last:
            return None
        return type(layer).from_config({**layer.get_config(), "activation": activation})

    return rebuild(model, replace=replace)


def with_logits(model: keras.Model) -> keras.Model:
    """`model` with a linear last layer: its logits (a softmax model's inputs to the softmax)."""
    return with_activation(model, None)


def _activation_name(model):
    return keras.activations.serialize(_head(model).activation) if getattr(_head(model), "activation", None) else None


def check_compatible(teacher: keras.Model, student: keras.Model) -> None:
    """ValueError unless teacher and student take the same input and predict the same classes."""
    for name, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`{name}` must be a keras.Model. Received: {type(model).__name__}")
    if tuple(teacher.inputs[0].shape[1:]) != tuple(student.inputs[0].shape[1:]):
        raise ValueError(f"The teacher takes inputs shaped {tuple(teacher.inputs[0].shape[1:])} and the student "
                         f"{tuple(student.inputs[0].shape[1:])}: distil between models of the same input.")
    if teacher.outputs[0].shape[-1] != student.outputs[0].shape[-1]:
        raise ValueError(f"The teacher predicts {teacher.outputs[0].shape[-1]} classes and the student "
                         f"{student.outputs[0].shape[-1]}: distil between models of the same classes.")


def distiller(teacher: keras.Model, student: keras.Model, *, temperature: float = 4.0,
              alpha: float = 0.1) -> keras.distillation.Distiller:
    """A keras.distillation.Distiller of `student` from `teacher` (both through `with_logits`), ready for
    training.fit_phases / compile_model.

    Args:
        temperature: float > 0. Softens both distributions (T in the module doc).
        alpha: float in [0, 1]. Weight of the labels' cross-entropy; 1 - alpha weighs the teacher's term.
    """
    check_compatible(teacher, student)
    check_positive("temperature", temperature)
    check_range("alpha", alpha, 0, 1, high_open=False, example=0.1)
    student_logits = with_logits(student)
    student_logits._restore_activation = _activation_name(student)  # for student_of
    return keras.distillation.Distiller(
        teacher=with_logits(teacher), student=student_logits,
        # the loss passed as an instance: LogitsDistillation's default, the string "kl_divergence", resolves to a
        # function, which its isinstance(KLDivergence) test misses, and Keras 3.15 then takes the KL divergence of
        # the scaled logits themselves (not of their softmax): negative losses, no distillation
        distillation_losses=keras.distillation.LogitsDistillation(temperature=float(temperature),
                                                                  loss=keras.losses.KLDivergence()),
        student_loss_weight=float(alpha))


def student_of(model: keras.distillation.Distiller) -> keras.Model:
    """The trained student alone, its last layer's activation (softmax) restored."""
    student = model.student
    return with_activation(student, getattr(student, "_restore_activation", "softmax"))
