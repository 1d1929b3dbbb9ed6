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

from course_utils import pes

pytestmark = pytest.mark.slow

CH6 = "chapters/06_nn_potentials.ipynb"
CH7 = "chapters/07_gas_surface_dynamics.ipynb"


@pytest.fixture(scope="module")
def ch6(glued):
    return glued(CH6)


@pytest.fixture(scope="module")
def ch7(glued):
    return glued(CH7)


# --------------------------------------------------------------------------- chapter 6


def test_ch6_cost_estimates_follow_from_their_inputs(ch6):
    assert ch6["mass_ratio"] == pytest.approx(pes.O_MASS * units._amu / units._me)
    assert ch6["speed_ratio"] == pytest.approx(math.sqrt(ch6["mass_ratio"]))
    assert ch6["dft_years"] == pytest.approx(1e6 * 10 / (60 * 24 * 365.25))
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


def test_ch6_pes_features_agree_with_the_module(ch6):
    E, Z, r = ch6["precursor_E"], ch6["precursor_Z"], ch6["precursor_r"]
    # the minimiser's answer: flat over the bridge, bond along Pd-Pd, as the prose says
    at_bridge = float(pes.reference_energy([pes.A_SURF / 2, 0.0, Z, r, math.pi / 2, 0.0]))
    assert E == pytest.approx(at_bridge, abs=1e-3)
    assert -1.0 < E < -0.85 and 1.6 < Z < 1.95 and 1.25 < r < 1.45
    assert 0.05 < ch6["barrier_along"] < 0.12
    assert ch6["barrier_max_nonactivated"] < 0  # non-activated paths exist
    for site in ("top", "bridge", "hollow"):
        expected = float(pes.atom_surface_energy(*pes.SITES[site], pes.SITE_HEIGHT[site]))
        assert ch6[f"E_{site}"] == pytest.approx(expected)
    assert ch6["E_hollow"] < ch6["E_bridge"] < ch6["E_top"] < 0
    for name in ("E_neighbouring", "E_diagonal"):
        assert -2.7 < ch6[name] < -2.4  # about 2.6 eV released on dissociation


def test_ch6_cut_fit_is_good_inside_and_bad_outside_its_data(ch6):
    # 2-32-32-1: (2*32 + 32) + (32*32 + 32) + (32 + 1)
    assert ch6["cut_params"] == 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1
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
    assert ch7["nn_rmse_meV"] < 250  # a quick fit, and the prose says so
    assert ch7["nn_params"] == 10 * 64 + 64 + 64 * 64 + 64 + 64 + 1
    assert set(ch7["nn_energies"]) <= set(ch7["energies"])
    assert ch7["nn_counts"] == [ch7["n_per_energy"]] * len(ch7["nn_energies"])
    p, err = np.array(ch7["nn_p_dissociated"]), np.array(ch7["nn_err_dissociated"])
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(err, np.sqrt(p * (1 - p) / ch7["n_per_energy"]))
    assert 0.5 < ch7["same_outcome"] <= 1


def test_ch7_ase_and_our_integrator_agree(ch7):
    assert ch7["ase_deviation"] < 1e-6  # Å, same algorithm, forces and masses
    assert ch7["ase_steps"] > 100
    assert ch7["ase_kin_max"] > 0.5 and ch7["ase_pot_min"] < -0.5  # it did dissociate
