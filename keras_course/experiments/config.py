"""RunConfig: everything needed to rerun a training run, validated before anything is created."""

import dataclasses

from keras_course import data, models
from keras_course._checks import check_choice, check_fraction, check_positive
from keras_course.training import OPTIMIZERS, PRECISIONS, SCHEDULES, STRATEGIES


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
    classes: list = None  # keep only these class indices (relabelled 0..k-1), e.g. [0, 1, 2, 3, 4]
    data_dir: str = None
    model_options: dict = dataclasses.field(default_factory=dict)
    image_size: list = None  # (height, width) that image_folder / cats_vs_dogs images are resized to
    transfer: dict = None  # set for transfer runs: `model` is then a backbone; see TRANSFER_DEFAULTS
    bn_momentum: float = None  # None: the model's own (Keras: 0.99); 0.9 suits runs of an epoch or two
    jit_compile: object = "auto"
    deterministic_ops: bool = False
    precision: str = "auto"  # see training.PRECISIONS: mixed_float16 on a GPU, float32 on the CPU
    strategy: str = "default"  # see training.STRATEGIES; batch_size is then the global batch over all replicas

    def transfer_settings(self):
        """The transfer settings with their defaults filled in (None for an ordinary run)."""
        return None if self.transfer is None else {**TRANSFER_DEFAULTS, **self.transfer}

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def with_defaults(cls, values):
        """`values` (a saved config.json) with every setting it lacks at its default: settings added since a run
        was saved do not make it look different."""
        defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                    for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
        return {**defaults, **values}

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown run settings {unknown}. Known: {sorted(known)}")
        return cls(**values)

    def validate(self):
        """Raise ValueError (one line, naming the setting) for anything that would fail later."""
        if self.transfer is None:
            models.get_builder(self.model)
        else:
            self._validate_transfer()
        data.check_name(self.dataset)
        if self.image_size is not None and (len(self.image_size) != 2 or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in self.image_size)):
            raise ValueError(f"`image_size` must be (height, width) in pixels. Received: image_size={self.image_size!r}")
        check_positive("epochs", self.epochs, integer=True)
        check_positive("batch_size", self.batch_size, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None:
            check_positive("lr", self.lr)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_fraction("val_fraction", self.val_fraction)
        if self.patience is not None:
            check_positive("patience", self.patience, integer=True)
        if self.limit is not None:
            check_positive("limit", self.limit, integer=True)
        data.check_classes(self.classes)  # the upper bound is checked when the dataset is loaded
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ValueError(f"`warmup_epochs` must be an int in [0, epochs). Received: warmup_epochs={self.warmup_epochs!r}")
        if self.bn_momentum is not None:
            models.check_bn_momentum(self.bn_momentum)
        data.resolve_policy(self.augment)
        return self

    def _validate_transfer(self):
        if not isinstance(self.transfer, dict):
            raise ValueError(f"`transfer` must be a dict of transfer settings or None. Received: transfer={self.transfer!r}")
        unknown = sorted(set(self.transfer) - set(TRANSFER_DEFAULTS))
        if unknown:
            raise ValueError(f"Unknown transfer settings {unknown}. Known: {sorted(TRANSFER_DEFAULTS)}")
        settings = self.transfer_settings()
        from keras_course import transfer  # transfer builds on models and training; import it only when used

        transfer.backbones.check_weights_argument(settings["weights"])
        if not str(settings["weights"]).startswith(transfer.backbones.PROJECT_PREFIX):
            transfer.backbones.check_backbone_name(self.model)
        ft = settings["fine_tune_epochs"]
        if isinstance(ft, bool) or not isinstance(ft, int) or ft < 0:
            raise ValueError(f"`fine_tune_epochs` must be an int >= 0. Received: fine_tune_epochs={ft!r}")
        check_positive("fine_tune_lr", settings["fine_tune_lr"])
        stages = settings["unfreeze_stages"]
        if stages is not None:
            check_positive("unfreeze_stages", stages, integer=True)


# A transfer run trains the new head for `epochs` at `lr`, then unfreezes the backbone (all of it, or its last
# `unfreeze_stages` stages) and fine-tunes for `fine_tune_epochs` at `fine_tune_lr`, BatchNorm frozen throughout.
TRANSFER_DEFAULTS = dict(weights="imagenet", fine_tune_epochs=0, fine_tune_lr=1e-5, unfreeze_stages=None,
                         dropout=0.2, resize=None, options=None)
