"""course_utils.molecules: the ethanol GFN2-xTB data set (computed, cached, reproducible)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units

import course_utils.molecules as molecules
from course_utils.molecules import ethanol_atoms, load_ethanol, xtb_calculator

TINY = dict(n_configs=4, interval=3, equilibration=5, seed=3)


def _fresh_xtb(positions: np.ndarray) -> tuple[float, np.ndarray]:
    atoms = ethanol_atoms()
    atoms.positions = positions
    atoms.calc = xtb_calculator()
    return atoms.get_potential_energy(), atoms.get_forces()


@pytest.fixture
def tiny(tmp_path):
    return load_ethanol(**TINY, data_home=tmp_path)


def test_bunch_has_documented_shapes_units_and_provenance(tiny):
    n = TINY["n_configs"]
    assert tiny.positions.shape == (n, 9, 3)
    assert tiny.energies.shape == (n,)
    assert tiny.forces.shape == (n, 9, 3)
    assert tiny.velocities.shape == (n, 9, 3)
    assert tiny.atomic_numbers.tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
    assert tiny.symbols == ["C", "C", "O", "H", "H", "H", "H", "H", "H"]
    np.testing.assert_allclose(tiny.time, [3.0, 6.0, 9.0, 12.0])  # interval 3 of the default 1 fs
    assert (tiny.interval, tiny.equilibration, tiny.timestep_fs) == (3, 5, 1.0)
    for text in ("GFN2-xTB", "Langevin", "500 K", "eV/Å", "Å/fs", "tblite 0.", "doi:"):
        assert text in tiny.DESCR, text
    # ethanol's total GFN2-xTB energy is about -310 eV; bonds stay bonds
    assert np.all((tiny.energies > -312) & (tiny.energies < -308))
    r_co = np.linalg.norm(tiny.positions[:, 1] - tiny.positions[:, 2], axis=-1)
    assert np.all((r_co > 1.2) & (r_co < 1.7))


# During MD each SCF starts from the previous step's converged charges, a fresh calculation
# from scratch: both converge to within the SCF tolerance, about 1e-4 eV/Å in the forces.
F_TOL = 3e-4


def test_energies_and_forces_match_a_fresh_xtb_calculation(tiny):
    for k in range(len(tiny.energies)):
        energy, forces = _fresh_xtb(tiny.positions[k])
        assert tiny.energies[k] == pytest.approx(energy, abs=1e-5)
        np.testing.assert_allclose(tiny.forces[k], forces, atol=F_TOL)


def test_same_seed_same_data_other_seed_other_data(tmp_path, tiny):
    again = load_ethanol(**TINY, data_home=tmp_path / "again")
    np.testing.assert_array_equal(again.positions, tiny.positions)
    np.testing.assert_array_equal(again.energies, tiny.energies)
    other = load_ethanol(**{**TINY, "seed": 4}, data_home=tmp_path / "other")
    assert not np.allclose(other.positions, tiny.positions)


def test_second_call_reads_the_cache_and_refresh_recomputes(tmp_path, tiny, monkeypatch):
    calls = []
    real = molecules._generate

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(molecules, "_generate", counting)
    cached = load_ethanol(**TINY, data_home=tmp_path)
    assert calls == []
    assert cached.filename == tiny.filename
    np.testing.assert_array_equal(cached.forces, tiny.forces)
    refreshed = load_ethanol(**TINY, data_home=tmp_path, refresh=True)
    assert len(calls) == 1
    np.testing.assert_array_equal(refreshed.positions, tiny.positions)


def test_data_home_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NN_COMPCHEM_DATA", str(tmp_path / "cache"))
    assert molecules.get_data_home() == tmp_path / "cache"
    assert (tmp_path / "cache").is_dir()


def test_return_X_y(tmp_path, tiny):
    positions, energies, forces = load_ethanol(**TINY, data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(positions, tiny.positions)
    np.testing.assert_array_equal(energies, tiny.energies)
    np.testing.assert_array_equal(forces, tiny.forces)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_configs": 0}, ValueError, "n_configs"),
        ({"n_configs": 2.5}, TypeError, "n_configs"),
        ({"seed": True}, TypeError, "seed"),
        ({"temperature": -5}, ValueError, "temperature.*K"),
        ({"timestep_fs": 5.0}, ValueError, "timestep_fs.*fs"),
        ({"friction_per_fs": "much"}, TypeError, "friction_per_fs"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_ethanol(**{**TINY, **kwargs}, data_home=tmp_path)


@pytest.mark.slow
def test_default_data_set_is_xtb_at_the_stated_temperature():
    """The chapter's data set (generated here if not cached, about half a minute of CPU)."""
    data = load_ethanol()
    assert data.positions.shape == (1500, 9, 3)
    for k in (0, 777, 1499):
        energy, forces = _fresh_xtb(data.positions[k])
        assert data.energies[k] == pytest.approx(energy, abs=1e-5)
        np.testing.assert_allclose(data.forces[k], forces, atol=F_TOL)
    # equipartition: <KE> = (3n - 3)/2 kB T (centre of mass fixed)
    masses = ethanol_atoms().get_masses()
    v = data.velocities / units.fs  # ASE velocity units
    kinetic = 0.5 * np.einsum("a,nai->n", masses, v**2)
    temperature = 2 * kinetic.mean() / ((3 * 9 - 3) * units.kB)
    assert temperature == pytest.approx(500, rel=0.08)


def test_nve_reference_is_cached_xtb_velocity_verlet(tmp_path, tiny, monkeypatch):
    run = molecules.load_ethanol_nve(2, n_steps=6, dt_fs=0.5, data_home=tmp_path, **TINY)
    assert run.positions.shape == run.velocities.shape == (7, 9, 3)
    assert run.potential.shape == run.kinetic.shape == (7,)
    np.testing.assert_array_equal(run.positions[0], tiny.positions[2])  # starts at frame 2
    np.testing.assert_allclose(run.velocities[0], tiny.velocities[2], rtol=1e-12)
    for k in (0, 6):  # the energies are GFN2-xTB's at the recorded positions
        assert run.potential[k] == pytest.approx(_fresh_xtb(run.positions[k])[0], abs=1e-5)
    # velocity Verlet by hand: x1 = x0 + v0 dt + F0 / (2 m) dt²
    masses = ethanol_atoms().get_masses()[:, None]
    _, f0 = _fresh_xtb(run.positions[0])
    dt = 0.5 * units.fs
    x1 = run.positions[0] + run.velocities[0] / units.fs * dt + f0 / (2 * masses) * dt**2
    np.testing.assert_allclose(run.positions[1], x1, atol=1e-6)
    total = run.potential + run.kinetic
    assert np.ptp(total) < 0.01  # eV: constant energy
    # the second call reads the file: no xTB run
    monkeypatch.setattr(molecules, "run_nve", lambda *a, **k: pytest.fail("recomputed"))
    again = molecules.load_ethanol_nve(2, n_steps=6, dt_fs=0.5, data_home=tmp_path, **TINY)
    np.testing.assert_array_equal(again.positions, run.positions)
    with pytest.raises(ValueError, match="start_frame must be < 4"):
        molecules.load_ethanol_nve(4, n_steps=6, data_home=tmp_path, **TINY)
