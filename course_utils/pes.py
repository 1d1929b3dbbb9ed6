"""Analytic reference potential-energy surface (PES) for O2 on Pd(100).

This module implements the *model* PES specified in ``design/o2_pd100_pes.md``:
a LEPS (London-Eyring-Polanyi-Sato) form with site-interpolated Morse
atom-surface terms, a shallow molecular precursor term and a smooth far-field
switch. It is built to reproduce published features of O2/Pd(100) (gas-phase
O2, O adsorption in the fourfold hollows, non-activated dissociation, a
molecular precursor on the bridge) but it is a model, **not** DFT. Students
sample "DFT-like" data from it and refit it with a neural network, exactly as
S. Lorenz, M. Scheffler and A. Gross, Phys. Rev. B 73, 115431 (2006) did for
H2/Pd(100).

Units and conventions
---------------------
* Energies in eV, lengths in Å, angles in radians, forces in eV/Å.
* Zero of energy: O2 at rest with bond length ``R_E`` far from the surface.
* PES frame: frozen, bulk-terminated Pd(100); the origin is on a top-layer Pd
  atom and the surface plane is ``z = 0``; x and y run along the Pd-Pd
  nearest-neighbour directions. Sites: ``TOP`` (0, 0), ``BRIDGE`` (a_s/2, 0),
  ``HOLLOW`` (a_s/2, a_s/2) with ``a_s = A_SURF``.
* Molecular (6D) coordinates, the columns of a ``coords`` array:
  ``X, Y, Z`` (centre of mass), ``r`` (O-O distance), ``theta`` (polar angle of
  the bond from the surface normal, in [0, pi]) and ``phi`` (azimuth from the
  x axis). With ``u = (sin th cos ph, sin th sin ph, cos th)`` the atoms are at
  ``positions[..., 0, :] = COM - (r/2) u`` and ``positions[..., 1, :] = COM + (r/2) u``.

Array conventions
-----------------
Every function takes a single configuration (shape ``(6,)`` or ``(2, 3)``) or
a batch with any number of leading dimensions (``(N, 6)``, or a grid such as
``(nZ, nr, 6)``); results keep the leading dimensions. NumPy input gives NumPy
float64 output. The functions ``reference_energy``,
``reference_energy_cartesian``, ``to_cartesian``, ``from_cartesian``,
``symmetry_coordinates`` and ``symmetry_coordinates_cartesian`` also accept
``torch.Tensor`` input and then return differentiable tensors (one formula,
evaluated with either NumPy or torch), which is how the forces are computed.

Importing this module has no side effects; torch and scikit-learn are
imported only when a function needs them.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

__all__ = [
    "LATTICE_CONSTANT",
    "A_SURF",
    "G",
    "TOP",
    "BRIDGE",
    "HOLLOW",
    "SITES",
    "D_OO",
    "R_E",
    "ALPHA_OO",
    "DELTA_OO",
    "ALPHA_S",
    "DELTA_S",
    "SITE_DEPTH",
    "SITE_HEIGHT",
    "PRECURSOR_DEPTH",
    "PRECURSOR_Z",
    "PRECURSOR_Z_WIDTH",
    "PRECURSOR_R",
    "PRECURSOR_R_WIDTH",
    "SWITCH_START",
    "SWITCH_END",
    "ZETA",
    "O_MASS",
    "E_MAX",
    "COORD_NAMES",
    "SYMMETRY_COORD_NAMES",
    "N_SYMMETRY_COORDS",
    "reference_energy",
    "reference_energy_cartesian",
    "reference_forces",
    "energy_and_forces",
    "atom_surface_energy",
    "to_cartesian",
    "from_cartesian",
    "symmetry_coordinates",
    "symmetry_coordinates_cartesian",
    "load_pes_dataset",
    "PESCalculator",
    "pd100_slab",
    "o2_atoms",
]

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: Pd fcc lattice constant (experiment), Å.
LATTICE_CONSTANT: float = 3.8907
#: Surface lattice constant of Pd(100), a / sqrt(2) = 2.751 Å (nearest Pd-Pd distance).
A_SURF: float = LATTICE_CONSTANT / math.sqrt(2.0)
#: Reciprocal surface lattice constant 2 pi / A_SURF, 1/Å.
G: float = 2.0 * math.pi / A_SURF

#: Top site (x, y) in Å: directly above the top-layer Pd atom at the origin.
TOP: tuple[float, float] = (0.0, 0.0)
#: Bridge site (x, y) in Å, between the Pd atoms at (0, 0) and (A_SURF, 0);
#: the Pd-Pd axis of this bridge is the x axis.
BRIDGE: tuple[float, float] = (A_SURF / 2.0, 0.0)
#: Fourfold hollow site (x, y) in Å, above a second-layer Pd atom.
HOLLOW: tuple[float, float] = (A_SURF / 2.0, A_SURF / 2.0)
#: The three high-symmetry sites by name.
SITES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"top": TOP, "bridge": BRIDGE, "hollow": HOLLOW}
)

#: O-O Morse well depth D_e, eV (D0 = 5.116 eV plus zero-point energy 0.098 eV).
D_OO: float = 5.213
#: O2 equilibrium bond length, Å.
R_E: float = 1.2075
#: O-O Morse range parameter, 1/Å (gives a harmonic wavenumber of about 1580 cm^-1).
ALPHA_OO: float = 2.654
#: Sato parameter of the O-O pair.
DELTA_OO: float = -0.20

#: Range parameter of the O-surface Morse terms, 1/Å.
ALPHA_S: float = 1.5
#: Sato parameter of the O-surface terms.
DELTA_S: float = 0.40
#: O-surface well depth at the top, bridge and hollow sites, eV.
SITE_DEPTH: Mapping[str, float] = MappingProxyType({"top": 2.60, "bridge": 3.45, "hollow": 3.90})
#: O-surface equilibrium height at the top, bridge and hollow sites, Å.
SITE_HEIGHT: Mapping[str, float] = MappingProxyType({"top": 1.90, "bridge": 1.45, "hollow": 0.85})

#: Depth prefactor of the molecular precursor term, eV.
PRECURSOR_DEPTH: float = 0.6
#: Centre height (Å) and Gaussian width (Å) of the precursor term in Z.
PRECURSOR_Z: float = 1.75
PRECURSOR_Z_WIDTH: float = 0.35
#: Centre bond length (Å) and Gaussian width (Å) of the precursor term in r.
PRECURSOR_R: float = 1.36
PRECURSOR_R_WIDTH: float = 0.12

#: The atom-surface terms (per atom, in the atom's height z) and the precursor
#: term (in Z) are multiplied by a quintic switch that is 1 below SWITCH_START
#: and 0 above SWITCH_END (Å), C2-continuous, so that far from the surface the
#: PES is exactly the gas-phase O2 Morse curve.
SWITCH_START: float = 5.5
SWITCH_END: float = 7.0

#: Decay length zeta (Å) of d = exp(-Z / zeta) in the symmetry coordinates.
ZETA: float = 1.5

#: Mass of an 16O atom in atomic mass units (for vibrational frequencies).
O_MASS: float = 15.994915

#: Default energy cap (eV) of :func:`load_pes_dataset`.
E_MAX: float = 2.0

#: Names of the six molecular coordinates (columns of ``coords``).
COORD_NAMES: tuple[str, ...] = ("X", "Y", "Z", "r", "theta", "phi")
#: Names of the symmetry-adapted coordinates returned by :func:`symmetry_coordinates`.
SYMMETRY_COORD_NAMES: tuple[str, ...] = tuple(f"Q{i}" for i in range(1, 11))
#: Number of (full) symmetry-adapted coordinates; the naive set has 7.
N_SYMMETRY_COORDS: int = 10

_THETA_TOL = 1e-9  # tolerance on theta in [0, pi] for round-off in user code

# ---------------------------------------------------------------------------
# Array-namespace helpers (NumPy or torch)
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The PES formula (written once, evaluated with NumPy or torch)
# ---------------------------------------------------------------------------


def _switch(z, xp):
    """Quintic switch: 1 for z <= SWITCH_START, 0 for z >= SWITCH_END, C2 in between."""
    t = xp.clip((z - SWITCH_START) / (SWITCH_END - SWITCH_START), 0.0, 1.0)
    return 1.0 - t**3 * (10.0 - 15.0 * t + 6.0 * t**2)


def _leps_qj(x, depth, alpha, x0, delta, xp):
    """Coulomb (Q) and exchange (J) LEPS integrals; Q + J is the Morse curve depth*(e^2 - 2e)."""
    e = xp.exp(-alpha * (x - x0))
    pref = depth / (4.0 * (1.0 + delta))
    q = pref * ((3.0 + delta) * e**2 - (2.0 + 6.0 * delta) * e)
    j = pref * ((1.0 + 3.0 * delta) * e**2 - (6.0 + 2.0 * delta) * e)
    return q, j


def _site_interp(cx, cy, p_top, p_bridge, p_hollow):
    """P(x, y) = c0 + c1 (cos Gx + cos Gy)/2 + c2 cos Gx cos Gy, exact at the three sites."""
    c0 = (p_top + p_hollow + 2.0 * p_bridge) / 4.0
    c1 = (p_top - p_hollow) / 2.0
    c2 = (p_top + p_hollow - 2.0 * p_bridge) / 4.0
    return c0 + c1 * 0.5 * (cx + cy) + c2 * cx * cy


def _atom_surface_qj(x, y, z, xp):
    cx, cy = xp.cos(G * x), xp.cos(G * y)
    depth = _site_interp(cx, cy, SITE_DEPTH["top"], SITE_DEPTH["bridge"], SITE_DEPTH["hollow"])
    z0 = _site_interp(cx, cy, SITE_HEIGHT["top"], SITE_HEIGHT["bridge"], SITE_HEIGHT["hollow"])
    q, j = _leps_qj(z, depth, ALPHA_S, z0, DELTA_S, xp)
    sw = _switch(z, xp)
    return q * sw, j * sw


def _energy_core(X, Y, Z, r, ux, uy, uz, xp):
    h = 0.5 * r
    qa, ja = _atom_surface_qj(X - h * ux, Y - h * uy, Z - h * uz, xp)
    qb, jb = _atom_surface_qj(X + h * ux, Y + h * uy, Z + h * uz, xp)
    qab, jab = _leps_qj(r, D_OO, ALPHA_OO, R_E, DELTA_OO, xp)
    js = ja + jb
    # a^2 + b^2 - ab >= 0; the clip only protects the sqrt gradient at exactly 0
    root = xp.sqrt(xp.clip(jab**2 + js**2 - jab * js, 1e-300, None))
    v = qa + qb + qab - root + D_OO
    # molecular precursor (bridge, bond parallel to the surface along the Pd-Pd axis)
    cX, cY = xp.cos(G * X), xp.cos(G * Y)
    s2 = ux**2 + uy**2  # sin^2 theta
    s2cos2phi = ux**2 - uy**2  # sin^2 theta cos 2 phi
    orient = 0.5 * (s2 + 0.5 * s2cos2phi * (cY - cX))
    gauss = xp.exp(
        -(((Z - PRECURSOR_Z) / PRECURSOR_Z_WIDTH) ** 2)
        - ((r - PRECURSOR_R) / PRECURSOR_R_WIDTH) ** 2
    )
    v = v - PRECURSOR_DEPTH * 0.5 * (1.0 - cX * cY) * orient * gauss * _switch(Z, xp)
    return v


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


# ---------------------------------------------------------------------------
# Public PES functions
# ---------------------------------------------------------------------------


def reference_energy(coords: Any) -> Any:
    """Energy of the reference O2/Pd(100) PES.

    Parameters
    ----------
    coords : array_like or torch.Tensor, shape (N, 6) or (6,) (any leading shape)
        Columns X, Y, Z (centre of mass, Å), r (O-O distance, Å), theta (polar
        angle of the bond from the surface normal, radians, in [0, pi]) and phi
        (azimuth, radians, any real value).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N,) (``coords.shape[:-1]``)
        Energy in eV (float64 for NumPy input); zero is O2 at rest with
        r = R_E far from the surface. Torch input returns a differentiable tensor.

    Raises
    ------
    TypeError
        If ``coords`` is not numeric.
    ValueError
        If the last dimension is not 6, a value is NaN/inf, r <= 0 or theta is
        outside [0, pi].

    Examples
    --------
    >>> round(float(reference_energy([0.0, 0.0, 10.0, R_E, 0.0, 0.0])), 12)  # gas phase
    0.0
    >>> round(float(reference_energy([*BRIDGE, 1.7535, 1.3369, np.pi / 2, 0.4225])), 3)
    -0.937
    """
    c, xp, _ = _check_coords(coords)
    return _energy_core(*_parts_from_coords(c, xp), xp)


def reference_energy_cartesian(positions: Any) -> Any:
    """Energy of the reference PES as a function of the two O atom positions.

    Parameters
    ----------
    positions : array_like or torch.Tensor, shape (N, 2, 3) or (2, 3)
        Cartesian positions (Å) of the two O atoms in the PES frame (origin on
        a top-layer Pd atom, surface plane z = 0).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N,)
        Energy in eV, as :func:`reference_energy`.
    """
    p, xp, _ = _check_positions(positions)
    return _energy_core(*_parts_from_positions(p, xp), xp)


def atom_surface_energy(x: Any, y: Any, z: Any) -> np.ndarray:
    """Interaction energy of one O atom with the surface, relative to a free O atom.

    This is the site-interpolated Morse term ``Q + J`` (times the far-field
    switch) that enters the LEPS form for each atom. The full PES reduces to
    ``D_OO + atom_surface_energy(A) + atom_surface_energy(B)`` when the two
    atoms are far apart, provided each atom is above its inner turning region
    (where J < 0).

    Parameters
    ----------
    x, y, z : array_like
        Atom position(s) in Å (broadcast against each other).

    Returns
    -------
    numpy.ndarray
        Energy in eV (-SITE_DEPTH at SITE_HEIGHT of each site).
    """
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (x, y, z))
    for name, v in (("x", x), ("y", y), ("z", z)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"atom_surface_energy: {name} contains NaN or inf.")
    q, j = _atom_surface_qj(x, y, z, np)
    return q + j


def _energy_and_grad_torch(positions: np.ndarray, fn: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate fn(torch positions) -> energies and return (E, -dE/dpositions) as NumPy."""
    import torch

    p = torch.tensor(positions, dtype=torch.float64).requires_grad_(True)
    e = fn(p)
    (g,) = torch.autograd.grad(e.sum(), p)
    return e.detach().numpy(), -g.numpy()


def reference_forces(coords: Any) -> np.ndarray:
    """Forces on the two O atoms for configurations given in 6D coordinates.

    Parameters
    ----------
    coords : array_like, shape (N, 6) or (6,)
        Molecular coordinates as in :func:`reference_energy`.

    Returns
    -------
    numpy.ndarray, shape (N, 2, 3)
        Forces -dE/dx (eV/Å) on atom 0 (at COM - (r/2) u) and atom 1 (at
        COM + (r/2) u), from torch autograd of the same formula.
    """
    return energy_and_forces(to_cartesian(coords))[1]


def energy_and_forces(
    positions: Any,
    model: Any = None,
    *,
    x_mean: Any = None,
    x_std: Any = None,
    y_mean: float = 0.0,
    y_std: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Energies and Cartesian forces for a batch of O2 configurations.

    Parameters
    ----------
    positions : array_like, shape (N, 2, 3) or (2, 3)
        Positions of the two O atoms in Å (PES frame).
    model : torch.nn.Module, optional
        If ``None`` (default), the reference PES. Otherwise a model mapping the
        symmetry coordinates Q1..Q10, shape (N, 10), to energies of shape (N,)
        or (N, 1); the energy in eV is ``model((Q - x_mean) / x_std) * y_std +
        y_mean``. The model is evaluated in eval mode (its training flags are
        restored afterwards) in its own dtype and device.
    x_mean, x_std : array_like, shape (10,), optional
        Input standardisation (e.g. ``StandardScaler.mean_`` / ``.scale_``);
        default no scaling.
    y_mean, y_std : float
        Output scaling; default identity.

    Returns
    -------
    energy : numpy.ndarray, shape (N,)
        Energies in eV.
    forces : numpy.ndarray, shape (N, 2, 3)
        Forces on the two O atoms in eV/Å (torch autograd through
        :func:`symmetry_coordinates_cartesian` and the model, or through the
        reference formula).
    """
    _, _, p = _check_positions(positions)
    lead = p.shape[:-2]
    p = p.reshape(-1, 2, 3)
    if model is None:
        e, f = _energy_and_grad_torch(p, _reference_energy_torch)
    else:
        wrapped = _ModelEnergy(model, x_mean, x_std, y_mean, y_std)
        e, f = _energy_and_grad_torch(p, wrapped)
    return e.reshape(lead), f.reshape(lead + (2, 3))


def _reference_energy_torch(p):
    import torch

    return _energy_core(*_parts_from_positions(p, torch), torch)


# ---------------------------------------------------------------------------
# Coordinate conversions and symmetry-adapted coordinates
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Dataset sampling
# ---------------------------------------------------------------------------

_SPLITS = ("train", "validation", "test", "all")
_DEFAULT_N = {"train": 4000, "validation": 500, "test": 500, "all": 5000}
_CHUNK = 2048
# mixture of regions: (name, weight)
_COMPONENTS = (
    ("gas", 0.15),
    ("entrance", 0.25),
    ("precursor", 0.15),
    ("dissociation", 0.25),
    ("dissociated", 0.20),
)

_DESCR_TEMPLATE = """\
O2/Pd(100) reference-PES dataset ({split}, {n} points, seed={seed}, e_max={e_max} eV)
=================================================================================

Synthetic "DFT-like" data sampled from the analytic model PES of
course_utils.pes (LEPS with site-interpolated Morse O-surface terms; a model,
not DFT). Each row is one O2 configuration.

coords (N, 6), float64: X, Y, Z (centre of mass, Å; Pd(100) top-layer atom at
    the origin, surface plane z = 0), r (O-O distance, Å), theta (bond angle
    from the surface normal, rad, [0, pi]), phi (azimuth from x, rad, (-pi, pi])
energy (N,), float64: eV, zero = O2 at rest at r_e far from the surface.
data / target: aliases of coords / energy (scikit-learn convention).

Sampling distribution (candidates are drawn from a mixture, then every
candidate with energy > e_max is rejected; e_max = 2 eV by default lets
classical trajectories with incidence energy + zero-point energy below 2 eV
stay inside the sampled region). X, Y uniform over the surface unit cell,
phi uniform in (-pi, pi], cos(theta) uniform unless stated:
  15% gas phase:       Z ~ U(5, 9) Å, r ~ U(0.95, 1.75) Å
  25% entrance channel: Z ~ U(1.8, 5) Å, r ~ U(0.95, 1.8) Å
  15% precursor:       half near-surface molecules, Z ~ U(1.0, 2.6) Å,
                       r ~ U(1.1, 1.7) Å, cos(theta) ~ U(-0.5, 0.5); half in the
                       precursor well: a bridge + N(0, 0.3 Å) laterally,
                       Z ~ N(1.75, 0.25) Å, r ~ N(1.34, 0.08) Å,
                       cos(theta) ~ N(0, 0.25), phi ~ N(0, 0.5 rad) about the
                       Pd-Pd axis of that bridge
  25% dissociation:    Z ~ U(0.4, 2.2) Å, r ~ U(1.5, 4.0) Å, cos(theta) ~ U(-0.4, 0.4)
  20% dissociated:     the two atoms near two fourfold hollows (neighbouring,
                       diagonal or next-nearest, equal odds), lateral jitter
                       sigma 0.25 Å, heights ~ U(0.5, 1.5) Å
The accepted points form one stream per seed; point i belongs to "validation"
if i % 10 == 8, to "test" if i % 10 == 9 and to "train" otherwise, so the
splits are disjoint and a larger n extends a smaller one. "all" is the first n
points of the stream (n = 5000 by default, the union of the default splits
4000/500/500).
"""


def _sample_candidates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw n candidate configurations (n, 6) from the sampling mixture."""
    names = [c[0] for c in _COMPONENTS]
    weights = np.array([c[1] for c in _COMPONENTS])
    comp = rng.choice(len(names), size=n, p=weights / weights.sum())
    out = np.empty((n, 6))
    u = rng.random((n, 6))
    # defaults: uniform lateral, phi, isotropic orientation
    X = u[:, 0] * A_SURF
    Y = u[:, 1] * A_SURF
    phi = (u[:, 5] * 2.0 - 1.0) * math.pi
    costh = 2.0 * u[:, 4] - 1.0
    Z = np.empty(n)
    r = np.empty(n)

    def lin(v, lo, hi):
        return lo + (hi - lo) * v

    m = comp == names.index("gas")
    Z[m], r[m] = lin(u[m, 2], 5.0, 9.0), lin(u[m, 3], 0.95, 1.75)
    m = comp == names.index("entrance")
    Z[m], r[m] = lin(u[m, 2], 1.8, 5.0), lin(u[m, 3], 0.95, 1.8)
    m = comp == names.index("precursor")
    Z[m], r[m] = lin(u[m, 2], 1.0, 2.6), lin(u[m, 3], 1.1, 1.7)
    costh[m] = lin(u[m, 4], -0.5, 0.5)
    near = m & (rng.random(n) < 0.5)
    k = int(near.sum())
    # the precursor well: bridge, bond nearly parallel and near the Pd-Pd axis
    X[near] = BRIDGE[0] + 0.3 * rng.standard_normal(k)
    Y[near] = BRIDGE[1] + 0.3 * rng.standard_normal(k)
    Z[near] = PRECURSOR_Z + 0.25 * rng.standard_normal(k)
    r[near] = 1.34 + 0.08 * rng.standard_normal(k)
    costh[near] = 0.25 * rng.standard_normal(k)
    phi[near] = 0.5 * rng.standard_normal(k) + math.pi * (rng.random(k) < 0.5)
    turn = near.copy()
    turn[near] = rng.random(k) < 0.5  # the equivalent bridge along y: rotate by 90 degrees
    X[turn], Y[turn], phi[turn] = -Y[turn], X[turn], phi[turn] + 0.5 * math.pi
    X, Y = np.mod(X, A_SURF), np.mod(Y, A_SURF)
    phi = math.pi - np.mod(math.pi - phi, 2.0 * math.pi)  # (-pi, pi]
    r = np.maximum(r, 0.5)
    m = comp == names.index("dissociation")
    Z[m], r[m] = lin(u[m, 2], 0.4, 2.2), lin(u[m, 3], 1.5, 4.0)
    costh[m] = lin(u[m, 4], -0.4, 0.4)
    theta = np.arccos(np.clip(costh, -1.0, 1.0))
    out[:] = np.stack([X, Y, Z, r, theta, phi], -1)

    m = comp == names.index("dissociated")
    k = int(m.sum())
    if k:
        offsets = np.array(
            [
                [1, 0],
                [-1, 0],
                [0, 1],
                [0, -1],
                [1, 1],
                [1, -1],
                [-1, 1],
                [-1, -1],
                [2, 0],
                [-2, 0],
                [0, 2],
                [0, -2],
            ],
            dtype=float,
        )
        kind = rng.integers(0, 3, size=k)  # neighbouring, diagonal, next-nearest
        pick = kind * 4 + rng.integers(0, 4, size=k)
        pa = np.empty((k, 3))
        pa[:, :2] = np.array(HOLLOW) + 0.25 * rng.standard_normal((k, 2))
        pa[:, 2] = rng.uniform(0.5, 1.5, size=k)
        pb = np.empty((k, 3))
        pb[:, :2] = np.array(HOLLOW) + A_SURF * offsets[pick] + 0.25 * rng.standard_normal((k, 2))
        pb[:, 2] = rng.uniform(0.5, 1.5, size=k)
        pos = np.stack([pa, pb], 1)
        c = from_cartesian(pos)
        c[:, 0:2] = np.mod(c[:, 0:2], A_SURF)  # back into the unit cell
        out[m] = c
    return out


def load_pes_dataset(
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    e_max: float = E_MAX,
    return_X_y: bool = False,
    forces: bool = False,
) -> Any:
    """Sample a dataset of O2/Pd(100) configurations and reference energies.

    Follows the scikit-learn ``load_*`` conventions. The sampling distribution
    (a mixture over the gas phase, the entrance channel, the molecular
    precursor region, dissociation paths near the surface and the dissociated
    state, with energies above ``e_max`` rejected) is described in the
    returned ``DESCR``.

    Parameters
    ----------
    split : {"train", "validation", "test", "all"}
        Which split. Splits of the same seed are disjoint (points are assigned
        to splits by their index in one stream: 8:1:1).
    n : int, optional
        Number of points. Default 4000 (train), 500 (validation, test), 5000
        (all = union of the three default splits). A larger ``n`` extends a
        smaller one (same seed): the first points are the same.
    seed : int, default 0
        Non-negative seed; the data are a deterministic function of
        ``(split, n, seed, e_max)``.
    e_max : float, default 2.0
        Energy cap in eV: candidates with E > e_max are rejected.
    return_X_y : bool, default False
        If True, return ``(coords, energy)`` instead of a Bunch.
    forces : bool, default False
        If True, the Bunch also holds ``forces`` (N, 2, 3) in eV/Å on the
        atoms of :func:`to_cartesian` ``(coords)``.

    Returns
    -------
    sklearn.utils.Bunch
        ``coords`` (N, 6) float64, ``energy`` (N,) float64 (also as ``data`` and
        ``target``), ``feature_names`` (list of the six coordinate names),
        ``target_names`` (["energy"]), ``DESCR`` (str) and, if requested,
        ``forces``.
    (coords, energy) : tuple of numpy.ndarray
        If ``return_X_y``.

    Examples
    --------
    >>> X, y = load_pes_dataset("train", n=100, return_X_y=True)
    >>> X.shape, y.shape
    ((100, 6), (100,))
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}; got {split!r}.")
    if n is None:
        n = _DEFAULT_N[split]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    e_max = float(e_max)
    if not math.isfinite(e_max) or e_max <= 0.0:
        raise ValueError(f"e_max must be a positive finite energy in eV; got {e_max!r}.")
    n = int(n)

    kept_c: list[np.ndarray] = []
    kept_e: list[np.ndarray] = []
    count = 0  # accepted points in the stream so far
    got = 0  # points of the requested split so far
    chunk = 0
    while got < n:
        rng = np.random.default_rng([int(seed), chunk])
        cand = _sample_candidates(rng, _CHUNK)
        e = reference_energy(cand)
        ok = e <= e_max
        cand, e = cand[ok], e[ok]
        idx = count + np.arange(len(e))
        count += len(e)
        if split == "train":
            sel = idx % 10 < 8
        elif split == "validation":
            sel = idx % 10 == 8
        elif split == "test":
            sel = idx % 10 == 9
        else:
            sel = np.ones(len(e), dtype=bool)
        kept_c.append(cand[sel])
        kept_e.append(e[sel])
        got += int(sel.sum())
        chunk += 1
    coords = np.concatenate(kept_c)[:n] if kept_c else np.empty((0, 6))
    energy = np.concatenate(kept_e)[:n] if kept_e else np.empty(0)
    if return_X_y:
        return coords, energy

    from sklearn.utils import Bunch

    out = Bunch(
        coords=coords,
        energy=energy,
        data=coords,
        target=energy,
        feature_names=list(COORD_NAMES),
        target_names=["energy"],
        DESCR=_DESCR_TEMPLATE.format(split=split, n=n, seed=seed, e_max=e_max),
    )
    if forces:
        out["forces"] = reference_forces(coords) if n else np.empty((0, 2, 3))
    return out


# ---------------------------------------------------------------------------
# Neural-network models and the ASE calculator
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Temporarily put a torch module (and all submodules) in eval mode."""
    modules = list(model.modules()) if hasattr(model, "modules") else []
    flags = [m.training for m in modules]
    try:
        for m in modules:
            m.training = False
        yield
    finally:
        for m, f in zip(modules, flags):
            m.training = f


class _ModelEnergy:
    """positions tensor (N, 2, 3) float64 -> energy tensor (N,) float64 through a model."""

    def __init__(self, model: Any, x_mean: Any, x_std: Any, y_mean: float, y_std: float):
        import torch

        _check_model(model)
        self.model = model
        params = list(model.parameters()) if hasattr(model, "parameters") else []
        fp = [q for q in params if q.is_floating_point()]
        self.dtype = fp[0].dtype if fp else torch.get_default_dtype()
        self.device = fp[0].device if fp else torch.device("cpu")
        self.x_mean = self._vec(x_mean, "x_mean", 0.0)
        self.x_std = self._vec(x_std, "x_std", 1.0)
        if np.any(self.x_std.numpy() == 0.0):
            raise ValueError("x_std must not contain zeros (use 1 for constant inputs).")
        self.y_mean, self.y_std = float(y_mean), float(y_std)

    @staticmethod
    def _vec(v: Any, name: str, default: float):
        import torch

        if v is None:
            return torch.full((N_SYMMETRY_COORDS,), default, dtype=torch.float64)
        a = np.asarray(v.detach().cpu() if _is_torch(v) else v, dtype=np.float64).reshape(-1)
        if a.shape != (N_SYMMETRY_COORDS,):
            raise ValueError(
                f"{name} must have {N_SYMMETRY_COORDS} entries (one per symmetry coordinate); "
                f"got shape {a.shape}."
            )
        return torch.tensor(a)

    def __call__(self, p):
        import torch

        q = _symmetry_core(*_parts_from_positions(p, torch), torch, False)
        x = ((q - self.x_mean) / self.x_std).to(dtype=self.dtype, device=self.device)
        with _eval_mode(self.model):
            y = self.model(x)
        y = y.reshape(y.shape[0], -1)
        if y.shape[1] != 1:
            raise ValueError(
                f"the model must return one energy per configuration, shape (N,) or (N, 1); "
                f"got {tuple(y.shape)}."
            )
        return y[:, 0].to(device="cpu", dtype=torch.float64) * self.y_std + self.y_mean


def _check_model(model: Any) -> None:
    """Raise a clear error unless ``model`` maps (N, 10) symmetry coordinates to (N,) energies."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module mapping symmetry coordinates (N, "
            f"{N_SYMMETRY_COORDS}) to energies (N,); got {type(model).__name__}."
        )
    for m in model.modules():
        k = getattr(m, "in_features", None)
        if isinstance(k, int) and k > 0:
            if k != N_SYMMETRY_COORDS:
                raise ValueError(
                    f"the model's first layer expects {k} input features, but the PES feeds it "
                    f"the {N_SYMMETRY_COORDS} symmetry coordinates Q1..Q10 of "
                    f"course_utils.pes.symmetry_coordinates. "
                    + (
                        "A 7-input model was probably trained on the naive set "
                        "(naive=True), which cannot tell inequivalent configurations apart; "
                        if k == 7
                        else ""
                    )
                    + f"Train a model with {N_SYMMETRY_COORDS} inputs."
                )
            break
    params = [q for q in model.parameters() if q.is_floating_point()]
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else torch.device("cpu")
    try:
        with torch.no_grad(), _eval_mode(model):
            y = model(torch.zeros(2, N_SYMMETRY_COORDS, dtype=dtype, device=device))
    except Exception as exc:
        raise ValueError(
            f"calling the model on a (2, {N_SYMMETRY_COORDS}) tensor of symmetry coordinates "
            f"failed ({type(exc).__name__}: {exc}); the model must accept inputs of shape "
            f"(N, {N_SYMMETRY_COORDS})."
        ) from exc
    if not isinstance(y, torch.Tensor) or y.numel() != 2 or y.shape[0] != 2:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(
            f"the model must return one energy per configuration, shape (N,) or (N, 1); "
            f"for (2, {N_SYMMETRY_COORDS}) inputs it returned {shape}."
        )


class PESCalculator(Calculator):
    """ASE calculator for O2 on Pd(100): the reference PES or a neural network.

    The ``Atoms`` object must contain exactly two O atoms. Any other atoms must
    be Pd: they are the frozen surface (for example from :func:`pd100_slab`),
    are ignored by the energy and get zero force. Positions are read in the
    PES frame (origin on a top-layer Pd atom, surface plane z = 0; this is the
    frame of :func:`pd100_slab`). The energy is relative to gas-phase O2 at r_e
    (it does not include any slab energy).

    Parameters
    ----------
    model : torch.nn.Module, optional
        If ``None`` (default), the analytic reference PES. Otherwise a model
        mapping symmetry coordinates (N, 10) (:func:`symmetry_coordinates`) to
        energies (N,) or (N, 1). Forces come from torch autograd through the
        model and :func:`symmetry_coordinates_cartesian`. A model with the
        wrong number of inputs is rejected with a ``ValueError``.
    x_mean, x_std, y_mean, y_std
        Optional input standardisation and output scaling, see
        :func:`energy_and_forces`.
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator` (e.g. ``label``).

    Examples
    --------
    >>> atoms = o2_atoms([HOLLOW[0], HOLLOW[1], 3.0, R_E, math.pi / 2, 0.0])
    >>> atoms.calc = PESCalculator()
    >>> e = atoms.get_potential_energy()
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(
        self,
        model: Any = None,
        *,
        x_mean: Any = None,
        x_std: Any = None,
        y_mean: float = 0.0,
        y_std: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self._energy_fn = (
            None if model is None else _ModelEnergy(model, x_mean, x_std, y_mean, y_std)
        )

    @staticmethod
    def _oxygen_indices(atoms: Any) -> np.ndarray:
        symbols = np.array(atoms.get_chemical_symbols())
        idx = np.flatnonzero(symbols == "O")
        if len(idx) != 2:
            raise ValueError(
                f"PESCalculator needs exactly two O atoms (plus optional Pd surface atoms); "
                f"got {len(idx)} O atoms in {atoms.get_chemical_formula()}."
            )
        other = sorted(set(symbols[symbols != "O"]) - {"Pd"})
        if other:
            raise ValueError(
                f"PESCalculator only knows O2 on Pd(100); got atoms of element(s) {other}."
            )
        return idx

    def calculate(
        self,
        atoms: Any = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        idx = self._oxygen_indices(self.atoms)
        pos = self.atoms.positions[idx][None]
        if self._energy_fn is None:
            e, f = energy_and_forces(pos)
        else:
            _check_positions(pos)
            e, f = _energy_and_grad_torch(pos, self._energy_fn)
        forces = np.zeros((len(self.atoms), 3))
        forces[idx] = f[0]
        energy = float(e[0])
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}


# ---------------------------------------------------------------------------
# ASE structures for pictures and dynamics
# ---------------------------------------------------------------------------


def pd100_slab(size: tuple[int, int, int] = (3, 3, 3), vacuum: float = 10.0) -> Any:
    """A Pd(100) slab in the PES frame, for pictures and as a frozen surface.

    Built with ``ase.build.fcc100('Pd', size, a=LATTICE_CONSTANT, vacuum=vacuum,
    orthogonal=True)`` and then shifted rigidly so that a top-layer Pd atom is
    at the origin: the top layer is at z = 0 and the deeper layers at negative
    z (the unit cell still starts at the origin, so the slab lies below the
    cell's z range; with ``pbc = (True, True, False)`` this does not matter).
    Fourfold hollows are then above second-layer atoms, as in the PES.

    Parameters
    ----------
    size : (int, int, int), default (3, 3, 3)
        Repetitions in x and y and number of layers.
    vacuum : float, default 10.0
        Vacuum (Å) added on both sides of the slab in z.

    Returns
    -------
    ase.Atoms
    """
    from ase.build import fcc100

    slab = fcc100("Pd", size=tuple(size), a=LATTICE_CONSTANT, vacuum=vacuum, orthogonal=True)
    z = slab.positions[:, 2]
    top = np.flatnonzero(np.isclose(z, z.max()))
    origin = slab.positions[top[np.argmin(np.hypot(*slab.positions[top, :2].T))]].copy()
    slab.positions = slab.positions - origin
    slab.wrap(pbc=(True, True, False))
    slab.pbc = (True, True, False)
    return slab


def o2_atoms(coords: Any, slab: Any = None) -> Any:
    """An ``ase.Atoms`` of O2 at the given 6D coordinates (optionally on a slab).

    Parameters
    ----------
    coords : array_like, shape (6,)
        X, Y, Z, r, theta, phi (Å, radians) of one configuration.
    slab : ase.Atoms, optional
        A surface in the PES frame (e.g. :func:`pd100_slab`); if given, the
        result is ``slab + O2`` with the slab's cell and pbc.

    Returns
    -------
    ase.Atoms
    """
    from ase import Atoms

    pos = to_cartesian(coords)
    if pos.shape != (2, 3):
        raise ValueError(f"o2_atoms takes one configuration, shape (6,); got {np.shape(coords)}.")
    o2 = Atoms("O2", positions=pos)
    if slab is None:
        return o2
    out = slab.copy()
    out.extend(o2)
    return out
