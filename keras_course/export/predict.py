"""Predict image files with any exported model: top-k class names and probabilities per file.

Images of any size and colour mode are converted to what the model takes (resized, grayscale <-> RGB, alpha
dropped, 16-bit scaled to 8). A file that cannot be read gets one line naming it; the others are still predicted.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import numpy as np

from keras_course.export.runtimes import find_class_names, load_runtime

if TYPE_CHECKING:
    from collections.abc import Sequence


class ImageFileError(ValueError):
    """An image file is missing, empty or unreadable; the message names it."""


def read_image(path: str | os.PathLike, input_shape: tuple[int, ...]) -> np.ndarray:
    """The image at `path` as uint8 (height, width, channels) shaped for a model taking `input_shape`."""
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageFileError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise ImageFileError(f"{path}: the file is empty")
    height, width, channels = input_shape
    if channels not in (1, 3):
        raise ImageFileError(f"{path}: the model takes {channels} channels; image files give 1 (grayscale) or 3 (RGB)")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode.startswith("I;16") or image.mode in ("I", "F"):  # 16/32-bit grayscale: scale to 8 bits
                values = np.asarray(image, dtype=np.float64)
                top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
                image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), mode="L")
            image = image.convert("L" if channels == 1 else "RGB")
            if (height, width) != (None, None) and image.size != (width or image.width, height or image.height):
                image = image.resize((width or image.width, height or image.height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageFileError(f"{path}: not an image this machine can read ({type(error).__name__}: "
                             f"{' '.join(str(error).split())[:120]})") from None
    return pixels[..., None] if channels == 1 else pixels


@dataclasses.dataclass
class Prediction:
    file: str
    top: list = None  # [(class name, class index, probability)], most probable first
    error: str = None

    def to_dict(self) -> dict:
        if self.error:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, "top": [{"class": name, "index": index, "probability": round(p, 6)}
                                           for name, index, p in self.top]}

    def __str__(self):
        if self.error:
            return f"error: {self.error}"
        return f"{self.file}: " + ", ".join(f"{name} {p:.3f}" for name, _, p in self.top)


def _probabilities(outputs):
    outputs = np.asarray(outputs, dtype=np.float64)[0]
    return np.array([1 - outputs[0], outputs[0]]) if outputs.shape == (1,) else outputs


def predict_files(model_path: str | os.PathLike, files: Sequence[str | os.PathLike], *, top_k: int = 3,
                  class_names: Sequence[str] | None = None) -> list[Prediction]:
    """One Prediction per file, in order; a file that cannot be read has `error` set instead of `top`."""
    if top_k < 1:
        raise ValueError(f"`top_k` must be >= 1. Received: top_k={top_k!r}")
    if not files:
        raise ValueError("`files` is empty: pass one or more PNG or JPEG files")
    runtime = load_runtime(model_path)
    if len(runtime.input_shape) != 3:
        raise ValueError(f"model_path={model_path!r} takes inputs of shape {runtime.input_shape}, not images")
    names = list(class_names or find_class_names(model_path))
    predictions = []
    for path in files:
        try:
            image = read_image(path, runtime.input_shape)
        except ImageFileError as error:
            predictions.append(Prediction(os.fspath(path), error=str(error)))
            continue
        probabilities = _probabilities(runtime.predict(image[None]))
        order = np.argsort(-probabilities)[:top_k]
        predictions.append(Prediction(os.fspath(path), top=[
            (names[i] if i < len(names) else str(i), int(i), float(probabilities[i])) for i in order]))
    return predictions
