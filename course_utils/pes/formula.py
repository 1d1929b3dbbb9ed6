"""The PES formula (written once, evaluated with NumPy or torch) and its public energy functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .arrays import _check_coords, _check_positions, _parts_from_coords, _parts_from_positions
from .constants import (
    ALPHA_OO,
    ALPHA_S,
    D_OO,
    DELTA_OO,
    DELTA_S,
    PRECURSOR_DEPTH,
    PRECURSOR_R,
    PRECURSOR_R_WIDTH,
    PRECURSOR_Z,
    PRECURSOR_Z_WIDTH,
    R_E,
    SITE_DEPTH,
    SITE_HEIGHT,
    SWITCH_END,
    SWITCH_START,
    G,
)
from .coordinates import to_cartesian


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
        If ``None`` (default), the reference PES. Otherwise a *potential*: a module
        mapping positions (N, 2, 3) in Å to energies (N,) in eV, such as
        :class:`AtomCentredPotential` (see :mod:`course_utils.potentials`).  A plain
        network of the symmetry coordinates (an ``nn.Sequential`` taking (N, 10))
        is accepted too, with its standardisation: the energy is then
        ``model((Q - x_mean) / x_std) * y_std + y_mean``
        (:class:`SymmetryCoordinatePotential`).  The module is evaluated in eval
        mode; its training flags are restored afterwards.
    x_mean, x_std : array_like, shape (10,), optional
        Input standardisation of a Q1..Q10 network (e.g. ``StandardScaler.mean_`` /
        ``.scale_``); default no scaling.
    y_mean, y_std : float
        Output scaling of a Q1..Q10 network; default identity.

    Returns
    -------
    energy : numpy.ndarray, shape (N,)
        Energies in eV.
    forces : numpy.ndarray, shape (N, 2, 3)
        Forces on the two O atoms in eV/Å, by torch autograd.
    """
    _, _, p = _check_positions(positions)
    lead = p.shape[:-2]
    p = p.reshape(-1, 2, 3)
    if model is None and x_mean is None and x_std is None and y_mean == 0.0 and y_std == 1.0:
        e, f = _energy_and_grad_torch(p, _reference_energy_torch)
    else:
        from ..potentials import energy_and_forces as evaluate
        from .networks import as_potential

        potential = as_potential(model, x_mean=x_mean, x_std=x_std, y_mean=y_mean, y_std=y_std)
        e, f = evaluate(potential, p)
    return e.reshape(lead), f.reshape(lead + (2, 3))


def _reference_energy_torch(p):
    import torch

    return _energy_core(*_parts_from_positions(p, torch), torch)
