"""ASE structures (a Pd(100) slab, O2 molecules) for pictures and dynamics."""

from __future__ import annotations

from typing import Any

import numpy as np

from .constants import LATTICE_CONSTANT
from .coordinates import to_cartesian


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
