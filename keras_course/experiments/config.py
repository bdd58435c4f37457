"""RunConfig: everything needed to rerun a training run, validated before anything is created."""

import dataclasses

from keras_course import data, models
from keras_course._checks import check_choice, check_fraction, check_positive
from keras_course.training import OPTIMIZERS, SCHEDULES


@dataclasses.dataclass
class RunConfig:
    """One training run. Units: epochs and batch size in examples; lr is the peak learning rate."""

    model: str
    dataset: str
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = None  # None: the optimizer's usual default
    schedule: str = "cosine"
    warmup_epochs: int = 0
    weight_decay: float = None
    label_smoothing: float = 0.0
    augment: object = "none"  # policy name or list of steps
    val_fraction: float = 0.1
    seed: int = 0
    patience: int = None  # early stopping; None trains every epoch
    limit: int = None
    data_dir: str = None
    model_options: dict = dataclasses.field(default_factory=dict)
    jit_compile: object = "auto"
    deterministic_ops: bool = False

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown run settings {unknown}. Known: {sorted(known)}")
        return cls(**values)

    def validate(self):
        """Raise ValueError (one line, naming the setting) for anything that would fail later."""
        models.get_builder(self.model)
        data.check_name(self.dataset)
        check_positive("epochs", self.epochs, integer=True)
        check_positive("batch_size", self.batch_size, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None:
            check_positive("lr", self.lr)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_fraction("val_fraction", self.val_fraction)
        if self.patience is not None:
            check_positive("patience", self.patience, integer=True)
        if self.limit is not None:
            check_positive("limit", self.limit, integer=True)
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ValueError(f"`warmup_epochs` must be an int in [0, epochs). Received: warmup_epochs={self.warmup_epochs!r}")
        data.resolve_policy(self.augment)
        return self
