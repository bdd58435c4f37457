"""Argument checks shared by the public functions: one-line errors that name the argument and the fix."""

import difflib
import math

import numpy as np


def closest(name, choices):
    """The valid choice nearest to `name`, or None when nothing is close."""
    by_lower = {str(c).lower(): str(c) for c in choices}  # case-insensitive: "resnet05" suggests "ResNet50"
    match = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[match[0]] if match else None


def check_choice(argument, value, choices):
    """Raise ValueError unless `value` is one of `choices`; suggest the closest valid one."""
    choices = list(choices)
    if value in choices:
        return value
    hint = closest(value, choices)
    suggestion = f" Did you mean {hint!r}?" if hint else ""
    raise ValueError(
        f"Unknown {argument} {value!r}.{suggestion} Expected one of: {', '.join(map(str, choices))}. "
        f"Received: {argument}={value!r}"
    )


def check_positive(argument, value, *, integer=False):
    """Raise ValueError unless `value` is a finite number > 0 (an int when `integer`)."""
    kind = "integer" if integer else "number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{argument}` must be a positive {kind}. Received: {argument}={value!r}")
    return value


def check_int(argument, value, *, minimum=0, why=""):
    """Raise ValueError unless `value` is an int (not a bool) >= `minimum`; `why` is added to the message."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{argument}` must be an int >= {minimum}{why}. Received: {argument}={value!r}")
    return int(value)


def check_range(argument, value, low, high, *, low_open=False, high_open=True, example=None):
    """Raise ValueError unless `value` is a number in the interval from `low` to `high` ([low, high) by default)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and (
        (low < value if low_open else low <= value) and (value < high if high_open else value <= high))
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        hint = f", e.g. {example}" if example is not None else ""
        raise ValueError(f"`{argument}` must be a number in {interval}{hint}. Received: {argument}={value!r}")
    return value


def check_fraction(argument, value):
    """Raise ValueError unless 0 < value < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"`{argument}` must be strictly between 0 and 1, e.g. 0.1. Received: {argument}={value!r}")
    return float(value)
