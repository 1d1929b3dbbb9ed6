"""``load_pes_dataset``: sampled configurations and reference energies (scikit-learn style)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import check_int
from .constants import A_SURF, BRIDGE, COORD_NAMES, E_MAX, HOLLOW, PRECURSOR_Z
from .coordinates import from_cartesian
from .formula import reference_energy, reference_forces

_SPLITS = ("train", "validation", "test", "all")
_DEFAULT_N = {"train": 4000, "validation": 500, "test": 500, "all": 5000}
_CHUNK = 2048
#: The sampling mixture, the one place it is written: the sampler draws from it and
#: ``DESCR`` describes it. Per region: its weight, uniform ranges of Z and r (Å) and of
#: cos(theta) (``None``: isotropic), and what else is special about it. X, Y are uniform
#: over the surface unit cell and phi uniform in (-pi, pi] unless the note says otherwise.
SAMPLING_MIXTURE: tuple[dict[str, Any], ...] = (
    {
        "name": "gas phase",
        "weight": 0.15,
        "Z": (5.0, 9.0),
        "r": (0.95, 1.75),
        "cos_theta": None,
        "note": "",
    },
    {
        "name": "entrance channel",
        "weight": 0.25,
        "Z": (1.8, 5.0),
        "r": (0.95, 1.8),
        "cos_theta": None,
        "note": "",
    },
    {
        "name": "precursor",
        "weight": 0.15,
        "Z": (1.0, 2.6),
        "r": (1.1, 1.7),
        "cos_theta": (-0.5, 0.5),
        "note": "half of these are moved into the precursor well: a bridge + N(0, 0.3 Å) "
        "laterally, Z ~ N(1.75, 0.25) Å, r ~ N(1.34, 0.08) Å, cos(theta) ~ N(0, 0.25), "
        "phi ~ N(0, 0.5 rad) about the Pd-Pd axis of that bridge",
    },
    {
        "name": "dissociation",
        "weight": 0.25,
        "Z": (0.4, 2.2),
        "r": (1.5, 4.0),
        "cos_theta": (-0.4, 0.4),
        "note": "",
    },
    {
        "name": "dissociated",
        "weight": 0.20,
        "Z": None,
        "r": None,
        "cos_theta": None,
        "note": "the two atoms near two fourfold hollows (neighbouring, diagonal or "
        "next-nearest, equal odds), lateral jitter sigma 0.25 Å, heights ~ U(0.5, 1.5) Å",
    },
)
_REGION = {region["name"]: k for k, region in enumerate(SAMPLING_MIXTURE)}


def _describe_mixture() -> str:
    """The sampling table as text for ``DESCR``."""
    import textwrap

    lines = []
    for region in SAMPLING_MIXTURE:
        parts = [f"{key} ~ U{region[key]} Å" for key in ("Z", "r") if region[key] is not None]
        if region["cos_theta"] is not None:
            parts.append(f"cos(theta) ~ U{region['cos_theta']}")
        if region["note"]:
            parts.append(region["note"])
        head = f"  {100 * region['weight']:.0f}% {region['name']}: "
        lines.append(
            textwrap.fill("; ".join(parts), 88, initial_indent=head, subsequent_indent=" " * 6)
        )
    return "\n".join(lines)


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
{mixture}
The accepted points form one stream per seed; point i belongs to "validation"
if i % 10 == 8, to "test" if i % 10 == 9 and to "train" otherwise, so the
splits are disjoint and a larger n extends a smaller one. "all" is the first n
points of the stream (n = 5000 by default, the union of the default splits
4000/500/500).
"""


def _sample_candidates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw n candidate configurations (n, 6) from :data:`SAMPLING_MIXTURE`."""
    weights = np.array([region["weight"] for region in SAMPLING_MIXTURE])
    comp = rng.choice(len(weights), size=n, p=weights / weights.sum())
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

    for k, region in enumerate(SAMPLING_MIXTURE):  # the uniform ranges of the table
        m = comp == k
        for column, values in ((2, Z), (3, r), (4, costh)):
            bounds = region[("Z", "r", "cos_theta")[column - 2]]
            if bounds is not None:
                values[m] = lin(u[m, column], *bounds)
    # the precursor well: bridge, bond nearly parallel and near the Pd-Pd axis
    m = comp == _REGION["precursor"]
    near = m & (rng.random(n) < 0.5)
    k = int(near.sum())
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
    theta = np.arccos(np.clip(costh, -1.0, 1.0))
    out[:] = np.stack([X, Y, Z, r, theta, phi], -1)

    m = comp == _REGION["dissociated"]
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
    n = check_int(n, "n", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
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
        DESCR=_DESCR_TEMPLATE.format(
            split=split, n=n, seed=seed, e_max=e_max, mixture=_describe_mixture()
        ),
    )
    if forces:
        out["forces"] = reference_forces(coords) if n else np.empty((0, 2, 3))
    return out
