"""Classical trajectories of O2 hitting a frozen Pd(100) surface, many at once.

The integrator is velocity Verlet (:mod:`course_utils.verlet`), written once
for a whole batch of trajectories: positions have shape ``(N, n_atoms, 3)``
and every array operation acts on all ``N`` trajectories together.  The potential enters only
through a *force function*

    ``force_fn(positions) -> (energies, forces)``

with positions (N, n_atoms, 3) in Å, energies (N,) in eV and forces
(N, n_atoms, 3) in eV/Å, for example :func:`course_utils.pes.energy_and_forces`
(the reference PES) or a neural network wrapped the same way.

Units: Å, fs, eV and atomic mass units (amu).  Velocities are in Å/fs; the
conversions use :mod:`ase.units` (1 fs = ``ase.units.fs`` ASE time units,
and the ASE time unit is Å·sqrt(amu/eV)).

The physics model (also stated in chapter 7):

* Born–Oppenheimer dynamics on one PES, with a frozen surface (the Pd atoms
  do not move and take no energy);
* classical nuclei, started *without* zero-point energy: the molecule has
  its equilibrium bond length ``R_E``, no vibration and no rotation;
* normal incidence: the centre of mass moves straight down with the kinetic
  energy of the chosen incidence energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.pes import A_SURF, O_MASS, R_E, to_cartesian

from .verlet import (
    _KE_FACTOR,
    ForceFunction,
    VerletResult,
    _check_count,
    _check_positive,
    _check_state,
    as_force_function,
    kinetic_energy,
    velocity_verlet,
)

__all__ = [
    "DISSOCIATED",
    "REFLECTED",
    "TRAPPED",
    "OUTCOMES",
    "ForceFunction",
    "VerletResult",
    "InitialConditions",
    "ScatteringResult",
    "kinetic_energy",
    "velocity_verlet",
    "sample_initial_conditions",
    "classify_outcomes",
    "run_scattering",
    "binomial_standard_error",
    "outcome_probabilities",
    "paired_difference",
    "as_force_function",
]

DISSOCIATED = "dissociated"
REFLECTED = "reflected"
TRAPPED = "trapped"
OUTCOMES: tuple[str, ...] = (DISSOCIATED, REFLECTED, TRAPPED)


# --------------------------------------------------------------------------- O2 at Pd(100)


@dataclass
class InitialConditions:
    """Starting points of a batch of O2 trajectories (see :func:`sample_initial_conditions`).

    Attributes
    ----------
    coords : numpy.ndarray, shape (N, 6)
        X, Y, Z, r, theta, phi (Å, radians) at t = 0.
    positions : numpy.ndarray, shape (N, 2, 3)
        Atom positions in Å (:func:`course_utils.pes.to_cartesian` of ``coords``).
    velocities : numpy.ndarray, shape (N, 2, 3)
        Atom velocities in Å/fs: both atoms move with the centre of mass.
    incidence_energy : numpy.ndarray, shape (N,)
        Translational energy of each trajectory in eV.
    """

    coords: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    incidence_energy: np.ndarray

    def __len__(self) -> int:
        return len(self.coords)

    def subset(self, index) -> InitialConditions:
        """The trajectories selected by ``index`` (a slice, mask or index array)."""
        return InitialConditions(
            self.coords[index],
            self.positions[index],
            self.velocities[index],
            self.incidence_energy[index],
        )


def sample_initial_conditions(
    incidence_energy,
    n: int | None = None,
    *,
    z_start: float = 6.5,
    bond_length: float = R_E,
    cell: float = A_SURF,
    mass: float = O_MASS,
    rng: np.random.Generator | int | None = 0,
) -> InitialConditions:
    r"""Random O2 molecules flying straight down onto the surface.

    Every molecule starts with its centre of mass at height ``z_start``, at a
    lateral position drawn uniformly over the surface unit cell, with a
    random orientation (isotropic: :math:`\cos\theta` uniform in [-1, 1],
    :math:`\phi` uniform), its bond at ``bond_length`` and no vibrational or
    rotational motion (classical, no zero-point energy).  The centre of mass
    moves along :math:`-z` (normal incidence) with speed
    :math:`v = \sqrt{2 E_\mathrm{i} / M}`, :math:`M = 2 m_\mathrm{O}`.

    Parameters
    ----------
    incidence_energy : float or array_like, shape (N,)
        Incidence (translational) energies in eV, > 0.  A scalar needs ``n``.
    n : int, optional
        Number of trajectories when ``incidence_energy`` is a scalar; with an
        array it must be omitted or equal ``len(incidence_energy)``.
    z_start : float
        Starting height of the centre of mass in Å.
    bond_length : float
        Initial O–O distance in Å.
    cell : float
        Side of the square surface unit cell in Å.
    mass : float
        Mass of one O atom in amu.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    InitialConditions
    """
    energies = np.atleast_1d(np.asarray(incidence_energy, dtype=float))
    if energies.ndim != 1:
        raise ValueError(
            f"incidence_energy must be a number or a 1D array, got shape {energies.shape}."
        )
    if np.ndim(incidence_energy) == 0:
        if n is None:
            raise ValueError("give the number of trajectories n with a single incidence energy.")
        n = _check_count("n", n, minimum=1)
        energies = np.full(n, energies[0])
    elif n is not None and _check_count("n", n, minimum=1) != len(energies):
        raise ValueError(f"n={n} does not match the {len(energies)} incidence energies given.")
    if len(energies) == 0:
        raise ValueError("incidence_energy is empty.")
    if not np.all(np.isfinite(energies)) or np.any(energies <= 0):
        raise ValueError("incidence energies must be positive and finite (eV).")
    for name, value in (
        ("z_start", z_start),
        ("bond_length", bond_length),
        ("cell", cell),
        ("mass", mass),
    ):
        _check_positive(name, value)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    count = len(energies)
    X, Y = rng.uniform(0.0, cell, size=(2, count))
    theta = np.arccos(rng.uniform(-1.0, 1.0, size=count))
    phi = rng.uniform(0.0, 2.0 * np.pi, size=count)
    coords = np.column_stack(
        [X, Y, np.full(count, float(z_start)), np.full(count, float(bond_length)), theta, phi]
    )
    positions = to_cartesian(coords)
    speed = np.sqrt(energies / (_KE_FACTOR * 2.0 * mass))  # E = ½ (2m) v², v in Å/fs
    velocities = np.zeros((count, 2, 3))
    velocities[:, :, 2] = -speed[:, None]
    return InitialConditions(coords, positions, velocities, energies)


def classify_outcomes(
    positions,
    velocities,
    *,
    z_reflect: float,
    r_dissociated: float = 2.5,
    z_dissociated: float = 3.0,
) -> np.ndarray:
    """Label O2 trajectories as dissociated, reflected or not (yet) decided.

    * dissociated: the O–O distance exceeds ``r_dissociated`` while both
      atoms are below ``z_dissociated`` (two O atoms on the surface);
    * reflected: the centre of mass is above ``z_reflect`` and moving away
      from the surface;
    * otherwise the empty string: still on its way, or held at the surface.
      At the end of a run these are the *trapped* ones.

    Parameters
    ----------
    positions, velocities : array_like, shape (N, 2, 3)
        State of the two O atoms (Å, Å/fs).
    z_reflect : float
        Height (Å) above which an outgoing molecule counts as reflected;
        normally the starting height.
    r_dissociated, z_dissociated : float
        Thresholds in Å (see above).

    Returns
    -------
    numpy.ndarray of str, shape (N,)
        ``"dissociated"``, ``"reflected"`` or ``""``.
    """
    x = _check_state("positions", positions)
    v = _check_state("velocities", velocities)
    if x.shape != v.shape or x.shape[1] != 2:
        raise ValueError(
            f"positions and velocities must both have shape (N, 2, 3), got {x.shape} and {v.shape}."
        )
    _check_thresholds(z_reflect, r_dissociated, z_dissociated)
    dissociated, reflected = _outcome_masks(x, v, z_reflect, r_dissociated, z_dissociated)
    out = np.full(len(x), "", dtype=f"<U{max(map(len, OUTCOMES))}")
    out[dissociated] = DISSOCIATED
    out[reflected] = REFLECTED
    return out


def _check_thresholds(z_reflect: float, r_dissociated: float, z_dissociated: float) -> None:
    for name, value in (
        ("z_reflect", z_reflect),
        ("r_dissociated", r_dissociated),
        ("z_dissociated", z_dissociated),
    ):
        _check_positive(name, value)


def _outcome_masks(
    x: np.ndarray, v: np.ndarray, z_reflect: float, r_dissociated: float, z_dissociated: float
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (dissociated, reflected) of checked (N, 2, 3) arrays; no input checks,
    so that the stopping test of every time step costs little."""
    r = np.linalg.norm(x[:, 1] - x[:, 0], axis=-1)
    dissociated = (r > r_dissociated) & (np.maximum(x[:, 0, 2], x[:, 1, 2]) < z_dissociated)
    reflected = ~dissociated & (x[:, 0, 2] + x[:, 1, 2] > 2 * z_reflect)
    reflected &= v[:, 0, 2] + v[:, 1, 2] > 0
    return dissociated, reflected


@dataclass
class ScatteringResult:
    """What :func:`run_scattering` returns.

    Attributes
    ----------
    outcome : numpy.ndarray of str, shape (N,)
        ``"dissociated"``, ``"reflected"`` or ``"trapped"`` (neither by the end).
    time : numpy.ndarray, shape (N,)
        Time (fs) at which the outcome was decided (the full run for trapped).
    incidence_energy : numpy.ndarray, shape (N,)
        From the initial conditions (eV).
    initial : InitialConditions
        The starting points.
    verlet : VerletResult
        The integrator's result (final states, energy errors, timing).
    """

    outcome: np.ndarray
    time: np.ndarray
    incidence_energy: np.ndarray
    initial: InitialConditions
    verlet: VerletResult


def run_scattering(
    initial: InitialConditions,
    force_fn: ForceFunction,
    *,
    dt: float = 1.0,
    max_time: float = 1500.0,
    z_reflect: float | None = None,
    r_dissociated: float = 2.5,
    z_dissociated: float = 3.0,
    mass: float = O_MASS,
    record_every: int | None = None,
    progress: bool | None = None,
) -> ScatteringResult:
    """Run O2 trajectories until each dissociates, is reflected or the time is up.

    Parameters
    ----------
    initial : InitialConditions
        From :func:`sample_initial_conditions`.
    force_fn : callable or torch.nn.Module
        ``positions (N, 2, 3) -> (energies (N,), forces (N, 2, 3))`` (eV, eV/Å),
        or a potential module such as :class:`course_utils.pes.AtomCentredPotential`.
    dt : float
        Time step in fs.
    max_time : float
        Longest trajectory in fs; still undecided then means *trapped*.
    z_reflect : float, optional
        Height for "reflected" (default: the starting height of each batch,
        the largest initial centre-of-mass height).
    r_dissociated, z_dissociated : float
        Dissociation thresholds in Å, see :func:`classify_outcomes`.
    mass : float
        Mass of one O atom in amu.
    record_every, progress
        Passed to :func:`velocity_verlet`.

    Returns
    -------
    ScatteringResult
    """
    if not isinstance(initial, InitialConditions):
        raise TypeError(
            "initial must be an InitialConditions, e.g. from sample_initial_conditions()."
        )
    force_fn = as_force_function(force_fn)
    dt = _check_positive("dt", dt)
    max_time = _check_positive("max_time", max_time)
    if z_reflect is None:
        z_reflect = float(initial.positions[:, :, 2].mean(axis=1).max())

    _check_thresholds(z_reflect, r_dissociated, z_dissociated)

    def stop(x, v):  # decided: dissociated or reflected (the labels of classify_outcomes)
        dissociated, reflected = _outcome_masks(x, v, z_reflect, r_dissociated, z_dissociated)
        return dissociated | reflected

    result = velocity_verlet(
        initial.positions,
        initial.velocities,
        force_fn,
        dt=dt,
        n_steps=int(round(max_time / dt)),
        masses=mass,
        stop=stop,
        record_every=record_every,
        progress=progress,
    )
    outcome = classify_outcomes(
        result.positions,
        result.velocities,
        z_reflect=z_reflect,
        r_dissociated=r_dissociated,
        z_dissociated=z_dissociated,
    ).astype(f"<U{max(map(len, OUTCOMES))}")
    outcome[outcome == ""] = TRAPPED
    return ScatteringResult(
        outcome=outcome,
        time=result.n_steps * dt,
        incidence_energy=initial.incidence_energy.copy(),
        initial=initial,
        verlet=result,
    )


# --------------------------------------------------------------------------- statistics


def binomial_standard_error(k, n) -> np.ndarray:
    r"""Standard error of a probability estimated as :math:`\hat p = k/n`.

    :math:`\sigma = \sqrt{\hat p (1 - \hat p) / n}`: the spread of
    :math:`\hat p` over repeated batches of ``n`` independent trajectories.
    It is zero when :math:`\hat p` is exactly 0 or 1, which understates the
    uncertainty of small batches.

    Parameters
    ----------
    k : int or array_like
        Number of "successes" (e.g. dissociated trajectories), 0 <= k <= n.
    n : int or array_like
        Number of trials, >= 1.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``k`` and ``n``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n) or np.any(k != np.round(k)):
        raise ValueError("need integer counts with 0 <= k <= n and n >= 1.")
    p = k / n
    return np.sqrt(p * (1.0 - p) / n)


def outcome_probabilities(outcome, groups, kind: str = DISSOCIATED):
    """Probability of one outcome in each group, with its binomial standard error.

    Parameters
    ----------
    outcome : array_like of str, shape (N,)
        Labels, e.g. ``ScatteringResult.outcome``.
    groups : array_like, shape (N,)
        Group of each trajectory, e.g. its incidence energy.
    kind : str
        The outcome to count: ``"dissociated"``, ``"reflected"`` or ``"trapped"``.

    Returns
    -------
    values : numpy.ndarray, shape (n_groups,)
        The sorted distinct groups.
    probability, stderr : numpy.ndarray, shape (n_groups,)
        Fraction of trajectories with outcome ``kind`` and its standard error.
    counts : numpy.ndarray of int, shape (n_groups,)
        Trajectories per group.
    """
    if kind not in OUTCOMES:
        raise ValueError(f"kind must be one of {OUTCOMES}, got {kind!r}.")
    outcome = np.asarray(outcome)
    groups = np.asarray(groups)
    if outcome.shape != groups.shape or outcome.ndim != 1:
        raise ValueError(
            "outcome and groups must be 1D arrays of the same length, "
            f"got {outcome.shape} and {groups.shape}."
        )
    values, inverse = np.unique(groups, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(values))
    hits = np.bincount(inverse, weights=(outcome == kind).astype(float), minlength=len(values))
    return values, hits / counts, binomial_standard_error(hits, counts), counts


def paired_difference(outcome_a, outcome_b, groups, kind: str = DISSOCIATED):
    """Paired difference of one outcome's probability between two runs from the same starts.

    Trajectory i of run a and trajectory i of run b start from the same initial
    conditions (e.g. a fitted PES against the reference).  Per trajectory,
    d_i = [a_i == kind] - [b_i == kind] is 1, 0 or -1; per group the result is
    the mean of d and its standard error sd(d) / sqrt(n), which is smaller than
    the two binomial errors combined when most pairs agree.

    Parameters
    ----------
    outcome_a, outcome_b : array_like of str, shape (N,)
        Outcome labels of the two runs, in the same order.
    groups : array_like, shape (N,)
        Group of each trajectory, e.g. its incidence energy.
    kind : str
        The outcome to count.

    Returns
    -------
    values : numpy.ndarray, shape (n_groups,)
        The sorted distinct groups.
    difference, stderr : numpy.ndarray, shape (n_groups,)
        Mean paired difference (probability in a minus probability in b) and its
        standard error (0 for a group of one trajectory).
    same : numpy.ndarray, shape (n_groups,)
        Fraction of pairs that end the same way (any outcome).
    """
    if kind not in OUTCOMES:
        raise ValueError(f"kind must be one of {OUTCOMES}, got {kind!r}.")
    a, b, groups = np.asarray(outcome_a), np.asarray(outcome_b), np.asarray(groups)
    if not (a.shape == b.shape == groups.shape) or a.ndim != 1:
        raise ValueError(
            "outcome_a, outcome_b and groups must be 1D arrays of the same length (the same "
            f"starts in the same order), got {a.shape}, {b.shape} and {groups.shape}."
        )
    d = (a == kind).astype(float) - (b == kind)
    values, inverse = np.unique(groups, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(values))
    mean = np.bincount(inverse, weights=d, minlength=len(values)) / counts
    square = np.bincount(inverse, weights=(d - mean[inverse]) ** 2, minlength=len(values))
    stderr = np.sqrt(square / np.maximum(counts - 1, 1) / counts)
    same = np.bincount(inverse, weights=(a == b).astype(float), minlength=len(values)) / counts
    return values, mean, stderr, same
