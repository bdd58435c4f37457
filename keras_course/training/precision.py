"""Mixed precision by name: which Keras dtype policy a run builds its model under.

"auto" follows the hardware. On a GPU: mixed_bfloat16 where it computes bfloat16 natively (compute capability 8.0
and later: A100, H100, RTX 30xx on), mixed_float16 before that (tensor cores since 7.0; Keras adds loss scaling
when it compiles such a model). On a CPU: mixed_bfloat16 where the CPU has bfloat16 instructions (AVX512-BF16 or
AMX-BF16), float32 elsewhere, where bfloat16 would be emulated and slower. Measured on a 2-core AVX512-BF16 CPU
(`python -m bench precision`): see the README's Performance section for the families that gain and those that do
not. The classifier layer stays float32 under every policy.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator

import keras

from keras_course._checks import check_choice
from keras_course.training import devices

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
CPUINFO = "/proc/cpuinfo"
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # its names for native bfloat16 arithmetic
GPU_BFLOAT16_CAPABILITY = (8, 0)


def _cpuinfo_field(names: tuple, cpuinfo: str | None) -> str | None:
    """The value of the first line of `cpuinfo` (default CPUINFO) that starts with one of `names`: "" when there
    is no such line, None when the file cannot be read."""
    try:
        with open(cpuinfo or CPUINFO, errors="replace") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(names) and ":" in line), "")
    except OSError:
        return None


def cpu_flags(cpuinfo: str | None = None) -> frozenset:
    """The instruction-set flags of the first CPU listed in `cpuinfo` (default CPUINFO; empty without such a file)."""
    return frozenset((_cpuinfo_field(("flags", "Features"), cpuinfo) or "").split())


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name in `cpuinfo` (default CPUINFO), or the platform's processor string without one."""
    name = _cpuinfo_field(("model name",), cpuinfo)
    if name is None:
        return platform.processor() or "unknown CPU"
    return name or "unknown CPU"


def cpu_computes_bfloat16() -> bool:
    """True on a CPU with bfloat16 instructions (AVX512-BF16 or AMX-BF16)."""
    return bool(cpu_flags() & set(CPU_BFLOAT16_FLAGS))


def gpu_policy(compute_capability: tuple | None) -> str:
    """The mixed policy for a GPU of `compute_capability` (major, minor); None (unknown) counts as pre-8.0."""
    native = compute_capability is not None and tuple(compute_capability) >= GPU_BFLOAT16_CAPABILITY
    return "mixed_bfloat16" if native else "mixed_float16"


def auto_precision() -> str:
    """The policy "auto" stands for on this machine (see the module docstring)."""
    gpus = devices.gpu_compute_capabilities()
    if gpus:
        return gpu_policy(gpus[0])
    return "mixed_bfloat16" if cpu_computes_bfloat16() else "float32"


def resolve_precision(precision: str = "auto") -> str:
    """The Keras dtype policy name for `precision` (one of PRECISIONS) on this machine."""
    check_choice("precision", precision, PRECISIONS)
    return auto_precision() if precision == "auto" else precision


@contextlib.contextmanager
def dtype_policy(precision: str = "auto") -> Iterator[None]:
    """Build models inside this block to give their layers the policy of `precision`; the global policy is
    restored afterwards (layers keep the policy they were built with, and it is saved with the model)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
