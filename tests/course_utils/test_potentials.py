"""course_utils.potentials: the fitted-potential contract and its ASE calculator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.md.verlet import VelocityVerlet
from torch import nn

from course_utils.potentials import TorchPotentialCalculator, energy_and_forces


class HarmonicPairs(nn.Module):
    """E = sum_{i<j} k/2 (|r_i - r_j| - r0)^2: analytic forces to compare with."""

    def __init__(self, k: float = 2.0, r0: float = 1.2, numbers=None, dropout: float = 0.0):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(k, dtype=torch.float64))
        self.r0 = r0
        self.dropout = nn.Dropout(dropout)
        if numbers is not None:
            self.atomic_numbers = torch.as_tensor(numbers)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        d = positions[:, :, None, :] - positions[:, None, :, :]
        n = positions.shape[1]
        i, j = torch.triu_indices(n, n, offset=1)
        r = d[:, i, j].norm(dim=-1)
        pair = 0.5 * self.k * (r - self.r0) ** 2
        return self.dropout(pair).sum(dim=-1)


def analytic(positions: np.ndarray, k: float = 2.0, r0: float = 1.2):
    n_conf, n, _ = positions.shape
    energies = np.zeros(n_conf)
    forces = np.zeros_like(positions)
    for c in range(n_conf):
        for a in range(n):
            for b in range(a + 1, n):
                v = positions[c, a] - positions[c, b]
                r = np.linalg.norm(v)
                energies[c] += 0.5 * k * (r - r0) ** 2
                f = -k * (r - r0) * v / r  # force on a
                forces[c, a] += f
                forces[c, b] -= f
    return energies, forces


@pytest.fixture
def positions():
    return np.random.default_rng(0).normal(scale=1.0, size=(5, 4, 3))


def test_energies_and_forces_match_the_analytic_pair_potential(positions):
    e, f = energy_and_forces(HarmonicPairs(), positions)
    e_ref, f_ref = analytic(positions)
    assert e.shape == (5,) and f.shape == (5, 4, 3)
    assert e.dtype == np.float64 and f.dtype == np.float64
    np.testing.assert_allclose(e, e_ref, rtol=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10, atol=1e-12)


def test_numpy_and_torch_input_agree_and_batching_changes_nothing(positions):
    model = HarmonicPairs()
    e1, f1 = energy_and_forces(model, positions)
    e2, f2 = energy_and_forces(model, torch.tensor(positions, requires_grad=True))
    e3, f3 = energy_and_forces(model, positions, batch_size=2)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_allclose(e1, e3, rtol=1e-14)
    np.testing.assert_allclose(f1, f3, rtol=1e-14)


def test_float32_potential_is_evaluated_in_its_own_dtype(positions):
    model = HarmonicPairs().float()
    e, f = energy_and_forces(model, positions)
    e_ref, f_ref = analytic(positions)
    assert e.dtype == np.float64
    np.testing.assert_allclose(e, e_ref, rtol=1e-5)
    np.testing.assert_allclose(f, f_ref, rtol=1e-4, atol=1e-5)


def test_eval_mode_is_used_and_training_flags_are_restored(positions):
    model = HarmonicPairs(dropout=0.5)
    model.train()
    model.dropout.eval()  # a mixed state must come back exactly as it was
    e_a, _ = energy_and_forces(model, positions)
    model.dropout.train()
    e_b, _ = energy_and_forces(model, positions)  # dropout would change this if active
    np.testing.assert_array_equal(e_a, e_b)
    np.testing.assert_allclose(e_a, analytic(positions)[0], rtol=1e-12)
    assert model.training and model.dropout.training
    model.dropout.eval()
    energy_and_forces(model, positions)
    assert model.training and not model.dropout.training


def test_no_gradient_is_left_in_the_parameters(positions):
    model = HarmonicPairs()
    energy_and_forces(model, positions)
    assert model.k.grad is None


def test_works_inside_no_grad(positions):
    with torch.no_grad():
        _, f = energy_and_forces(HarmonicPairs(), positions)
    np.testing.assert_allclose(f, analytic(positions)[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 3)), r"positions\[None\]"),
        (np.zeros((2, 4, 2)), r"\(N, n_atoms, 3\)"),
        (np.zeros((2, 4, 3, 1)), r"\(N, n_atoms, 3\)"),
        (np.zeros((0, 4, 3)), "empty"),
        (np.full((1, 4, 3), np.nan), "NaN"),
        ([["a", "b", "c"]], "numeric"),
    ],
)
def test_wrong_positions_are_rejected_with_a_hint(bad, match):
    with pytest.raises(ValueError, match=match):
        energy_and_forces(HarmonicPairs(), bad)


def test_wrong_output_shape_and_wrong_potential_are_rejected(positions):
    class Column(HarmonicPairs):
        def forward(self, positions):
            return super().forward(positions)[:, None]

    with pytest.raises(ValueError, match="one energy per configuration"):
        energy_and_forces(Column(), positions)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        energy_and_forces(lambda p: p.sum((1, 2)), positions)
    with pytest.raises(ValueError, match="batch_size"):
        energy_and_forces(HarmonicPairs(), positions, batch_size=0)


def _water_like() -> Atoms:
    return Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0.05]])


def test_calculator_reproduces_energy_and_forces():
    atoms = _water_like()
    atoms.calc = TorchPotentialCalculator(HarmonicPairs(numbers=[8, 1, 1]))
    e_ref, f_ref = analytic(atoms.positions[None])
    assert atoms.get_potential_energy() == pytest.approx(e_ref[0], rel=1e-12)
    assert atoms.get_potential_energy(force_consistent=True) == pytest.approx(e_ref[0])
    np.testing.assert_allclose(atoms.get_forces(), f_ref[0], rtol=1e-10, atol=1e-12)
    assert set(TorchPotentialCalculator.implemented_properties) >= {"energy", "forces"}


def test_calculator_forces_are_minus_the_finite_difference_gradient():
    atoms = _water_like()
    atoms.calc = TorchPotentialCalculator(HarmonicPairs())
    forces = atoms.get_forces()
    h = 1e-5
    numeric = np.zeros_like(forces)
    for a in range(len(atoms)):
        for x in range(3):
            shifted = atoms.copy()
            shifted.calc = atoms.calc
            shifted.positions[a, x] += h
            e_plus = shifted.get_potential_energy()
            shifted.positions[a, x] -= 2 * h
            e_minus = shifted.get_potential_energy()
            numeric[a, x] = -(e_plus - e_minus) / (2 * h)
    np.testing.assert_allclose(forces, numeric, atol=1e-7)


def test_subset_sees_only_its_atoms_and_the_frame_feels_no_force():
    molecule = _water_like()
    frame = Atoms("Pd4", positions=np.random.default_rng(1).normal(size=(4, 3)) * 3 - 5)
    system = frame + molecule  # the molecule is atoms 4, 5, 6
    calc = TorchPotentialCalculator(HarmonicPairs(numbers=[8, 1, 1]), indices=[4, 5, 6])
    system.calc = calc
    e_ref, f_ref = analytic(molecule.positions[None])
    assert system.get_potential_energy() == pytest.approx(e_ref[0], rel=1e-12)
    forces = system.get_forces()
    np.testing.assert_array_equal(forces[:4], 0.0)
    np.testing.assert_allclose(forces[4:], f_ref[0], rtol=1e-10, atol=1e-12)
    system.positions[:4] += 1.0  # moving the frame changes nothing
    assert system.get_potential_energy() == pytest.approx(e_ref[0], rel=1e-12)


def test_subset_order_is_the_order_given():
    system = Atoms("H2O", positions=[[0.96, 0, 0], [-0.24, 0.93, 0.05], [0, 0, 0]])
    system.calc = TorchPotentialCalculator(HarmonicPairs(numbers=[8, 1, 1]), indices=[-1, 0, 1])
    assert system.get_potential_energy() == pytest.approx(
        analytic(system.positions[[2, 0, 1]][None])[0][0]
    )


def test_calculator_rejects_wrong_atoms_and_indices():
    atoms = _water_like()
    atoms.calc = TorchPotentialCalculator(HarmonicPairs(numbers=[1, 8, 1]))
    with pytest.raises(ValueError, match="atomic numbers"):
        atoms.get_potential_energy()
    for bad, match in (([0, 7], "out of range"), ([0, 0], "repeat"), ([], "non-empty")):
        atoms.calc = TorchPotentialCalculator(HarmonicPairs(), indices=bad)
        with pytest.raises(ValueError, match=match):
            atoms.get_potential_energy()
    with pytest.raises(TypeError, match="torch.nn.Module"):
        TorchPotentialCalculator("not a model")


def test_changing_indices_resets_the_results():
    system = Atoms("H3", positions=[[0, 0, 0], [1.0, 0, 0], [0, 3.0, 0]])
    calc = TorchPotentialCalculator(HarmonicPairs(), indices=[0, 1])
    system.calc = calc
    e_two = system.get_potential_energy()
    calc.set(indices=None)
    e_three = system.get_potential_energy()
    assert e_two == pytest.approx(analytic(system.positions[None, :2])[0][0])
    assert e_three == pytest.approx(analytic(system.positions[None])[0][0])


def test_velocity_verlet_with_the_calculator_conserves_energy():
    # near-equilateral H3 with 1.2 Å springs: total energy must stay flat while
    # the potential energy oscillates
    atoms = Atoms("H3", positions=[[0, 0, 0], [1.25, 0, 0], [0.6, 1.0, 0.05]])
    atoms.calc = TorchPotentialCalculator(HarmonicPairs(k=5.0))
    atoms.set_velocities(np.random.default_rng(2).normal(scale=0.01, size=(3, 3)))
    total, potential = [], []

    def record():
        total.append(atoms.get_total_energy())
        potential.append(atoms.get_potential_energy())

    dyn = VelocityVerlet(atoms, timestep=0.1 * units.fs)
    dyn.attach(record, interval=2)
    dyn.run(400)
    assert np.ptp(potential) > 1e-3
    assert np.ptp(total) < 1e-3 * np.ptp(potential)
