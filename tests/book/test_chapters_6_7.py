"""The numbers printed in chapters 6 and 7 (glued from the executed notebooks) are right.

The checks are consistency and physics checks: invariances hold to rounding error,
probabilities are probabilities with the right binomial errors, energy is conserved,
the two integrators agree, and the PES features quoted in the prose agree with
course_utils.pes.
"""

import math

import numpy as np
import pytest
from ase import units
from conftest import chapter_values

from course_utils import pes

pytestmark = pytest.mark.slow

CH6 = "chapters/06_nn_potentials.ipynb"
CH7 = "chapters/07_gas_surface_dynamics.ipynb"


ch6 = chapter_values(CH6)


ch7 = chapter_values(CH7)


# --------------------------------------------------------------------------- chapter 6


def test_ch6_cost_estimates_follow_from_their_inputs(ch6):
    assert ch6["mass_ratio"] == pytest.approx(pes.O_MASS * units._amu / units._me)
    assert ch6["speed_ratio"] == pytest.approx(math.sqrt(ch6["mass_ratio"]))
    assert ch6["dft_years"] == pytest.approx(1e6 * 10 / (60 * 24 * 365.25))  # serial time
    assert ch6["grid_points"] == 20**6
    assert 0 < ch6["pes_us"] < 100  # a fitted function costs microseconds, not minutes


def test_ch6_invariance_demonstrations_hold_to_rounding_error(ch6):
    assert ch6["bp_deviation"] < 1e-10  # Behler-Parrinello: rotation, translation, permutation
    assert ch6["q_invariance"] < 1e-10  # Q1..Q10 and E under p4mm and O exchange
    assert ch6["naive_gap"] < 1e-10  # the constructed pairs really collide in Q1..Q7


def test_ch6_collisions_are_real_and_the_full_set_resolves_them(ch6):
    a_s = pes.A_SURF
    along = [a_s / 2, 0.0, 1.8, 1.34, math.pi / 2, 0.0]
    across = [a_s / 2, 0.0, 1.8, 1.34, math.pi / 2, math.pi / 2]
    assert ch6["E_bridge_along"] == pytest.approx(float(pes.reference_energy(along)))
    assert ch6["E_bridge_across"] == pytest.approx(float(pes.reference_energy(across)))
    assert ch6["bridge_dE"] == pytest.approx(abs(ch6["E_bridge_along"] - ch6["E_bridge_across"]))
    assert ch6["bridge_dE"] > 0.3
    assert ch6["n_reachable"] > 500
    assert 10 < ch6["collision_fraction"] <= 100
    assert ch6["collision_max"] > 0.5
    assert ch6["full_separated"] == 100


def _precursor_from_random_starts(n=8, seed=11):
    """Independent search: BFGS in Cartesian coordinates from random flat molecules."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(seed)
    a_s = pes.A_SURF
    found = []
    for _ in range(n):
        c0 = [
            rng.uniform(0, a_s),
            rng.uniform(0, a_s),
            rng.uniform(1.6, 2.0),
            rng.uniform(1.3, 1.4),
            math.pi / 2 + rng.normal(0, 0.1),
            rng.uniform(-math.pi, math.pi),
        ]

        def fg(x):
            e, f = pes.energy_and_forces(x.reshape(1, 2, 3))
            return float(e[0]), -f.ravel()

        res = minimize(fg, pes.to_cartesian(c0).ravel(), jac=True, method="BFGS")
        c = pes.from_cartesian(res.x.reshape(2, 3))
        if c[3] < 2.0:  # still a molecule
            found.append((res.fun, c))
    return found


def test_ch6_precursor_is_the_minimum_found_from_random_starts(ch6):
    found = []
    for seed in (11, 12, 13):
        found += _precursor_from_random_starts(seed=seed)
        if found:
            break
    assert found, "no random start stayed molecular"
    energies = np.array([e for e, _ in found])
    assert np.ptp(energies) < 1e-5  # one molecular minimum (up to symmetry)
    e_min, c = found[0]
    assert ch6["precursor_E"] == pytest.approx(e_min, abs=1e-4)
    assert ch6["precursor_Z"] == pytest.approx(c[2], abs=2e-3)
    assert ch6["precursor_r"] == pytest.approx(c[3], abs=2e-3)
    # over a bridge, flat, bond turned away from the Pd-Pd axis of that bridge
    gx, gy = np.cos(pes.G * c[0]), np.cos(pes.G * c[1])
    assert sorted([gx, gy]) == pytest.approx([-1.0, 1.0], abs=1e-3)
    assert c[4] == pytest.approx(math.pi / 2, abs=1e-3)
    axis = 0.0 if gx < gy else math.pi / 2
    turn = math.degrees(math.acos(abs(math.cos(c[5] - axis))))
    assert ch6["precursor_turn"] == pytest.approx(turn, abs=0.5)
    assert 15 < turn < 35
    # the mirror partner has the same energy; the on-axis geometry is a rotational saddle
    mirror = c.copy()
    mirror[5] = 2 * axis - c[5]
    assert float(pes.reference_energy(mirror)) == pytest.approx(e_min, abs=1e-9)
    on_axis = c.copy()
    on_axis[5] = axis
    assert float(pes.reference_energy(on_axis)) > e_min + 0.005
    assert ch6["precursor_axis_E"] > ch6["precursor_E"] + 0.01
    assert ch6["precursor_axis_dE"] == pytest.approx(
        ch6["precursor_axis_E"] - ch6["precursor_E"], abs=1e-9
    )
    assert 0 < ch6["n_molecular"] <= ch6["n_starts"]


def test_ch6_way_out_of_the_precursor_is_a_small_barrier_far_below_the_gas_phase(ch6):
    """Recompute the saddle independently with a nudged elastic band (ASE)."""
    from ase.mep import NEB
    from ase.optimize import FIRE

    a_s = pes.A_SURF
    well = np.array([a_s / 2, 0.0, ch6["precursor_Z"], ch6["precursor_r"], math.pi / 2, 0.42])
    end = np.array([a_s / 2, 0.0, 0.855, 2.911, math.pi / 2, math.pi / 2])  # two hollows
    images = []
    for s in np.linspace(0.0, 1.0, 7):
        atoms = pes.o2_atoms((1 - s) * well + s * end)
        atoms.calc = pes.PESCalculator()
        images.append(atoms)
    FIRE(NEB(images, climb=True), logfile=None).run(fmax=0.01, steps=1500)
    saddle = max(im.get_potential_energy() for im in images)
    assert ch6["saddle_E"] == pytest.approx(saddle, abs=0.01)
    assert ch6["saddle_barrier"] == pytest.approx(ch6["saddle_E"] - ch6["precursor_E"], abs=1e-9)
    assert 0.05 < ch6["saddle_barrier"] < 0.11
    assert ch6["saddle_E"] < -0.7  # far below the gas phase
    assert ch6["turn_end_E"] < -2.0  # the bond broke


def test_ch6_pes_features_agree_with_the_module(ch6):
    a_s = pes.A_SURF
    # the fixed-orientation cut: bridge, bond held along Pd-Pd, measured from the gas phase
    Z = np.linspace(0.4, 4.5, 206)[:, None]
    r = np.linspace(0.9, 4.0, 221)[None, :]
    grid = np.stack(np.broadcast_arrays(a_s / 2, 0.0, Z, r, math.pi / 2, 0.0), axis=-1)
    lowest = pes.reference_energy(grid).min(axis=0)
    assert ch6["barrier_along"] == pytest.approx(lowest[r[0] >= pes.R_E].max(), abs=1e-9)
    assert 0.05 < ch6["barrier_along"] < 0.12
    assert ch6["barrier_max_nonactivated"] < 0  # non-activated paths exist
    for site in ("top", "bridge", "hollow"):
        expected = float(pes.atom_surface_energy(*pes.SITES[site], pes.SITE_HEIGHT[site]))
        assert ch6[f"E_{site}"] == pytest.approx(expected)
    assert ch6["E_hollow"] < ch6["E_bridge"] < ch6["E_top"] < 0
    for name in ("E_neighbouring", "E_diagonal"):
        assert -2.7 < ch6[name] < -2.4  # about 2.6 eV released on dissociation


def test_ch6_cut_energy_span_and_reachable_region(ch6):
    Z, r = np.meshgrid(np.linspace(0.6, 4.0, 120), np.linspace(0.95, 3.0, 110), indexing="ij")
    X, Y = pes.HOLLOW
    c = np.stack(np.broadcast_arrays(X, Y, Z, r, math.pi / 2, 0.0), axis=-1)
    E = pes.reference_energy(c)
    E = E[E <= 2.0]
    assert ch6["cut_span"] == pytest.approx(E.max() - E.min(), abs=1e-9)
    assert 3.0 < ch6["cut_span"] < 4.5
    rng = np.random.default_rng(5)
    n = 40000
    box = np.column_stack(
        [
            rng.uniform(0, pes.A_SURF, (2, n)).T,
            rng.uniform(0.5, 4.0, n),
            rng.uniform(0.9, 4.0, n),
            np.arccos(rng.uniform(-1, 1, n)),
            rng.uniform(0, 2 * math.pi, n),
        ]
    )
    E_box = pes.reference_energy(box)
    fraction = 100 * np.mean(E_box[E_box <= 2.0] <= 0.5)
    assert ch6["fraction_below_half"] == pytest.approx(fraction, abs=2.0)
    assert ch6["fraction_below_half"] < 50  # a clear minority of the region below 2 eV


def test_ch6_cut_fit_is_good_inside_and_bad_outside_its_data(ch6):
    # 2-32-32-1: (2*32 + 32) + (32*32 + 32) + (32 + 1)
    assert ch6["cut_params"] == 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1
    assert 1 <= ch6["cut_iterations"] <= 300  # L-BFGS, at most the 300 iterations allowed
    assert ch6["cut_n_test"] > 1000
    assert ch6["cut_rmse_meV"] < 50
    assert ch6["cut_force_rmse"] < 0.3 * ch6["cut_force_scale"]
    # the transferability section's point: errors off the training data are much larger
    assert 1000 * ch6["transfer_rmse"] > 5 * ch6["cut_rmse_meV"]
    assert 1000 * ch6["extrapolation_error"] > 3 * ch6["cut_rmse_meV"]
    assert abs(ch6["cut_min_nn"] - ch6["cut_min_ref"]) < 0.1


# --------------------------------------------------------------------------- chapter 7


def test_ch7_vibration_sets_the_time_step(ch7):
    assert ch7["wavenumber"] == pytest.approx(1580, abs=15)
    period_from_wavenumber = 1e15 / (ch7["wavenumber"] * units._c * 100)
    assert ch7["period_fs"] == pytest.approx(period_from_wavenumber, rel=1e-6)
    zpe = 0.5 * units._hplanck * units._c * 100 * ch7["wavenumber"] / units._e
    assert ch7["zpe"] == pytest.approx(zpe, rel=1e-6)


def test_ch7_verlet_error_is_second_order_and_small(ch7):
    errors = ch7["dt_median_errors"]
    assert ch7["dt_values"] == [0.5, 1.0, 2.0]
    assert errors[0] < errors[1] < errors[2]
    assert 2.5 < ch7["dt_ratio"] < 6.0  # ~4 for an error that scales as dt^2
    assert errors[1] < 0.005  # eV at the chosen 1 fs
    worst = ch7["dt_max_errors"]
    assert all(w >= e for w, e in zip(worst, errors))
    assert worst[0] < worst[1] < worst[2]
    # the numbers quoted in the prose are these, in meV
    assert ch7["dt_median_1fs_meV"] == pytest.approx(1000 * errors[1])
    assert ch7["dt_worst_1fs_meV"] == pytest.approx(1000 * worst[1])
    assert ch7["dt_worst_2fs_meV"] == pytest.approx(1000 * worst[2])
    # the check is made where molecules break apart: many of the 100 dissociated
    assert 20 <= ch7["dt_n_dissociated"] <= 100


def test_ch7_enough_trajectories_and_consistent_probabilities(ch7):
    energies, n = ch7["energies"], ch7["n_per_energy"]
    assert ch7["n_total"] == n * len(energies) >= 1000
    assert min(energies) == pytest.approx(0.05) and max(energies) == pytest.approx(0.5)
    assert ch7["counts"] == [n] * len(energies)
    total = np.zeros(len(energies))
    for kind in ("dissociated", "reflected", "trapped"):
        p, err = np.array(ch7[f"p_{kind}"]), np.array(ch7[f"err_{kind}"])
        assert np.all((p >= 0) & (p <= 1))
        assert np.allclose(p * n, np.round(p * n))  # k/n with an integer k
        assert np.allclose(err, np.sqrt(p * (1 - p) / n))  # binomial standard error
        total += p
    assert np.allclose(total, 1.0)
    trapped_from_p = round(float(np.sum(np.array(ch7["p_trapped"]) * n)))
    assert ch7["trapped_n"] == trapped_from_p and 0 <= ch7["trapped_low"] <= ch7["trapped_n"]
    assert ch7["p_diss_min"] == pytest.approx(min(ch7["p_dissociated"]))
    assert ch7["p_diss_max"] == pytest.approx(max(ch7["p_dissociated"]))


def test_ch7_dissociation_is_non_activated_on_the_reference_pes(ch7):
    # the prose's central claim: slow molecules dissociate too
    assert ch7["p_dissociated"][0] > 0.7
    assert ch7["p_diss_min"] > 0.7
    assert ch7["steer_upright_slow"] > 0.5  # upright molecules were turned (steering)


def test_ch7_energy_is_conserved(ch7):
    assert ch7["drift_median_meV"] < 5
    assert ch7["drift_median_meV"] <= ch7["drift_p99_meV"] <= ch7["drift_max_meV"] < 50
    assert ch7["E_start_max"] < 2  # meV: the molecules start where the PES is flat
    assert ch7["nn_drift_max_meV"] < 50
    assert ch7["ase_drift_meV"] < 20


def test_ch7_vectorised_run_is_much_faster_than_a_loop(ch7):
    assert ch7["speedup"] == pytest.approx(ch7["batch_throughput"] / ch7["loop_throughput"])
    assert ch7["speedup"] > 20
    assert ch7["best_speedup"] >= 1


def test_ch7_network_observable_is_comparable(ch7):
    assert ch7["nn_rmse_meV"] < 150  # the atom-centred fit with forces
    assert 0 < ch7["nn_force_rmse"] < 1.0
    n_in = pes.N_ATOM_FEATURES
    assert ch7["nn_params"] == n_in * 64 + 64 + 64 * 64 + 64 + 64 + 1
    assert set(ch7["nn_energies"]) <= set(ch7["energies"])
    assert ch7["nn_counts"] == [ch7["n_per_energy"]] * len(ch7["nn_energies"])
    p, err = np.array(ch7["nn_p_dissociated"]), np.array(ch7["nn_err_dissociated"])
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(err, np.sqrt(p * (1 - p) / ch7["n_per_energy"]))
    assert 0.8 < ch7["same_outcome"] <= 1


def test_ch7_paired_comparison_is_consistent(ch7):
    n = ch7["n_per_energy"]
    p_ref = dict(zip(ch7["energies"], ch7["p_dissociated"]))
    diff, se = np.array(ch7["paired_diff"]), np.array(ch7["paired_se"])
    for E, p_nn, d in zip(ch7["nn_energies"], ch7["nn_p_dissociated"], diff):
        assert d == pytest.approx(p_nn - p_ref[E], abs=1e-9)  # mean of paired differences
    # d_i in {-1, 0, 1}: var(d) <= mean(|d|) <= 1 - same_outcome summed over energies
    assert np.all(se >= 0) and np.all(se <= np.sqrt(n / (n - 1)) / np.sqrt(n))
    assert ch7["paired_within"] == int(np.sum(np.abs(diff) <= se))
    assert ch7["nn_n_energies"] == len(ch7["nn_energies"])


def test_ch7_steering_is_shown_by_the_trajectories(ch7):
    assert ch7["steer_cos_start"] > 0.85  # they started upright
    assert ch7["steer_n_broken"] >= 5
    assert ch7["steer_cos_break"] < 0.5  # turned towards flat before the bond broke


def test_ch7_ase_and_our_integrator_agree(ch7):
    assert ch7["ase_deviation"] < 1e-6  # Å, same algorithm, forces and masses
    assert ch7["ase_steps"] > 100
    assert ch7["ase_kin_max"] > 0.5 and ch7["ase_pot_min"] < -0.5  # it did dissociate
