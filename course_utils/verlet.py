"""Velocity Verlet for a whole batch of trajectories at once (used by chapter 7).

Positions have shape ``(N, n_atoms, 3)`` and every array operation acts on all
``N`` trajectories together. The potential enters only through a *force
function*

    ``force_fn(positions) -> (energies, forces)``

with positions (N, n_atoms, 3) in Å, energies (N,) in eV and forces
(N, n_atoms, 3) in eV/Å; :func:`as_force_function` turns a fitted potential (a
``torch.nn.Module`` of positions) into one.

Units: Å, fs, eV and atomic mass units (amu). Velocities are in Å/fs; the
conversions use :mod:`ase.units` (1 fs = ``ase.units.fs`` ASE time units, and
the ASE time unit is Å·sqrt(amu/eV)).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase import units
from tqdm.auto import tqdm

from course_utils.pes import O_MASS
from course_utils.training import progress_enabled

from ._validate import check_int, check_real

__all__ = [
    "ForceFunction",
    "VerletResult",
    "as_force_function",
    "kinetic_energy",
    "velocity_verlet",
]

ForceFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``positions (N, n_atoms, 3) [Å] -> (energies (N,) [eV], forces (N, n_atoms, 3) [eV/Å])``."""


# v [Å/fs] -> v / units.fs [Å per ASE time unit]; F/m [eV/(Å amu)] is in Å per ASE time unit².
_KE_FACTOR = 0.5 / units.fs**2  # eV per (amu Å²/fs²)


_ACC_FACTOR = units.fs**2  # (eV/Å)/amu -> Å/fs²


@dataclass
class VerletResult:
    """What :func:`velocity_verlet` returns.

    Attributes
    ----------
    positions, velocities : numpy.ndarray, shape (N, n_atoms, 3)
        Final state (Å, Å/fs); for a trajectory stopped early, the state at
        the step it stopped.
    potential_energy, kinetic_energy : numpy.ndarray, shape (N,)
        Energies (eV) of that final state.
    initial_energy : numpy.ndarray, shape (N,)
        Total energy (eV) at t = 0.
    max_energy_error : numpy.ndarray, shape (N,)
        Largest |E_total(t) - E_total(0)| (eV) over the steps the trajectory ran.
    n_steps : numpy.ndarray of int, shape (N,)
        Steps each trajectory ran (fewer than requested if it was stopped).
    stopped : numpy.ndarray of bool, shape (N,)
        Whether ``stop`` ended the trajectory.
    dt : float
        Time step in fs.
    wall_time : float
        Seconds spent in the integration loop.
    times : numpy.ndarray or None, shape (n_frames,)
        Times (fs) of the recorded frames, if ``record_every`` was given.
    trace_positions : numpy.ndarray or None, shape (n_frames, N, n_atoms, 3)
        Recorded positions; a stopped trajectory keeps its last position.
    trace_energy : numpy.ndarray or None, shape (n_frames, N)
        Recorded total energies (eV).
    """

    positions: np.ndarray
    velocities: np.ndarray
    potential_energy: np.ndarray
    kinetic_energy: np.ndarray
    initial_energy: np.ndarray
    max_energy_error: np.ndarray
    n_steps: np.ndarray
    stopped: np.ndarray
    dt: float
    wall_time: float
    times: np.ndarray | None = None
    trace_positions: np.ndarray | None = None
    trace_energy: np.ndarray | None = None

    @property
    def total_energy(self) -> np.ndarray:
        """Final total energy (eV), shape (N,)."""
        return self.potential_energy + self.kinetic_energy

    @property
    def n_trajectory_steps(self) -> int:
        """Trajectory-steps done: the sum of ``n_steps`` over all trajectories."""
        return int(self.n_steps.sum())

    @property
    def throughput(self) -> float:
        """Trajectory-steps per second of wall time."""
        return self.n_trajectory_steps / max(self.wall_time, 1e-12)


def kinetic_energy(velocities, masses=O_MASS) -> np.ndarray:
    """Kinetic energy of each trajectory.

    Parameters
    ----------
    velocities : array_like, shape (N, n_atoms, 3)
        Velocities in Å/fs.
    masses : float or array_like, shape (n_atoms,)
        Atomic masses in amu (default: the O mass of the PES module).

    Returns
    -------
    numpy.ndarray, shape (N,)
        Kinetic energy in eV.
    """
    v = _check_state("velocities", velocities)
    m = _check_masses(masses, v.shape[1])
    return _KE_FACTOR * np.einsum("na,nai,nai->n", np.broadcast_to(m, v.shape[:2]), v, v)


def velocity_verlet(
    positions,
    velocities,
    force_fn: ForceFunction,
    *,
    dt: float = 1.0,
    n_steps: int = 1000,
    masses=O_MASS,
    stop: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    record_every: int | None = None,
    progress: bool | None = None,
) -> VerletResult:
    r"""Integrate Newton's equations for a batch of trajectories with velocity Verlet.

    One step of length :math:`\Delta t` for every trajectory at once:

    .. math::

        v &\leftarrow v + \tfrac{\Delta t}{2} F(x)/m \\
        x &\leftarrow x + \Delta t\, v \\
        v &\leftarrow v + \tfrac{\Delta t}{2} F(x)/m

    so one force evaluation per step.  The scheme is time reversible and
    symplectic: the total energy oscillates around its initial value with an
    amplitude that shrinks as :math:`\Delta t^2`, instead of drifting.

    Parameters
    ----------
    positions, velocities : array_like, shape (N, n_atoms, 3)
        Initial state in Å and Å/fs.
    force_fn : callable or torch.nn.Module
        ``force_fn(positions) -> (energies (N,), forces (N, n_atoms, 3))`` in
        eV and eV/Å, or a potential module (positions -> energies; forces by
        autograd, see :func:`as_force_function`).  It is called with only the
        trajectories still running.
    dt : float
        Time step in fs, > 0.
    n_steps : int
        Maximum number of steps, >= 0.
    masses : float or array_like, shape (n_atoms,)
        Atomic masses in amu.
    stop : callable, optional
        ``stop(positions, velocities) -> bool array (n,)``, checked after every
        step on the running trajectories; a trajectory for which it is True is
        frozen from then on (not integrated any more), which saves time.
    record_every : int, optional
        Store positions and total energy of every trajectory every this many
        steps (including step 0).  Recording ends when every trajectory has
        stopped.  Memory: n_frames × N × n_atoms × 3 floats.
    progress : bool, optional
        Show a progress bar over the steps; by default
        :func:`course_utils.training.progress_enabled` decides.

    Returns
    -------
    VerletResult
    """
    x = _check_state("positions", positions).copy()
    v = _check_state("velocities", velocities).copy()
    if x.shape != v.shape:
        raise ValueError(f"positions {x.shape} and velocities {v.shape} must have the same shape.")
    force_fn = as_force_function(force_fn)
    dt = _check_positive("dt", dt)
    n_steps = _check_count("n_steps", n_steps, minimum=0)
    if record_every is not None:
        record_every = _check_count("record_every", record_every, minimum=1)
    n_traj, n_atoms = x.shape[:2]
    m = _check_masses(masses, n_atoms)[None, :, None]  # (1, n_atoms, 1)

    start = time.perf_counter()
    e_pot, forces = _call_forces(force_fn, x)
    e_kin = kinetic_energy(v, m[0, :, 0])
    e0 = e_pot + e_kin
    max_err = np.zeros(n_traj)
    steps = np.zeros(n_traj, dtype=int)
    stopped = np.zeros(n_traj, dtype=bool)

    # full-size copies for the result; the loop works on the running ones only
    x_all, v_all = x.copy(), v.copy()
    epot_all, ekin_all = e_pot.copy(), e_kin.copy()
    frames_x, frames_e, times = [], [], []
    if record_every is not None:
        frames_x.append(x_all.copy())
        frames_e.append(e0.copy())
        times.append(0.0)

    active = np.arange(n_traj)
    acc = forces / m * _ACC_FACTOR
    show = progress_enabled() if progress is None else bool(progress)
    for step in tqdm(range(1, n_steps + 1), desc="trajectories", disable=not show, leave=False):
        if len(active) == 0:
            break
        v += 0.5 * dt * acc
        x += dt * v
        e_pot, forces = _call_forces(force_fn, x)
        acc = forces / m * _ACC_FACTOR
        v += 0.5 * dt * acc
        e_kin = _KE_FACTOR * np.einsum("nai,nai->n", m * v, v)
        max_err[active] = np.maximum(max_err[active], np.abs(e_pot + e_kin - e0[active]))
        steps[active] = step
        x_all[active], v_all[active] = x, v
        epot_all[active], ekin_all[active] = e_pot, e_kin
        if record_every is not None and step % record_every == 0:
            frames_x.append(x_all.copy())
            frames_e.append(epot_all + ekin_all)
            times.append(step * dt)
        if stop is not None:
            done = np.asarray(stop(x, v), dtype=bool)
            if done.shape != (len(active),):
                raise ValueError(
                    f"stop must return one bool per running trajectory, shape ({len(active)},), "
                    f"got {done.shape}."
                )
            if done.any():
                stopped[active[done]] = True
                keep = ~done
                active, x, v, acc = active[keep], x[keep], v[keep], acc[keep]
    wall = time.perf_counter() - start

    return VerletResult(
        positions=x_all,
        velocities=v_all,
        potential_energy=epot_all,
        kinetic_energy=ekin_all,
        initial_energy=e0,
        max_energy_error=max_err,
        n_steps=steps,
        stopped=stopped,
        dt=dt,
        wall_time=wall,
        times=np.array(times) if record_every is not None else None,
        trace_positions=np.stack(frames_x) if record_every is not None else None,
        trace_energy=np.stack(frames_e) if record_every is not None else None,
    )


def as_force_function(potential) -> ForceFunction:
    """A force function from a potential module, or the force function itself.

    Parameters
    ----------
    potential : torch.nn.Module or callable
        A module mapping positions (N, n_atoms, 3) in Å to energies (N,) in eV
        (:mod:`course_utils.potentials`), whose forces are then computed by autograd
        with :func:`course_utils.potentials.energy_and_forces`; or already a
        function ``positions -> (energies, forces)``.

    Returns
    -------
    callable
        ``positions (N, n_atoms, 3) -> (energies (N,), forces (N, n_atoms, 3))``.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(potential, torch.nn.Module):
        from course_utils.potentials import energy_and_forces

        def force_fn(positions):
            return energy_and_forces(potential, positions)

        return force_fn
    if not callable(potential):
        raise TypeError(
            "force_fn must be a potential (a torch.nn.Module mapping positions to energies) or "
            "a function positions (N, n_atoms, 3) -> (energies, forces)."
        )
    return potential


def _call_forces(force_fn: ForceFunction, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = force_fn(x)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError("force_fn must return a pair (energies (N,), forces (N, n_atoms, 3)).")
    energy = np.asarray(out[0], dtype=float).reshape(-1)
    forces = np.asarray(out[1], dtype=float)
    if energy.shape != (len(x),) or forces.shape != x.shape:
        raise ValueError(
            f"force_fn returned energies {energy.shape} and forces {forces.shape}; "
            f"expected ({len(x)},) and {x.shape}."
        )
    if not (np.all(np.isfinite(energy)) and np.all(np.isfinite(forces))):
        raise FloatingPointError(
            "force_fn returned NaN or infinite values; the time step may be too large "
            "or atoms left the region where the potential is defined."
        )
    return energy, forces


def _check_state(name: str, arr) -> np.ndarray:
    try:
        a = np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, shape (N, n_atoms, 3).") from None
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape (N, n_atoms, 3) with N, n_atoms >= 1, got {a.shape}; "
            "for one trajectory use arr[None]."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def _check_masses(masses, n_atoms: int) -> np.ndarray:
    m = np.asarray(masses, dtype=float)
    if m.ndim == 0:
        m = np.full(n_atoms, float(m))
    if m.shape != (n_atoms,):
        raise ValueError(f"masses must be a number or have shape ({n_atoms},), got {m.shape}.")
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError("masses must be positive (amu).")
    return m


def _check_positive(name: str, value) -> float:
    return check_real(value, name, positive=True, error=TypeError)


def _check_count(name: str, value, minimum: int) -> int:
    return check_int(value, name, minimum=minimum)
