"""Argument checks shared by the course's modules (one copy of each).

Every check raises an error whose message names the argument, shows what it
got and says what to pass instead. Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_int", "check_real", "rmse"]


def check_int(value: Any, name: str, *, minimum: int | None = None, error=ValueError) -> int:
    """Return ``value`` as an ``int`` or raise a clear error.

    Parameters
    ----------
    value : object
        The argument to check. ``bool`` is rejected even though it is an ``int``.
    name : str
        The argument's name, for the message.
    minimum : int, optional
        Smallest allowed value.
    error : type, default ValueError
        Exception raised for a value of the wrong type (``TypeError`` where a
        module's API promises it).
    """
    kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise error(f"{name} must be {kind}; got {value!r} ({type(value).__name__}).")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {kind}; got {value!r}.")
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    positive: bool = False,
    unit: str = "",
    error=ValueError,
) -> float:
    """Return ``value`` as a finite ``float`` (optionally > 0) or raise a clear error."""
    suffix = f" in {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise error(f"{name} must be a real number{suffix}; got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0.0):
        kind = "positive finite" if positive else "finite"
        raise ValueError(f"{name} must be a {kind} number{suffix}; got {value!r}.")
    return value


def rmse(predicted: Any, reference: Any) -> float:
    """Root-mean-square error between two arrays of the same shape (same units as the inputs)."""
    p = np.asarray(predicted, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if p.shape != r.shape:
        raise ValueError(
            f"rmse: predicted has shape {p.shape} but reference has shape {r.shape}; "
            "pass arrays of the same shape (reshape one with .reshape(...))."
        )
    if p.size == 0:
        raise ValueError("rmse: the arrays are empty; pass at least one value.")
    return float(np.sqrt(np.mean((p - r) ** 2)))
