"""What a loaded dataset is: the facts models and training need, and where the data came from."""

from __future__ import annotations

import dataclasses

TASKS = ("regression", "binary", "multiclass")
UNLABELLED = "unlabelled"  # the task of a flat image folder: images without labels, for self-supervised pretraining


@dataclasses.dataclass
class DatasetInfo:
    """Facts about a loaded dataset.

    Attributes:
        name: str. The registry name the dataset was loaded under.
        task: str. One of "regression", "binary", "multiclass", or "unlabelled" (a flat image folder).
        input_shape: tuple. Shape of one example, e.g. (28, 28, 1).
        num_classes: int. Number of classes; the number of targets for regression.
        class_names: list of str. Human names of the classes (empty for regression).
        source: str. Where the data came from: a path, or how it was generated.
        sizes: dict. Number of examples in "train", "val" and "test".
        value_range: tuple or None. (low, high) of raw inputs, e.g. (0, 255) for uint8 images.
        extras: dict. Dataset-specific facts (for example the noise level of a synthetic set).
    """

    name: str
    task: str
    input_shape: tuple
    num_classes: int
    class_names: list
    source: str
    sizes: dict = dataclasses.field(default_factory=dict)
    value_range: tuple = None
    extras: dict = dataclasses.field(default_factory=dict)

    @property
    def is_image(self):
        return len(self.input_shape) == 3

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on this machine and could not be downloaded; the message says how to get it."""
