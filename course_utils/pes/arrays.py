"""Input checks and array-namespace helpers: one formula evaluated with NumPy or torch."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from .constants import _THETA_TOL


def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_input(x: Any, name: str, trailing: tuple[int, ...], shape_hint: str):
    """Convert ``x`` to a float array (NumPy) or float tensor (torch) and check it.

    Returns ``(array_or_tensor, xp, numpy_view)`` where ``xp`` is the module
    (``numpy`` or ``torch``) used to evaluate formulas on it.
    """
    fix = f"Pass a {shape_hint} array of floats."
    if _is_torch(x):
        import torch

        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must be a real numeric tensor; got dtype {x.dtype}. {fix}")
        if not x.is_floating_point():
            x = x.to(torch.float64)
        xp: Any = torch
        arr = x.detach().cpu().numpy()
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # e.g. ragged nested lists
            raise TypeError(
                f"{name} could not be converted to a numeric array ({exc}). {fix}"
            ) from None
        if arr.dtype.kind == "O":
            if any(v is None for v in arr.reshape(-1)):
                raise TypeError(f"{name} must be numeric; it contains None. {fix}")
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name} must be numeric; got an object array that cannot be converted "
                    f"to float. {fix}"
                ) from None
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}. {fix}")
        arr = arr.astype(np.float64, copy=False)
        x, xp = arr, np
    nt = len(trailing)
    if arr.ndim < nt or arr.shape[arr.ndim - nt :] != trailing:
        raise ValueError(
            f"{name} must have shape {shape_hint} (or {trailing} for one configuration); got "
            f"shape {tuple(arr.shape)}."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        i = int(np.argmin(finite.reshape(-1))) // math.prod(trailing)
        raise ValueError(
            f"{name} contain NaN or inf (first in flattened configuration {i}); all values "
            f"must be finite."
        )
    return x, xp, arr


def _check_coords(coords: Any):
    x, xp, arr = _as_input(coords, "coords", (6,), "(N, 6)")
    r = arr[..., 3]
    if np.any(r <= 0.0):
        i = int(np.argmax((r <= 0.0).reshape(-1)))
        raise ValueError(
            f"coords: the bond length r (column 3) must be > 0 Å; got r = "
            f"{r.reshape(-1)[i]!r} in flattened row {i}. Columns are X, Y, Z, r, theta, phi."
        )
    th = arr[..., 4]
    bad = (th < -_THETA_TOL) | (th > math.pi + _THETA_TOL)
    if np.any(bad):
        i = int(np.argmax(bad.reshape(-1)))
        raise ValueError(
            f"coords: theta (column 4) must lie in [0, pi] radians; got theta = "
            f"{th.reshape(-1)[i]!r} in flattened row {i}. Angles are in radians "
            f"(use np.radians for degrees); columns are X, Y, Z, r, theta, phi."
        )
    return x, xp, arr


def _check_positions(positions: Any):
    x, xp, arr = _as_input(positions, "positions", (2, 3), "(N, 2, 3)")
    r = np.linalg.norm(arr[..., 1, :] - arr[..., 0, :], axis=-1)
    if np.any(r <= 0.0):
        i = int(np.argmax((r <= 0.0).reshape(-1)))
        raise ValueError(
            f"positions: the two O atoms coincide (r = 0) in flattened configuration {i}; "
            f"the O-O distance must be > 0."
        )
    return x, xp, arr


def _parts_from_coords(c, xp):
    """(X, Y, Z, r, ux, uy, uz) from coords (..., 6)."""
    X, Y, Z, r, th, ph = (c[..., k] for k in range(6))
    s = xp.sin(th)
    return X, Y, Z, r, s * xp.cos(ph), s * xp.sin(ph), xp.cos(th)


def _parts_from_positions(p, xp):
    """(X, Y, Z, r, ux, uy, uz) from positions (..., 2, 3); u points from atom 0 to atom 1."""
    a, b = p[..., 0, :], p[..., 1, :]
    com = 0.5 * (a + b)
    d = b - a
    r = xp.sqrt(d[..., 0] ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)
    return com[..., 0], com[..., 1], com[..., 2], r, d[..., 0] / r, d[..., 1] / r, d[..., 2] / r
