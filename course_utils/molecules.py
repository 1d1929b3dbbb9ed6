"""Molecular data computed on the fly: an ethanol GFN2-xTB molecular-dynamics data set.

Nothing is downloaded.  :func:`load_ethanol` runs a Langevin molecular-dynamics
trajectory of one ethanol molecule with the semi-empirical tight-binding method
GFN2-xTB (the ``tblite`` package) through ASE, keeps every ``interval``-th
frame with its energy and forces, and caches the result on disk (like
scikit-learn's ``fetch_*`` loaders cache their downloads).  The same arguments
always give the same data.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "ETHANOL_ATOM_NAMES",
    "ethanol_atoms",
    "get_data_home",
    "load_ethanol",
    "load_ethanol_nve",
    "run_nve",
    "xtb_calculator",
]

# Bump when the generating code changes in a way that changes the numbers:
# old cache files are then ignored and regenerated.
_FORMAT_VERSION = 2

#: Labels of ethanol's atoms, in the order used throughout (ASE's ``CH3CH2OH``).
ETHANOL_ATOM_NAMES = ("C1", "C2", "O", "HO", "H2a", "H2b", "H1a", "H1b", "H1c")

_DESCR = """\
Ethanol GFN2-xTB molecular dynamics (computed locally, never downloaded)
=========================================================================

One ethanol molecule, CH3-CH2-OH, 9 atoms in the order
C1 (methyl C), C2 (methylene C), O, HO (hydroxyl H), H2a, H2b (on C2),
H1a, H1b, H1c (on C1): atomic numbers [6, 6, 8, 1, 1, 1, 1, 1, 1].

How it was made
---------------
Starting from ASE's ``molecule("CH3CH2OH")`` geometry, velocities were drawn
from a Maxwell-Boltzmann distribution at the target temperature (centre-of-mass
motion and rotation removed), and the molecule was propagated in vacuum with
ASE's Langevin integrator (centre of mass fixed with ``FixCom``): time step
{timestep_fs} fs, friction {friction_per_fs} 1/fs, target temperature
{temperature} K.  Energies and
forces are GFN2-xTB (tblite {tblite_version}, ASE calculator
``tblite.ase.TBLite(method="GFN2-xTB")``, single-point SCF at each step).
After {equilibration} equilibration steps, every {interval}th step was kept
({interval_fs} fs apart), {n_configs} frames in all, in time order.
Random numbers come from ``numpy.random.default_rng({seed})``.

Contents (N = {n_configs} frames)
-----------------------------------
positions       (N, 9, 3) float64   Å
energies        (N,)      float64   eV, total GFN2-xTB energy
forces          (N, 9, 3) float64   eV/Å, -dE/dpositions
velocities      (N, 9, 3) float64   Å/fs (multiply by ase.units.fs for ASE)
time            (N,)      float64   fs since the end of equilibration
atomic_numbers  (9,)      int64
symbols, atom_names       lists of 9 str

Frames {interval_fs} fs apart are correlated: split by time (e.g. first 80 %
for training, last 20 % for testing) for an honest test error.

Reference: C. Bannwarth, S. Ehlert, S. Grimme, "GFN2-xTB - An Accurate and
Broadly Parametrized Self-Consistent Tight-Binding Quantum Chemical Method
with Multipole Electrostatics and Density-Dependent Dispersion
Contributions", J. Chem. Theory Comput. 15, 1652 (2019),
doi:10.1021/acs.jctc.8b01176.
"""


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder where computed data sets are cached, created if needed.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder to use.  By default the environment variable
        ``NN_COMPCHEM_DATA`` if set, else ``~/nn_compchem_data`` (outside any
        repository, so nothing is committed by accident).

    Returns
    -------
    pathlib.Path
        The folder (it exists on return).
    """
    if data_home is None:
        data_home = os.environ.get("NN_COMPCHEM_DATA", Path.home() / "nn_compchem_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def ethanol_atoms() -> Any:
    """Ethanol as an ASE ``Atoms`` object, in the atom order of :func:`load_ethanol`."""
    from ase.build import molecule

    return molecule("CH3CH2OH")


def xtb_calculator() -> Any:
    """A fresh GFN2-xTB ASE calculator (``tblite``), silent."""
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}.")
    return int(value)


def _check_float(name: str, value: Any, low: float, high: float, unit: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number in {unit}, not {value!r}.") from exc
    if not (low < value <= high):
        raise ValueError(f"{name} must lie in ({low}, {high}] {unit}, not {value}.")
    return value


def _save_npz(path: Path, **arrays: Any) -> None:
    """Write ``arrays`` to ``path`` through a temporary file and a rename: a reader never
    sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache may be shared
    os.replace(tmp, path)


def _generate(
    n_configs: int,
    temperature: float,
    seed: int,
    timestep_fs: float,
    interval: int,
    equilibration: int,
    friction_per_fs: float,
) -> dict[str, np.ndarray]:
    """Run the Langevin trajectory with GFN2-xTB and return the recorded frames."""
    from ase import units
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation

    try:  # ASE >= 3.28; same numbers as the older name
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # pragma: no cover
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    atoms = ethanol_atoms()
    atoms.calc = xtb_calculator()
    thermalize_momenta(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    atoms.set_constraint(FixCom())  # the molecule does not drift away
    dyn = Langevin(
        atoms,
        timestep_fs * units.fs,
        temperature_K=temperature,
        friction=friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    n_atoms = len(atoms)
    frames = {
        key: np.empty((n_configs, n_atoms, 3)) for key in ("positions", "forces", "velocities")
    }
    energies = np.empty(n_configs)
    # One thread: a 9-atom SCF is far too small to share, and threads on a busy
    # machine slow it down many times; one thread also makes the numbers reproducible.
    with threadpool_limits(limits=1):
        dyn.run(equilibration)
        for k in range(n_configs):
            dyn.run(interval)
            frames["positions"][k] = atoms.positions
            frames["forces"][k] = atoms.get_forces(apply_constraint=False)  # raw xTB
            frames["velocities"][k] = atoms.get_velocities() * units.fs  # Å/fs
            energies[k] = atoms.get_potential_energy()
    return {**frames, "energies": energies}


def load_ethanol(
    *,
    n_configs: int = 1500,
    temperature: float = 500.0,
    seed: int = 0,
    timestep_fs: float = 1.0,
    interval: int = 4,
    equilibration: int = 200,
    friction_per_fs: float = 0.01,
    data_home: str | os.PathLike | None = None,
    refresh: bool = False,
    return_X_y: bool = False,
):
    """Load (computing and caching on first use) an ethanol GFN2-xTB MD data set.

    The first call runs ``equilibration + n_configs * interval`` Langevin steps
    with GFN2-xTB (about 5 ms of CPU time each on one core; 6,200 steps, about
    half a minute, with the defaults) and saves the result in ``data_home``;
    later calls with the same arguments read that file.

    The defaults trade time resolution for cost: a 1 fs step (ten or more
    steps per period of the fastest vibration, the O-H stretch of about
    9 fs, which is enough for a thermostatted trajectory whose every frame
    gets an exact GFN2-xTB energy and forces), 200 fs of equilibration (twice
    the thermostat's relaxation time ``1 / friction``, starting from
    Maxwell-Boltzmann velocities) and a frame every 4 fs.  Consecutive frames
    are strongly correlated; split the data by time.

    Parameters
    ----------
    n_configs : int
        Number of frames kept, >= 1.
    temperature : float
        Target temperature of the Langevin thermostat in K, in (0, 5000].
    seed : int
        Seed of the initial velocities and of the thermostat's noise; the same
        seed gives the same trajectory.
    timestep_fs : float
        MD time step in fs, in (0, 2].
    interval : int
        Keep every ``interval``-th step, >= 1.
    equilibration : int
        Steps run and discarded before the first kept frame, >= 0.
    friction_per_fs : float
        Langevin friction coefficient in 1/fs, in (0, 1].
    data_home : str or path-like, optional
        Cache folder, see :func:`get_data_home`.
    refresh : bool
        Recompute the trajectory even if a cached file exists (and overwrite it).
    return_X_y : bool
        If True, return ``(positions, energies, forces)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``positions`` (N, 9, 3) Å, ``energies`` (N,) eV, ``forces`` (N, 9, 3)
        eV/Å, ``velocities`` (N, 9, 3) Å/fs, ``time`` (N,) fs,
        ``atomic_numbers`` (9,), ``symbols``, ``atom_names``, ``temperature``
        (K), ``timestep_fs``, ``interval``, ``equilibration`` (steps),
        ``filename`` (the cache file) and ``DESCR``.  ``N = n_configs``.
    (positions, energies, forces) : tuple of numpy.ndarray
        If ``return_X_y`` is True.

    Examples
    --------
    >>> data = load_ethanol()
    >>> data.positions.shape, data.energies.shape, data.forces.shape
    ((1500, 9, 3), (1500,), (1500, 9, 3))
    """
    n_configs = _check_int("n_configs", n_configs, 1)
    seed = _check_int("seed", seed, 0)
    interval = _check_int("interval", interval, 1)
    equilibration = _check_int("equilibration", equilibration, 0)
    temperature = _check_float("temperature", temperature, 0.0, 5000.0, "K")
    timestep_fs = _check_float("timestep_fs", timestep_fs, 0.0, 2.0, "fs")
    friction_per_fs = _check_float("friction_per_fs", friction_per_fs, 0.0, 1.0, "1/fs")

    from importlib.metadata import version

    tblite_version = version("tblite")  # also fails early, and clearly, if it is missing
    name = (
        f"ethanol_gfn2xtb_v{_FORMAT_VERSION}_tblite{tblite_version}_T{temperature:g}_n{n_configs}_seed{seed}"
        f"_dt{timestep_fs:g}_every{interval}_eq{equilibration}_fr{friction_per_fs:g}.npz"
    )
    path = get_data_home(data_home) / name
    if refresh or not path.exists():
        arrays = _generate(
            n_configs, temperature, seed, timestep_fs, interval, equilibration, friction_per_fs
        )
        _save_npz(path, tblite_version=np.array(tblite_version), **arrays)
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}

    atoms = ethanol_atoms()
    descr = _DESCR.format(
        temperature=f"{temperature:g}",
        timestep_fs=f"{timestep_fs:g}",
        friction_per_fs=f"{friction_per_fs:g}",
        tblite_version=str(arrays["tblite_version"]),
        equilibration=equilibration,
        interval=interval,
        interval_fs=f"{interval * timestep_fs:g}",
        n_configs=n_configs,
        seed=seed,
    )
    if return_X_y:
        return arrays["positions"], arrays["energies"], arrays["forces"]
    return Bunch(
        positions=arrays["positions"],
        energies=arrays["energies"],
        forces=arrays["forces"],
        velocities=arrays["velocities"],
        time=np.arange(1, n_configs + 1) * interval * timestep_fs,
        atomic_numbers=atoms.numbers.astype(np.int64),
        symbols=atoms.get_chemical_symbols(),
        atom_names=list(ETHANOL_ATOM_NAMES),
        temperature=temperature,
        timestep_fs=timestep_fs,
        interval=interval,
        equilibration=equilibration,
        filename=str(path),
        DESCR=descr,
    )


def run_nve(calculator: Any, positions: Any, velocities: Any, n_steps: int, dt_fs: float) -> dict:
    """Constant-energy (velocity-Verlet) dynamics of ethanol with any ASE calculator.

    Parameters
    ----------
    calculator : ase.calculators.calculator.Calculator
        Gives the energy (eV) and forces (eV/Å), e.g. :func:`xtb_calculator` or
        :class:`course_utils.potentials.TorchPotentialCalculator`.
    positions : array_like, shape (9, 3)
        Start positions in Å, in the atom order of :func:`ethanol_atoms`.
    velocities : array_like, shape (9, 3)
        Start velocities in Å/fs.
    n_steps : int
        Number of time steps, >= 1.
    dt_fs : float
        Time step in fs, in (0, 5].

    Returns
    -------
    dict of numpy.ndarray
        ``positions`` (n_steps + 1, 9, 3) Å, ``velocities`` (n_steps + 1, 9, 3)
        Å/fs, ``potential`` and ``kinetic`` (n_steps + 1,) eV, at t = 0, dt, ...
    """
    from ase import units
    from ase.md.verlet import VelocityVerlet

    n_steps = _check_int("n_steps", n_steps, 1)
    dt_fs = _check_float("dt_fs", dt_fs, 0.0, 5.0, "fs")
    atoms = ethanol_atoms()
    atoms.positions = np.asarray(positions, dtype=float).reshape(len(atoms), 3)
    atoms.set_velocities(np.asarray(velocities, dtype=float).reshape(len(atoms), 3) / units.fs)
    atoms.calc = calculator
    record: dict[str, list] = {"positions": [], "velocities": [], "potential": [], "kinetic": []}

    def save() -> None:
        record["positions"].append(atoms.get_positions())
        record["velocities"].append(atoms.get_velocities() * units.fs)  # Å/fs
        record["potential"].append(atoms.get_potential_energy())
        record["kinetic"].append(atoms.get_kinetic_energy())

    dynamics = VelocityVerlet(atoms, timestep=dt_fs * units.fs)
    dynamics.attach(save, interval=1)
    dynamics.run(n_steps)
    return {key: np.array(value) for key, value in record.items()}


def load_ethanol_nve(
    start_frame: int,
    *,
    n_steps: int = 1000,
    dt_fs: float = 0.5,
    data_home: str | os.PathLike | None = None,
    refresh: bool = False,
    **dataset: Any,
) -> Bunch:
    """GFN2-xTB constant-energy dynamics from one frame of :func:`load_ethanol`, cached.

    The reference run for dynamics with a fitted potential: :func:`run_nve`
    with :func:`xtb_calculator`, started from the positions and velocities of
    frame ``start_frame``.  Computed on the first call (``n_steps`` GFN2-xTB
    calculations on one core) and saved next to the data set; later calls
    read the file.

    Parameters
    ----------
    start_frame : int
        Index of the starting frame of the data set.
    n_steps, dt_fs
        Number of steps and time step in fs, as in :func:`run_nve`.
    data_home : str or path-like, optional
        Cache folder, see :func:`get_data_home`.
    refresh : bool
        Recompute the run even if a cached file exists.
    **dataset
        Arguments of :func:`load_ethanol` that choose the data set.

    Returns
    -------
    sklearn.utils.Bunch
        The arrays of :func:`run_nve` plus ``filename`` (the cache file).
    """
    data = load_ethanol(data_home=data_home, **dataset)
    start_frame = _check_int("start_frame", start_frame, 0)
    if start_frame >= len(data.energies):
        raise ValueError(f"start_frame must be < {len(data.energies)}, not {start_frame}.")
    n_steps = _check_int("n_steps", n_steps, 1)
    dt_fs = _check_float("dt_fs", dt_fs, 0.0, 5.0, "fs")
    path = Path(data.filename).with_name(
        Path(data.filename).stem + f"_nve_from{start_frame}_n{n_steps}_dt{dt_fs:g}.npz"
    )
    if refresh or not path.exists():
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # as for the data set: one thread, reproducible
            arrays = run_nve(
                xtb_calculator(),
                data.positions[start_frame],
                data.velocities[start_frame],
                n_steps,
                dt_fs,
            )
        _save_npz(path, **arrays)
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    return Bunch(**arrays, filename=str(path))
