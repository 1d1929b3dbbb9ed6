"""Behler–Parrinello atom-centred symmetry functions (radial G2, angular G4).

A neural-network potential needs inputs that do not change when a structure
is translated, rotated or when two identical atoms swap labels, because the
energy does not change either.  Atom-centred symmetry functions have these
invariances built in: each atom ``i`` is described by sums over its
neighbours inside a cutoff sphere, so the order of the neighbours does not
matter and only distances and angles enter.

References: J. Behler and M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007);
J. Behler, J. Chem. Phys. 134, 074106 (2011).

Units: positions and distances in Å, ``eta`` in Å⁻², ``shifts`` and
``cutoff`` in Å.  The functions are dimensionless.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "cutoff_function",
    "radial_symmetry_functions",
    "angular_symmetry_functions",
]


def cutoff_function(r, cutoff: float) -> np.ndarray:
    r"""Behler's cosine cutoff, :math:`f_c(r) = \tfrac12[\cos(\pi r/r_c) + 1]` for :math:`r < r_c`.

    It falls smoothly from 1 at :math:`r = 0` to 0 at :math:`r = r_c` (with a
    zero slope there) and is 0 beyond.

    Parameters
    ----------
    r : array_like
        Distances in Å, any shape.
    cutoff : float
        Cutoff radius :math:`r_c` in Å, > 0.

    Returns
    -------
    numpy.ndarray
        Same shape as ``r``.
    """
    cutoff = _check_cutoff(cutoff)
    r = np.asarray(r, dtype=float)
    return np.where(r < cutoff, 0.5 * (np.cos(np.pi * r / cutoff) + 1.0), 0.0)


def radial_symmetry_functions(
    positions,
    *,
    etas,
    shifts=0.0,
    cutoff: float = 6.0,
    species: Sequence | None = None,
) -> np.ndarray:
    r"""Radial symmetry functions :math:`G^2` of every atom.

    .. math::

        G^2_i = \sum_{j \ne i} e^{-\eta (r_{ij} - r_s)^2} f_c(r_{ij})

    one value per parameter pair :math:`(\eta, r_s)` and, if ``species`` is
    given, per element of the neighbour ``j``.

    Parameters
    ----------
    positions : array_like, shape (n_atoms, 3)
        Cartesian positions in Å.
    etas : float or array_like, shape (n_params,)
        Gaussian widths :math:`\eta` in Å⁻², >= 0.
    shifts : float or array_like, shape (n_params,)
        Gaussian centres :math:`r_s` in Å; broadcast against ``etas``.
    cutoff : float
        Cutoff radius in Å.
    species : sequence, optional
        One label per atom (e.g. ``["O", "O", "Pd"]``).  Without it all atoms
        count as one element.

    Returns
    -------
    numpy.ndarray, shape (n_atoms, n_elements * n_params)
        Columns are grouped by neighbour element (sorted labels), and within
        each group ordered like the parameters.
    """
    pos = _check_positions(positions)
    cutoff = _check_cutoff(cutoff)
    etas, shifts = np.broadcast_arrays(
        _check_params("etas", etas, minimum=0.0), _check_params("shifts", shifts)
    )
    codes, n_elements = _species_codes(species, len(pos))

    dist = _distances(pos)  # (n, n)
    n = len(pos)
    weight = cutoff_function(dist, cutoff) * (1.0 - np.eye(n))  # no self term
    gauss = np.exp(-etas * (dist[..., None] - shifts) ** 2)  # (n, n, P)
    terms = gauss * weight[..., None]
    onehot = np.eye(n_elements)[codes]  # (n, E): element of neighbour j
    out = np.einsum("ijp,je->iep", terms, onehot)
    return out.reshape(n, -1)


def angular_symmetry_functions(
    positions,
    *,
    etas,
    zetas,
    lambdas,
    cutoff: float = 6.0,
    species: Sequence | None = None,
) -> np.ndarray:
    r"""Angular symmetry functions :math:`G^4` of every atom.

    .. math::

        G^4_i = 2^{1-\zeta} \sum_{j \ne i} \sum_{k > j,\, k \ne i}
        (1 + \lambda \cos\theta_{ijk})^{\zeta}
        e^{-\eta (r_{ij}^2 + r_{ik}^2 + r_{jk}^2)}
        f_c(r_{ij}) f_c(r_{ik}) f_c(r_{jk})

    where :math:`\theta_{ijk}` is the angle at atom ``i``.  Each unordered
    neighbour pair counts once.

    Parameters
    ----------
    positions : array_like, shape (n_atoms, 3)
        Cartesian positions in Å.
    etas : float or array_like
        Gaussian widths in Å⁻², >= 0.
    zetas : float or array_like
        Angular resolutions :math:`\zeta` >= 1 (larger: sharper in angle).
    lambdas : float or array_like
        +1 (peaks at 0°) or -1 (peaks at 180°).
    cutoff : float
        Cutoff radius in Å.
    species : sequence, optional
        One label per atom.  Columns are then grouped by the unordered pair
        of neighbour elements (e.g. O-O, O-Pd, Pd-Pd).

    Returns
    -------
    numpy.ndarray, shape (n_atoms, n_element_pairs * n_params)
        ``etas``, ``zetas`` and ``lambdas`` are broadcast to ``n_params``.
    """
    pos = _check_positions(positions)
    cutoff = _check_cutoff(cutoff)
    etas, zetas, lambdas = np.broadcast_arrays(
        _check_params("etas", etas, minimum=0.0),
        _check_params("zetas", zetas, minimum=1.0),
        _check_params("lambdas", lambdas),
    )
    if not np.all(np.isin(lambdas, (-1.0, 1.0))):
        raise ValueError(f"lambdas must be +1 or -1, got {np.unique(lambdas)}.")
    codes, n_elements = _species_codes(species, len(pos))

    n = len(pos)
    diff = pos[None, :, :] - pos[:, None, :]  # (i, j, 3): r_j - r_i
    dist = np.linalg.norm(diff, axis=-1)
    fc = cutoff_function(dist, cutoff)
    safe = np.where(dist > 0, dist, 1.0)
    unit = diff / safe[..., None]
    cos = np.einsum("ijx,ikx->ijk", unit, unit)  # angle at i between j and k
    r2 = dist**2
    radial = fc[:, :, None] * fc[:, None, :] * fc[None, :, :]  # f_c(r_ij) f_c(r_ik) f_c(r_jk)
    sum_r2 = r2[:, :, None] + r2[:, None, :] + r2[None, :, :]
    # keep only j != i, k != i and k > j (each unordered neighbour pair once)
    idx = np.arange(n)
    valid = (
        (idx[None, :, None] != idx[:, None, None])
        & (idx[None, None, :] != idx[:, None, None])
        & (idx[None, None, :] > idx[None, :, None])
    )
    base = np.where(valid, radial, 0.0)[..., None]  # (i, j, k, 1)
    ang = np.clip(1.0 + lambdas * cos[..., None], 0.0, None) ** zetas
    terms = 2.0 ** (1.0 - zetas) * ang * np.exp(-etas * sum_r2[..., None]) * base

    # group by the unordered pair of neighbour elements (e_j <= e_k)
    pairs = [(a, b) for a in range(n_elements) for b in range(a, n_elements)]
    lo = np.minimum(codes[:, None], codes[None, :])
    hi = np.maximum(codes[:, None], codes[None, :])
    blocks = [
        np.einsum("ijkp,jk->ip", terms, ((lo == a) & (hi == b)).astype(float)) for a, b in pairs
    ]
    return np.concatenate(blocks, axis=1)


# --------------------------------------------------------------------------- helpers


def _check_positions(positions) -> np.ndarray:
    try:
        pos = np.asarray(positions, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"positions must be an array of numbers with shape (n_atoms, 3): {err}"
        ) from None
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(
            f"positions must have shape (n_atoms, 3), got {pos.shape}; "
            "pass one structure at a time."
        )
    if len(pos) < 1:
        raise ValueError("positions holds no atoms.")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions contain NaN or infinite values.")
    return pos


def _check_cutoff(cutoff) -> float:
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float, np.integer, np.floating)):
        raise TypeError(f"cutoff must be a number in Å, not {type(cutoff).__name__}.")
    if not np.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a positive distance in Å, got {cutoff}.")
    return float(cutoff)


def _check_params(name: str, values, minimum: float | None = None) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a 1D sequence of numbers.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a number or a non-empty 1D sequence, got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if minimum is not None and np.any(arr < minimum):
        raise ValueError(f"{name} must all be >= {minimum}, got {arr}.")
    return arr


def _species_codes(species, n_atoms: int) -> tuple[np.ndarray, int]:
    if species is None:
        return np.zeros(n_atoms, dtype=int), 1
    if isinstance(species, str):
        raise TypeError("species must be a sequence of labels, one per atom, not a single string.")
    labels = list(species)
    if len(labels) != n_atoms:
        raise ValueError(f"species has {len(labels)} labels but there are {n_atoms} atoms.")
    names = sorted(set(labels), key=str)
    lookup = {name: k for k, name in enumerate(names)}
    return np.array([lookup[s] for s in labels], dtype=int), len(names)


def _distances(pos: np.ndarray) -> np.ndarray:
    return np.linalg.norm(pos[None, :, :] - pos[:, None, :], axis=-1)
