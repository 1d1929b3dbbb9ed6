"""Atom-centred, symmetry-adapted inputs for a network of O2 on Pd(100) (Behler style).

The centre-of-mass coordinates Q1..Q10 (:func:`symmetry_coordinates`) describe a
molecule well but two O atoms that sit apart on the surface poorly: each atom's
interaction with the surface depends on where *that atom* is, and Q1..Q10 only
know the centre of mass.  Following J. Behler, S. Lorenz and K. Reuter,
J. Chem. Phys. 127, 014705 (2007), the inputs here are built per atom and then
combined symmetrically over the two atoms.

Per atom at (x, y, z) (Å), with G = 2 pi / A_SURF, K = len(HEIGHT_DECAYS) height
functions h_k(z) = exp(-alpha_k z) and six lateral Fourier terms that are
invariant under the point group C4v about a top site and under lattice
translations::

    L0 = 1                             L1 = (cos Gx + cos Gy) / 2
    L2 = cos Gx cos Gy                 L3 = (cos 2Gx + cos 2Gy) / 2
    L4 = (cos 2Gx cos Gy + cos Gx cos 2Gy) / 2
    L5 = cos 2Gx cos 2Gy

the atom's fingerprint is g = [h_k(z) L_m(x, y)] (K x 6 numbers).  The pair
inputs are

* r, the O-O distance;
* g_A + g_B and g_A * g_B (element-wise): symmetric in the two atoms, and
  together they fix the unordered pair {g_A, g_B} of each component;
* two terms of the lateral O-O vector (dx, dy), which tell *where the atoms are
  relative to each other over the lattice* (without them, moving one atom by a
  symmetry operation of its own site could keep every per-atom input):
  w (cos G dx + cos G dy)/2 and w cos G dx cos G dy, with
  w = exp(-alpha_1 (z_A + z_B)/2) so that they fade away from the surface.

Every input is invariant under the lattice translations, the eight C4v
operations (applied to both atoms), and the exchange of the two atoms.  Far from
the surface (both z large) every input except r goes to zero, so the network's
energy there can depend on r only, as the physics requires.
"""

from __future__ import annotations

from typing import Any

from .arrays import _check_positions
from .constants import G

#: Decay constants alpha_k (1/Å) of the height functions exp(-alpha_k z).
HEIGHT_DECAYS: tuple[float, ...] = (0.75, 1.5, 3.0)
#: Names of the six lateral Fourier terms of one atom.
LATERAL_NAMES: tuple[str, ...] = (
    "1",
    "(cGx+cGy)/2",
    "cGx*cGy",
    "(c2Gx+c2Gy)/2",
    "(c2Gx*cGy+cGx*c2Gy)/2",
    "c2Gx*c2Gy",
)
_ATOM_NAMES = tuple(f"exp(-{a:g}z)*{m}" for a in HEIGHT_DECAYS for m in LATERAL_NAMES)
#: Names of the columns of :func:`atom_centred_features`.
ATOM_FEATURE_NAMES: tuple[str, ...] = (
    ("r",)
    + tuple(f"sum {n}" for n in _ATOM_NAMES)
    + tuple(f"prod {n}" for n in _ATOM_NAMES)
    + ("w*(cGdx+cGdy)/2", "w*cGdx*cGdy")
)
#: Number of atom-centred pair inputs (1 + 2 * 3 * 6 + 2 = 39).
N_ATOM_FEATURES: int = len(ATOM_FEATURE_NAMES)


def _atom_fingerprint(x, y, z, xp):
    """Per-atom inputs h_k(z) L_m(x, y), stacked on a new last axis (K * 6 columns)."""
    cx, cy = xp.cos(G * x), xp.cos(G * y)
    c2x, c2y = 2.0 * cx**2 - 1.0, 2.0 * cy**2 - 1.0  # cos 2Gx, cos 2Gy
    lateral = [
        xp.ones_like(x),
        0.5 * (cx + cy),
        cx * cy,
        0.5 * (c2x + c2y),
        0.5 * (c2x * cy + cx * c2y),
        c2x * c2y,
    ]
    return xp.stack([xp.exp(-a * z) * m for a in HEIGHT_DECAYS for m in lateral], -1)


def _features_core(p, xp):
    a, b = p[..., 0, :], p[..., 1, :]
    ga = _atom_fingerprint(a[..., 0], a[..., 1], a[..., 2], xp)
    gb = _atom_fingerprint(b[..., 0], b[..., 1], b[..., 2], xp)
    d = b - a
    r = xp.sqrt(d[..., 0] ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)
    cdx, cdy = xp.cos(G * d[..., 0]), xp.cos(G * d[..., 1])
    w = xp.exp(-HEIGHT_DECAYS[1] * 0.5 * (a[..., 2] + b[..., 2]))
    pair = xp.stack([w * 0.5 * (cdx + cdy), w * cdx * cdy], -1)
    cat = xp.cat if xp.__name__ == "torch" else xp.concatenate
    return cat([r[..., None], ga + gb, ga * gb, pair], -1)


def atom_centred_features(positions: Any) -> Any:
    """Atom-centred, symmetry-adapted inputs of O2 configurations.

    See the module docstring for the definition.

    Parameters
    ----------
    positions : array_like or torch.Tensor, shape (N, 2, 3) or (2, 3)
        Cartesian positions (Å) of the two O atoms in the PES frame (a top-layer
        Pd atom at the origin, surface plane z = 0).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, 39) (``positions.shape[:-2] + (39,)``)
        Columns named by ``ATOM_FEATURE_NAMES``: r in Å, all others
        dimensionless.  Torch input gives a differentiable tensor (for forces).

    Examples
    --------
    >>> from course_utils.pes import to_cartesian
    >>> atom_centred_features(to_cartesian([1.0, 0.5, 2.0, 1.3, 1.2, 0.3])).shape
    (39,)
    """
    p, xp, _ = _check_positions(positions)
    return _features_core(p, xp)
