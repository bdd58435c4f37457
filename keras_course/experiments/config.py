"""RunConfig: everything needed to rerun a training run, validated before anything is created."""

import dataclasses

from keras_course import data, models
from keras_course._checks import check_choice, check_int, check_positive, check_range
from keras_course.training import OPTIMIZERS, PRECISIONS, SCHEDULES, STRATEGIES


def setting(default, help, *, factory=None):
    """A RunConfig field with its help text, which the command line shows for the field's flag."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class RunConfig:
    """One training run. Units: epochs and batch size in examples; lr is the peak learning rate.

    Each field is one setting; the command line derives a flag from each (keras_course.cli.arguments), so adding
    a setting here is the whole change.
    """

    model: str = setting(dataclasses.MISSING, "registry name (a keras.applications name or registry model for a "
                         "transfer run)")
    dataset: str = setting(dataclasses.MISSING, "dataset name, or image_folder:PATH (one sub-folder per class)")
    epochs: int = setting(10, "epochs (of a transfer run: of training the new head on the frozen backbone)")
    batch_size: int = setting(128, "examples per batch (the global batch over all replicas)")
    optimizer: str = setting("adam", "sgd, momentum, nesterov, adagrad, rmsprop, adam, nadam or adamw")
    lr: float = setting(None, "peak learning rate (default: the optimizer's usual one)")
    schedule: str = setting("cosine", "constant, step, exponential, cosine, one_cycle or plateau")
    warmup_epochs: int = setting(0, "epochs of linear warm-up at the start (cosine)")
    weight_decay: float = setting(None, "decoupled weight decay (default: none; adamw: 1e-4)")
    label_smoothing: float = setting(0.0, "label smoothing in [0, 1)")
    augment: object = setting("none", "policy (none, light, standard, strong, mixup, cutmix, randaugment, augmix, simclr) or steps, e.g. 'flip,rotate:0.1,blur@0.5'")
    val_fraction: float = setting(0.1, "share of the training examples held out for validation; 0: train on all of "
                                  "them (no early stopping, no best checkpoint, the last epoch is kept)")
    minutes: float = setting(None, "a time budget: stop when another epoch would overrun M minutes of training, "
                             "counted across resumed sessions (the schedule still spans the planned epochs; default: none)")
    seed: int = setting(0, "seed of the split, the initialisation, the data order and the augmentation")
    patience: int = setting(None, "early stopping patience in epochs (default: off)")
    limit: int = setting(None, "use at most N training and N test examples")
    classes: list = setting(None, "keep only these class indices, e.g. 0,1,2,3,4 (relabelled 0..k-1)")
    data_dir: str = setting(None, "a folder to look in first for the files of downloadable datasets")
    model_options: dict = setting(None, "builder option, JSON value, e.g. --option width=2 --option 'hidden=[128,64]' "
                                  "(a transfer run: the registry backbone's options)", factory=dict)
    image_size: list = setting(None, "(height, width) that image_folder / cats_vs_dogs images are resized to: N or H,W")
    transfer: dict = setting(None, "set for transfer runs: `model` is then a backbone; see TRANSFER_DEFAULTS")
    bn_momentum: float = setting(None, "BatchNorm moving-average momentum (default: the model's, 0.99); 0.9 suits runs "
                                 "of an epoch or two")
    jit_compile: object = setting("auto", "XLA compilation: auto (on with a GPU, off on the CPU, where it is slower), "
                                  "on or off")
    deterministic_ops: bool = setting(False, "bit-for-bit repeatable TF ops (slower on GPU)")
    precision: str = setting("auto", "auto (by hardware: mixed_bfloat16 on a CPU or GPU that computes bfloat16, "
                             "mixed_float16 on an older GPU, float32 elsewhere), float32, mixed_float16 or "
                             "mixed_bfloat16")
    strategy: str = setting("default", "default (one device), mirrored (every local GPU, or every logical CPU) or "
                            "multiworker (the cluster in TF_CONFIG; run the same command on every worker)")
    ssl: str = setting(None, "self-supervised pretraining: simclr or simsiam (the labels are never read; augment "
                       "'none' means the simclr views)")

    def transfer_settings(self) -> dict | None:
        """The transfer settings with their defaults filled in (None for an ordinary run)."""
        return None if self.transfer is None else {**TRANSFER_DEFAULTS, **self.transfer}

    def to_dict(self) -> dict:
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

    def validate(self) -> "RunConfig":
        """Raise ValueError (one line, naming the setting) for anything that would fail later."""
        if self.ssl is not None:
            self._validate_ssl()
        if self.transfer is None:
            if not isinstance(self.model_options, dict):
                raise ValueError(f"`model_options` must be a dict of builder options. Received: "
                                 f"model_options={self.model_options!r}")
            models.check_options(self.model, self.model_options)
        else:
            self._validate_transfer()
        data.check_name(self.dataset)
        if self.image_size is not None and (len(self.image_size) != 2 or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in self.image_size)):
            raise ValueError(f"`image_size` must be (height, width) in pixels. Received: image_size={self.image_size!r}")
        check_positive("epochs", self.epochs, integer=True)
        if self.minutes is not None:
            check_positive("minutes", self.minutes)
        check_positive("batch_size", self.batch_size, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None:
            check_positive("lr", self.lr)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("precision", self.precision, PRECISIONS)
        if self.deterministic_ops and self.jit_compile is True:
            raise ValueError("deterministic_ops=True cannot be combined with jit_compile=True: XLA does not guarantee "
                             "deterministic ops, and Keras would silently compile without it. Drop one of the two.")
        check_choice("strategy", self.strategy, STRATEGIES)
        check_range("val_fraction", self.val_fraction, 0, 1, example=0.1)
        if self.patience is not None:
            check_positive("patience", self.patience, integer=True)
        if not self.val_fraction:  # nothing to watch: refuse what watches the validation loss
            if self.patience is not None:
                raise ValueError(f"Early stopping (patience={self.patience!r}) watches the validation loss, and "
                                 "val_fraction=0 leaves no validation split: keep one (e.g. val_fraction=0.1) or turn "
                                 "early stopping off.")
            if self.schedule == "plateau":
                raise ValueError("schedule='plateau' watches the validation loss, and val_fraction=0 leaves no "
                                 "validation split: keep one (e.g. val_fraction=0.1) or choose another schedule.")
        if self.limit is not None:
            check_positive("limit", self.limit, integer=True)
        data.check_classes(self.classes)  # the upper bound is checked when the dataset is loaded
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ValueError(f"`warmup_epochs` must be an int in [0, epochs). Received: warmup_epochs={self.warmup_epochs!r}")
        if self.bn_momentum is not None:
            models.check_bn_momentum(self.bn_momentum)
        data.resolve_policy(self.augment)
        return self

    def _validate_ssl(self):
        from keras_course.ssl import METHODS, MIN_BATCH

        check_choice("ssl", self.ssl, METHODS)
        if self.transfer is not None:
            raise ValueError(f"ssl={self.ssl!r} pretrains an encoder from scratch; a transfer run (transfer settings) "
                             "fine-tunes one: choose one of the two.")
        if isinstance(self.batch_size, int) and self.batch_size < MIN_BATCH:
            raise ValueError(f"ssl={self.ssl!r} needs batches of at least {MIN_BATCH} images (each view's negatives "
                             f"are the batch's other images). Received: batch_size={self.batch_size!r}")
        if self.patience is not None or self.schedule == "plateau":
            raise ValueError(f"ssl={self.ssl!r} has no validation loss to watch: leave patience unset and choose a "
                             f"schedule other than plateau. Received: patience={self.patience!r}, "
                             f"schedule={self.schedule!r}")
        if self.label_smoothing:
            raise ValueError(f"ssl={self.ssl!r} reads no labels, so label_smoothing has nothing to smooth. Received: "
                             f"label_smoothing={self.label_smoothing!r}")

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
        check_int("fine_tune_epochs", ft)
        check_positive("fine_tune_lr", settings["fine_tune_lr"])
        stages = settings["unfreeze_stages"]
        if stages is not None:
            check_positive("unfreeze_stages", stages, integer=True)


# A transfer run trains the new head for `epochs` at `lr`, then unfreezes the backbone (all of it, or its last
# `unfreeze_stages` stages) and fine-tunes for `fine_tune_epochs` at `fine_tune_lr`, BatchNorm frozen throughout.
TRANSFER_DEFAULTS = dict(weights="imagenet", fine_tune_epochs=0, fine_tune_lr=1e-5, unfreeze_stages=None,
                         dropout=0.2, resize=None, options=None)
TRANSFER_HELP = dict(
    weights="backbone weights: imagenet (Keras cache), none, project:NAME or a weights file",
    fine_tune_epochs="then unfreeze the backbone and fine-tune for this many epochs",
    fine_tune_lr="learning rate of the fine-tuning",
    unfreeze_stages="fine-tune only the last N stages (default: all)",
    dropout="dropout before the new head",
    resize="resize images to N x N inside the model, before the backbone",
    options="the registry backbone's builder options",
)
