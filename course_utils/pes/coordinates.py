"""Coordinate conversions (6D <-> Cartesian) and symmetry-adapted coordinates Q1..Q10."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .arrays import _check_coords, _check_positions, _parts_from_coords, _parts_from_positions
from .constants import ZETA, G


def _symmetry_core(X, Y, Z, r, ux, uy, uz, xp, naive):
    d = xp.exp(-Z / ZETA)
    cX, cY = xp.cos(G * X), xp.cos(G * Y)
    cols = [
        r,
        Z,
        uz**2,  # cos^2 theta
        d * 0.5 * (cX + cY),
        d * cX * cY,
        d * 0.5 * (xp.cos(2.0 * G * X) + xp.cos(2.0 * G * Y)),
        ux**4 - 6.0 * ux**2 * uy**2 + uy**4,  # sin^4 theta cos 4 phi
    ]
    if not naive:
        sX, sY = xp.sin(G * X), xp.sin(G * Y)
        cols += [
            d * (ux**2 - uy**2) * 0.5 * (cX - cY),  # d s^2 cos2phi (cos GX - cos GY)/2
            d * 2.0 * ux * uy * sX * sY,  # d s^2 sin2phi sin GX sin GY
            d * uz * (ux * sX + uy * sY),  # d s c (cos phi sin GX + sin phi sin GY)
        ]
    return xp.stack(cols, -1)


def configurations(
    X: Any, Y: Any, Z: Any, r: Any, theta: Any = math.pi / 2, phi: Any = 0.0
) -> np.ndarray:
    """Stack the six molecular coordinates into configurations, broadcasting them.

    Each argument is a number or an array; they are broadcast against each other
    (NumPy rules), so a grid of two coordinates and fixed values of the other four
    is ``configurations(X, Y, 1.8, 1.34)`` with ``X, Y = np.meshgrid(...)``.

    Parameters
    ----------
    X, Y : float or array_like
        Centre of mass over the surface, Å.
    Z : float or array_like
        Height of the centre of mass above the top Pd layer, Å.
    r : float or array_like
        O-O bond length, Å.
    theta : float or array_like
        Polar angle of the bond from the surface normal, radians; default pi/2 (flat).
    phi : float or array_like
        Azimuth of the bond from the x axis, radians; default 0.

    Returns
    -------
    numpy.ndarray, shape (*broadcast shape, 6)
        Columns X, Y, Z, r, theta, phi, ready for :func:`reference_energy`.
    """
    parts = [np.asarray(v, dtype=float) for v in (X, Y, Z, r, theta, phi)]
    try:
        parts = np.broadcast_arrays(*parts)
    except ValueError:
        shapes = ", ".join(f"{n}: {a.shape}" for n, a in zip("X Y Z r theta phi".split(), parts))
        raise ValueError(
            f"the coordinates must broadcast to one shape; got {shapes}. Use numbers for the "
            "fixed coordinates and arrays of one shape (for example from np.meshgrid) for the rest."
        ) from None
    return np.stack(parts, axis=-1)


def to_cartesian(coords: Any) -> Any:
    """Convert 6D molecular coordinates to the Cartesian positions of the two O atoms.

    Parameters
    ----------
    coords : array_like or torch.Tensor, shape (N, 6) or (6,)
        Columns X, Y, Z, r, theta, phi (Å, radians).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 2, 3)
        ``[..., 0, :] = COM - (r/2) u`` and ``[..., 1, :] = COM + (r/2) u`` with
        ``u = (sin th cos ph, sin th sin ph, cos th)``, in Å.
    """
    c, xp, _ = _check_coords(coords)
    X, Y, Z, r, ux, uy, uz = _parts_from_coords(c, xp)
    com = xp.stack([X, Y, Z], -1)
    u = xp.stack([ux, uy, uz], -1)
    h = (0.5 * r)[..., None]
    return xp.stack([com - h * u, com + h * u], -2)


def from_cartesian(positions: Any) -> Any:
    """Convert Cartesian positions of the two O atoms to 6D molecular coordinates.

    Parameters
    ----------
    positions : array_like or torch.Tensor, shape (N, 2, 3) or (2, 3)
        Atom positions in Å.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 6)
        X, Y, Z, r, theta, phi with theta in [0, pi] and phi in (-pi, pi]; the
        bond vector points from atom 0 to atom 1. For a bond along the surface
        normal (theta = 0 or pi) phi is 0.
    """
    p, xp, _ = _check_positions(positions)
    a, b = p[..., 0, :], p[..., 1, :]
    com = 0.5 * (a + b)
    d = b - a
    rho = xp.hypot(d[..., 0], d[..., 1])
    r = xp.hypot(rho, d[..., 2])
    theta = xp.arctan2(rho, d[..., 2])
    phi = xp.arctan2(d[..., 1], d[..., 0])
    phi = xp.where(phi <= -math.pi, phi + 2.0 * math.pi, phi)
    phi = xp.where(rho > 0.0, phi, 0.0 * phi)  # undefined along the normal: use 0
    return xp.stack([com[..., 0], com[..., 1], com[..., 2], r, theta, phi], -1)


def symmetry_coordinates(coords: Any, naive: bool = False) -> Any:
    """Symmetry-adapted input coordinates Q1..Q10 for a neural-network PES.

    With ``d = exp(-Z / ZETA)`` (ZETA = 1.5 Å), ``s = sin theta``, ``c = cos theta``::

        Q1 = r            Q2 = Z            Q3 = c^2
        Q4 = d (cos GX + cos GY)/2          Q5 = d cos GX cos GY
        Q6 = d (cos 2GX + cos 2GY)/2        Q7 = s^4 cos 4phi
        Q8 = d s^2 cos 2phi (cos GX - cos GY)/2
        Q9 = d s^2 sin 2phi sin GX sin GY
        Q10 = d s c (cos phi sin GX + sin phi sin GY)

    All are invariant under the p4mm operations of the surface (lattice
    translations and the 8 C4v operations about a top site, applied to X, Y
    and phi together), under O-O exchange (theta, phi) -> (pi - theta, phi + pi)
    and under phi -> phi + 2 pi, and are smooth where phi is undefined
    (theta = 0, pi). Q1-Q7 (``naive=True``) symmetrise the lateral position
    and the orientation *separately*; they cannot tell apart configurations
    that differ only in how the bond is oriented relative to the site (for
    example the bond along or across the Pd-Pd axis of a bridge). The coupling
    terms Q8-Q10 remove these collisions. Far from the surface d -> 0, so Q4-Q6
    and Q8-Q10 vanish (Q1, Q2, Q3 and Q7 remain, although the energy then
    depends on r only).

    Parameters
    ----------
    coords : array_like or torch.Tensor, shape (N, 6) or (6,)
        Molecular coordinates X, Y, Z, r, theta, phi (Å, radians).
    naive : bool, default False
        If True, return only Q1..Q7 (the set without coupling terms).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 10), or (N, 7) if ``naive``
        Q in the units above (Å for Q1, Q2; dimensionless otherwise).
        Column names: ``SYMMETRY_COORD_NAMES``.
    """
    c, xp, _ = _check_coords(coords)
    return _symmetry_core(*_parts_from_coords(c, xp), xp, naive)


def symmetry_coordinates_cartesian(positions: Any, naive: bool = False) -> Any:
    """Symmetry coordinates (see :func:`symmetry_coordinates`) from atom positions.

    Computed directly from the bond vector (no arccos/atan2), so it is smooth
    and differentiable everywhere with r > 0; pass a ``torch.Tensor`` with
    ``requires_grad=True`` to train on forces.

    Parameters
    ----------
    positions : array_like or torch.Tensor, shape (N, 2, 3) or (2, 3)
        Positions of the two O atoms in Å.
    naive : bool, default False
        If True, return Q1..Q7 only.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 10) or (N, 7)
    """
    p, xp, _ = _check_positions(positions)
    return _symmetry_core(*_parts_from_positions(p, xp), xp, naive)
