"""Which accelerator the current Keras backend sees, asked of that backend, so that "auto" settings need no
TensorFlow under JAX or PyTorch."""

from __future__ import annotations

import keras


def gpu_compute_capabilities() -> list[tuple[int, int] | None]:
    """One entry per GPU the backend can use: its CUDA compute capability (major, minor), or None where the backend
    does not say. An empty list means no GPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [_capability(tf.config.experimental.get_device_details(gpu).get("compute_capability"))
                for gpu in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [_capability(getattr(device, "compute_capability", None))
                for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return []
        return [_capability(torch.cuda.get_device_capability(i)) for i in range(torch.cuda.device_count())]
    return []


def gpu_available() -> bool:
    return bool(gpu_compute_capabilities())


def _capability(value) -> tuple[int, int] | None:
    """(major, minor) from what a backend reports: TF and PyTorch give a tuple, JAX a string such as "9.0"."""
    if value is None:
        return None
    try:
        parts = [int(p) for p in (value.split(".") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        return None
    return (parts[0], parts[1] if len(parts) > 1 else 0) if parts else None
