"""Tests for course_utils/dynamics.py: velocity Verlet for many trajectories at once."""

import numpy as np
import pytest

from course_utils import pes
from course_utils.dynamics import (
    DISSOCIATED,
    OUTCOMES,
    REFLECTED,
    TRAPPED,
    InitialConditions,
    binomial_standard_error,
    classify_outcomes,
    kinetic_energy,
    outcome_probabilities,
    paired_difference,
    run_scattering,
    sample_initial_conditions,
    velocity_verlet,
)

# SI constants, independent of ase.units, to check the unit handling
AMU = 1.66053906660e-27  # kg
EV = 1.602176634e-19  # J
C_CM = 2.99792458e10  # speed of light in cm/s
M_O = pes.O_MASS


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS", "0")


# --------------------------------------------------------------------------- toy potentials


def harmonic_dimer(k=10.0, r0=1.2):
    """Two atoms joined by a spring of constant k (eV/Å²) and rest length r0 (Å)."""

    def force_fn(x):
        d = x[:, 1] - x[:, 0]
        r = np.linalg.norm(d, axis=-1)
        energy = 0.5 * k * (r - r0) ** 2
        f1 = (-k * (r - r0) / r)[:, None] * d  # force on atom 1
        return energy, np.stack([-f1, f1], axis=1)

    return force_fn


def morse_dimer(depth=pes.D_OO, alpha=pes.ALPHA_OO, r0=pes.R_E):
    def force_fn(x):
        d = x[:, 1] - x[:, 0]
        r = np.linalg.norm(d, axis=-1)
        e = np.exp(-alpha * (r - r0))
        energy = depth * (1 - e) ** 2
        dE_dr = 2 * depth * alpha * e * (1 - e)
        f1 = (-dE_dr / r)[:, None] * d
        return energy, np.stack([-f1, f1], axis=1)

    return force_fn


def repulsive_wall(a=2.0, length=0.5):
    """Each atom feels V = a exp(-z/length): a flat, purely repulsive surface."""

    def force_fn(x):
        e = a * np.exp(-x[..., 2] / length)
        forces = np.zeros_like(x)
        forces[..., 2] = e / length
        return e.sum(axis=1), forces

    return force_fn


def constant_force(f):
    def force_fn(x):
        return -(x * f).sum(axis=(1, 2)), np.broadcast_to(f, x.shape).copy()

    return force_fn


def _random_dimers(n, seed=0, r0=1.2, spread=0.1, speed=0.01):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2, 3))
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = r0 + rng.uniform(-spread, spread, n)
    x[:, 1] = r[:, None] * u
    v = rng.normal(scale=speed, size=(n, 2, 3))
    return x, v


# --------------------------------------------------------------------------- integrator


def test_free_flight_and_constant_force_are_integrated_exactly():
    x0 = np.zeros((3, 2, 3))
    v0 = np.random.default_rng(1).normal(scale=0.02, size=(3, 2, 3))  # Å/fs
    res = velocity_verlet(x0, v0, constant_force(np.zeros(3)), dt=0.7, n_steps=50)
    assert np.allclose(res.positions, x0 + v0 * 35.0)
    # constant force 0.1 eV/Å along z on an O atom: a = F/m in SI, converted to Å/fs²
    f = np.array([0.0, 0.0, 0.1])
    a = 0.1 * EV / 1e-10 / (M_O * AMU) * 1e10 / 1e30  # Å/fs²
    res = velocity_verlet(x0, v0, constant_force(f), dt=1.0, n_steps=100)
    t = 100.0
    assert np.allclose(res.positions[..., 2], v0[..., 2] * t + 0.5 * a * t**2, rtol=1e-6)
    assert np.allclose(res.velocities[..., 2], v0[..., 2] + a * t, rtol=1e-6)


def test_kinetic_energy_units():
    v = np.zeros((1, 2, 3))
    v[0, :, 2] = 0.01  # Å/fs = 1000 m/s
    expected = 2 * 0.5 * M_O * AMU * 1000.0**2 / EV
    assert kinetic_energy(v)[0] == pytest.approx(expected, rel=1e-6)


def test_energy_is_conserved_and_error_shrinks_as_dt_squared():
    x, v = _random_dimers(64, spread=0.1, speed=0.005)
    errors = []
    for dt in (1.0, 0.5):
        res = velocity_verlet(x, v, morse_dimer(), dt=dt, n_steps=int(400 / dt))
        errors.append(res.max_energy_error.max())
        # the final energy agrees with the initial one as well as the running maximum says
        assert np.all(np.abs(res.total_energy - res.initial_energy) <= res.max_energy_error + 1e-12)
    assert errors[0] < 0.03  # eV, against vibrational energies of up to ~0.4 eV
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.2)


def test_o2_vibration_has_the_right_frequency():
    # harmonic O2 with the Morse curvature k = 2 D alpha^2 of the PES: omega = 1580 cm^-1
    k = 2 * pes.D_OO * pes.ALPHA_OO**2
    x = np.zeros((1, 2, 3))
    x[0, 1, 2] = pes.R_E + 0.01
    res = velocity_verlet(
        x, np.zeros_like(x), harmonic_dimer(k, pes.R_E), dt=0.05, n_steps=2000, record_every=1
    )
    r = np.linalg.norm(res.trace_positions[:, 0, 1] - res.trace_positions[:, 0, 0], axis=-1)
    crossings = np.flatnonzero((r[:-1] - pes.R_E) * (r[1:] - pes.R_E) < 0)
    period_fs = 2 * np.mean(np.diff(crossings)) * 0.05
    wavenumber = 1e15 / period_fs / C_CM
    mu = M_O / 2 * AMU
    expected = np.sqrt(k * EV / 1e-20 / mu) / (2 * np.pi * C_CM)
    assert wavenumber == pytest.approx(expected, rel=5e-3)
    assert expected == pytest.approx(1580, rel=0.01)


def test_velocity_verlet_is_time_reversible():
    x, v = _random_dimers(16, seed=3, speed=0.03)
    fwd = velocity_verlet(x, v, morse_dimer(), dt=1.0, n_steps=300)
    back = velocity_verlet(fwd.positions, -fwd.velocities, morse_dimer(), dt=1.0, n_steps=300)
    assert np.allclose(back.positions, x, atol=1e-9)
    assert np.allclose(-back.velocities, v, atol=1e-11)
    assert not np.allclose(fwd.positions, x, atol=1e-3)  # it did move


def test_batch_equals_one_trajectory_at_a_time_on_the_reference_pes():
    ic = sample_initial_conditions([0.1, 0.3, 0.5, 0.2], z_start=4.0, rng=5)
    batch = run_scattering(ic, pes.energy_and_forces, dt=1.0, max_time=300, progress=False)
    for i in range(len(ic)):
        one = run_scattering(
            ic.subset([i]),
            pes.energy_and_forces,
            dt=1.0,
            max_time=300,
            z_reflect=4.0,
            progress=False,
        )
        assert one.outcome[0] == batch.outcome[i]
        assert one.time[0] == batch.time[i]
        assert np.allclose(one.verlet.positions[0], batch.verlet.positions[i], atol=1e-10)


def test_stopped_trajectories_are_frozen_and_counted():
    x = np.zeros((3, 1, 3))
    v = np.zeros((3, 1, 3))
    v[:, 0, 2] = [0.01, 0.02, 0.0]  # Å/fs

    def stop(xs, vs):
        return xs[:, 0, 2] > 0.505

    res = velocity_verlet(
        x,
        v,
        constant_force(np.zeros(3)),
        dt=1.0,
        n_steps=100,
        stop=stop,
        masses=[M_O],
        record_every=10,
    )
    assert res.stopped.tolist() == [True, True, False]
    assert res.n_steps.tolist() == [51, 26, 100]
    assert res.positions[0, 0, 2] == pytest.approx(0.51)
    assert res.n_trajectory_steps == 177
    assert res.trace_positions.shape == (11, 3, 1, 3)
    assert np.allclose(res.trace_positions[-1], res.positions)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(positions=np.zeros((2, 3))), ValueError),
        (dict(velocities=np.zeros((1, 2, 3))), ValueError),
        (dict(positions=np.full((2, 2, 3), np.nan)), ValueError),
        (dict(dt=0.0), ValueError),
        (dict(dt="1"), TypeError),
        (dict(n_steps=-1), ValueError),
        (dict(masses=[1.0, 2.0, 3.0]), ValueError),
        (dict(masses=-1.0), ValueError),
        (dict(force_fn=None), TypeError),
        (dict(force_fn=lambda x: np.zeros(len(x))), TypeError),
        (dict(force_fn=lambda x: (np.zeros(len(x)), np.zeros((len(x), 3)))), ValueError),
        (dict(force_fn=lambda x: (np.full(len(x), np.nan), np.zeros_like(x))), FloatingPointError),
        (dict(stop=lambda x, v: np.zeros(1, dtype=bool)), ValueError),
    ],
)
def test_velocity_verlet_rejects_bad_input(kwargs, error):
    args = dict(
        positions=_random_dimers(2)[0],
        velocities=np.zeros((2, 2, 3)),
        force_fn=harmonic_dimer(),
        dt=1.0,
        n_steps=3,
    )
    args.update(kwargs)
    with pytest.raises(error):
        velocity_verlet(args.pop("positions"), args.pop("velocities"), args.pop("force_fn"), **args)


# --------------------------------------------------------------------------- O2 at the surface


def test_initial_conditions_follow_the_stated_distribution():
    n = 20000
    ic = sample_initial_conditions(0.2, n, z_start=6.5, rng=0)
    X, Y, Z, r, theta, phi = ic.coords.T
    assert np.all((X >= 0) & (X < pes.A_SURF) & (Y >= 0) & (Y < pes.A_SURF))
    assert np.allclose(Z, 6.5) and np.allclose(r, pes.R_E)
    # isotropic orientation: cos(theta) uniform on [-1, 1]
    c = np.cos(theta)
    assert abs(c.mean()) < 0.02 and np.mean(c**2) == pytest.approx(1 / 3, abs=0.01)
    assert np.allclose(ic.positions, pes.to_cartesian(ic.coords))
    # no vibration, no rotation, no lateral motion: both atoms move straight down together
    assert np.allclose(ic.velocities[:, 0], ic.velocities[:, 1])
    assert np.allclose(ic.velocities[..., :2], 0) and np.all(ic.velocities[..., 2] < 0)
    assert np.allclose(kinetic_energy(ic.velocities), 0.2)
    speed = np.sqrt(2 * 0.2 * EV / (2 * M_O * AMU)) * 1e-5  # m/s -> Å/fs
    assert np.allclose(-ic.velocities[..., 2], speed)


def test_initial_conditions_are_reproducible_and_accept_energy_arrays():
    a = sample_initial_conditions(0.1, 5, rng=3)
    b = sample_initial_conditions(0.1, 5, rng=3)
    assert np.array_equal(a.coords, b.coords)
    c = sample_initial_conditions([0.1, 0.4], rng=3)
    assert np.allclose(kinetic_energy(c.velocities), [0.1, 0.4])
    assert len(c.subset([1])) == 1


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((0.1,), {}),
        ((-0.1, 3), {}),
        (([0.1, 0.2], 3), {}),
        ((0.1, 0), {}),
        ((0.1, 3), {"z_start": 0}),
    ],
)
def test_initial_conditions_reject_bad_input(args, kwargs):
    with pytest.raises(ValueError):
        sample_initial_conditions(*args, **kwargs)


def _state(z_a, z_b, r_xy=0.0, vz=0.0):
    x = np.array([[[0.0, 0.0, z_a], [r_xy, 0.0, z_b]]])
    v = np.zeros_like(x)
    v[..., 2] = vz
    return x, v


@pytest.mark.parametrize(
    "state, expected",
    [
        (_state(1.0, 1.2, r_xy=2.8), DISSOCIATED),  # two atoms far apart on the surface
        (_state(1.0, 1.2, r_xy=2.8, vz=0.01), DISSOCIATED),
        (_state(5.0, 5.1, r_xy=2.8), ""),  # stretched, but not at the surface
        (_state(1.5, 1.5, r_xy=1.3), ""),  # molecule at the surface
        (_state(6.9, 6.9, r_xy=1.2, vz=0.005), REFLECTED),  # above the start, leaving
        (_state(6.9, 6.9, r_xy=1.2, vz=-0.005), ""),  # above the start, still arriving
        (_state(6.0, 6.0, r_xy=1.2, vz=0.005), ""),  # leaving, but not yet above z_reflect
    ],
)
def test_classification_of_constructed_states(state, expected):
    assert classify_outcomes(*state, z_reflect=6.5)[0] == expected


def test_classification_is_vectorised():
    states = [_state(1.0, 1.2, r_xy=2.8), _state(6.9, 6.9, 1.2, 0.005), _state(1.5, 1.5, 1.3)]
    x = np.concatenate([s[0] for s in states])
    v = np.concatenate([s[1] for s in states])
    assert classify_outcomes(x, v, z_reflect=6.5).tolist() == [DISSOCIATED, REFLECTED, ""]


def test_a_repulsive_wall_reflects_elastically_and_a_short_run_traps():
    ic = sample_initial_conditions([0.1, 0.3], rng=0)
    flat = ic.coords.copy()
    flat[:, 4] = np.pi / 2  # parallel to the surface: a flat wall cannot make it rotate
    ic = InitialConditions(flat, pes.to_cartesian(flat), ic.velocities, ic.incidence_energy)
    force = lambda x: (lambda e, f: (e + morse_dimer()(x)[0], f + morse_dimer()(x)[1]))(
        *repulsive_wall()(x)
    )
    res = run_scattering(ic, force, dt=1.0, max_time=3000, progress=False)
    assert res.outcome.tolist() == [REFLECTED, REFLECTED]
    assert np.allclose(res.verlet.kinetic_energy, [0.1, 0.3], atol=1e-3)
    assert np.allclose(res.verlet.velocities[..., 2], -ic.velocities[..., 2], rtol=1e-2)
    # the faster molecule comes back sooner
    assert res.time[1] < res.time[0]
    short = run_scattering(ic, force, dt=1.0, max_time=50, progress=False)
    assert short.outcome.tolist() == [TRAPPED, TRAPPED]


def test_parallel_o2_over_a_top_site_dissociates_directly_on_the_reference_pes():
    # a non-activated path of the model PES: parallel over a top site, atoms towards the bridges
    coords = np.array([[*pes.TOP, 4.0, pes.R_E, np.pi / 2, 0.0]])
    v = np.zeros((1, 2, 3))
    v[..., 2] = -0.01
    ic = InitialConditions(coords, pes.to_cartesian(coords), v, kinetic_energy(v))
    res = run_scattering(ic, pes.energy_and_forces, dt=1.0, max_time=1000, progress=False)
    assert res.outcome[0] == DISSOCIATED
    assert res.time[0] < 400  # direct: no bounce, no trapping on the way
    assert res.verlet.max_energy_error[0] < 0.02


def test_binomial_standard_error_values_and_monte_carlo():
    assert binomial_standard_error(50, 100) == pytest.approx(0.05)
    assert binomial_standard_error(0, 10) == 0.0
    rng = np.random.default_rng(0)
    p, n = 0.3, 200
    estimates = rng.binomial(n, p, size=4000) / n
    assert binomial_standard_error(round(p * n), n) == pytest.approx(estimates.std(), rel=0.05)
    with pytest.raises(ValueError):
        binomial_standard_error(5, 3)
    with pytest.raises(ValueError):
        binomial_standard_error(1.5, 3)


def test_outcome_probabilities_per_group():
    outcome = np.array([DISSOCIATED, REFLECTED, DISSOCIATED, TRAPPED, DISSOCIATED])
    energy = np.array([0.1, 0.1, 0.2, 0.2, 0.2])
    values, p, err, counts = outcome_probabilities(outcome, energy)
    assert values.tolist() == [0.1, 0.2] and counts.tolist() == [2, 3]
    assert np.allclose(p, [0.5, 2 / 3])
    assert np.allclose(err, np.sqrt(p * (1 - p) / counts))
    total = sum(outcome_probabilities(outcome, energy, k)[1] for k in OUTCOMES)
    assert np.allclose(total, 1.0)
    with pytest.raises(ValueError):
        outcome_probabilities(outcome, energy, "adsorbed")
    with pytest.raises(ValueError):
        outcome_probabilities(outcome, energy[:3])


def test_paired_difference_against_a_direct_computation():
    rng = np.random.default_rng(3)
    n = 400
    energy = np.repeat([0.1, 0.2], n // 2)
    ref = rng.choice(OUTCOMES, size=n, p=[0.8, 0.15, 0.05])
    other = ref.copy()
    flip = rng.random(n) < 0.1  # a tenth of the pairs end differently
    other[flip] = rng.choice(OUTCOMES, size=flip.sum())
    values, diff, se, same = paired_difference(other, ref, energy)
    assert values.tolist() == [0.1, 0.2]
    for k, e in enumerate(values):
        m = energy == e
        d = (other[m] == DISSOCIATED).astype(float) - (ref[m] == DISSOCIATED)
        assert diff[k] == pytest.approx(d.mean())  # = p_other - p_ref
        assert se[k] == pytest.approx(d.std(ddof=1) / np.sqrt(m.sum()))
        assert same[k] == pytest.approx(np.mean(other[m] == ref[m]))
    # identical runs: no difference, no error; swapping the runs flips the sign
    assert all(np.all(x == 0) for x in paired_difference(ref, ref, energy)[1:3])
    assert np.allclose(paired_difference(ref, other, energy)[1], -diff)
    # pairing beats independence: smaller than the two binomial errors combined
    p_o, p_r = (outcome_probabilities(x, energy)[1] for x in (other, ref))
    assert np.all(se < np.sqrt(p_o * (1 - p_o) / (n // 2) + p_r * (1 - p_r) / (n // 2)))
    with pytest.raises(ValueError, match="same starts"):
        paired_difference(ref, ref[:-1], energy)
    with pytest.raises(ValueError, match="kind"):
        paired_difference(ref, ref, energy, "adsorbed")
