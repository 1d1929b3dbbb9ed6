"""course_utils.schnet: symmetry, locality and gradient tests of the SchNet-style potential."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from course_utils.potentials import energy_and_forces
from course_utils.schnet import (
    EnergyForceLoss,
    GaussianRBF,
    SchNet,
    _WithForces,
    cosine_cutoff,
    train_potential,
)

ETHANOL_Z = [6, 6, 8, 1, 1, 1, 1, 1, 1]
ETHANOL = np.array(
    [
        [1.1879, -0.3829, 0.0],
        [0.0, 0.5526, 0.0],
        [-1.1867, -0.2472, 0.0],
        [-1.9237, 0.3850, 0.0],
        [0.0209, 1.1828, 0.8929],
        [0.0209, 1.1828, -0.8929],
        [2.1181, 0.1772, 0.0],
        [1.1350, -1.0171, 0.8856],
        [1.1350, -1.0171, -0.8856],
    ]
)


@pytest.fixture
def one_thread():
    """Train on one thread: tiny batches gain nothing from more, and on a busy machine
    spinning OpenMP threads slow training down many times."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = SchNet(ETHANOL_Z, n_features=16, n_rbf=12, n_interactions=2).double()
    # make the untrained network's output large enough for the tests to mean something
    m.energy_scale.fill_(3.0)
    return m


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    return ETHANOL[None] + rng.normal(scale=0.1, size=(4, 9, 3))


def test_maps_positions_to_one_energy_per_configuration(model, batch):
    e = model(torch.as_tensor(batch))
    assert e.shape == (4,) and e.dtype == torch.float64
    assert e.std() > 1e-3  # different geometries, different energies
    atomic = model.atomic_energies(torch.as_tensor(batch))
    assert atomic.shape == (4, 9)
    torch.testing.assert_close(atomic.sum(-1), e)


def test_rotation_and_translation_leave_the_energy_unchanged_and_rotate_the_forces(model, batch):
    e, f = energy_and_forces(model, batch)
    rot = Rotation.random(random_state=2).as_matrix()
    moved = batch @ rot.T + np.array([3.0, -1.0, 7.5])
    e2, f2 = energy_and_forces(model, moved)
    np.testing.assert_allclose(e2, e, rtol=0, atol=1e-10)
    np.testing.assert_allclose(f2, f @ rot.T, atol=1e-10)


def test_permuting_identical_atoms_permutes_the_forces(model, batch):
    e, f = energy_and_forces(model, batch)
    # hydrogens only: swap a methyl H with the hydroxyl H, and two methylene Hs
    perm = np.array([0, 1, 2, 6, 5, 4, 3, 7, 8])
    e2, f2 = energy_and_forces(model, batch[:, perm])
    np.testing.assert_allclose(e2, e, atol=1e-10)
    np.testing.assert_allclose(f2, f[:, perm], atol=1e-10)
    # swapping a carbon with a hydrogen is a different molecule
    swap = np.array([3, 1, 2, 0, 4, 5, 6, 7, 8])
    e3, _ = energy_and_forces(model, batch[:, swap])
    assert np.all(np.abs(e3 - e) > 1e-6)


def test_forces_are_minus_the_finite_difference_gradient(model, batch):
    _, f = energy_and_forces(model, batch[:1])
    h = 1e-5
    numeric = np.zeros((9, 3))
    for a in range(9):
        for x in range(3):
            plus, minus = batch[:1].copy(), batch[:1].copy()
            plus[0, a, x] += h
            minus[0, a, x] -= h
            with torch.no_grad():
                ep = model(torch.as_tensor(plus)).item()
                em = model(torch.as_tensor(minus)).item()
            numeric[a, x] = -(ep - em) / (2 * h)
    assert np.abs(f[0]).max() > 1e-3
    np.testing.assert_allclose(f[0], numeric, atol=1e-7)


def test_an_atom_beyond_the_cutoff_does_not_feel_the_molecule():
    torch.manual_seed(0)
    m = SchNet(ETHANOL_Z, n_features=8, n_rbf=8, cutoff=3.0, n_interactions=2).double()
    far = ETHANOL.copy()
    far[3] = [-20.0, 0.0, 0.0]  # hydroxyl H far away
    farther = far.copy()
    farther[3] = [-25.0, 4.0, 1.0]
    e, f = energy_and_forces(m, np.stack([far, farther]))
    assert e[0] == pytest.approx(e[1], abs=1e-12)
    np.testing.assert_array_equal(f[:, 3], 0.0)


def test_cutoff_and_radial_basis():
    r = torch.tensor([0.0, 2.5, 5.0, 6.0])
    np.testing.assert_allclose(cosine_cutoff(r, 5.0).numpy(), [1.0, 0.5, 0.0, 0.0], atol=1e-7)
    rbf = GaussianRBF(11, 5.0)(r)
    assert rbf.shape == (4, 11)
    assert rbf[0, 0] == pytest.approx(1.0) and rbf[1, 5] == pytest.approx(1.0)


def test_energy_statistics_set_the_output_scale(model):
    energies = np.array([-310.0, -309.5, -309.0])
    model.set_energy_statistics(energies)
    assert model.energy_shift.item() == pytest.approx(-309.5 / 9)
    assert model.energy_scale.item() == pytest.approx(0.5)
    model.set_energy_statistics(energies, forces=np.full((3, 9, 3), -2.0))
    assert model.energy_scale.item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="two finite"):
        model.set_energy_statistics([1.0])


def test_wrong_inputs_are_rejected(model):
    with pytest.raises(ValueError, match=r"\(N, 9, 3\)"):
        model(torch.zeros(2, 8, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="atomic_numbers"):
        SchNet([0, 1])
    with pytest.raises(ValueError, match="cutoff"):
        SchNet([1, 1], cutoff=0.0)


def test_training_view_and_loss_agree_with_the_contract(model, batch):
    out = _WithForces(model, with_forces=True).eval()(torch.as_tensor(batch))
    e, f = energy_and_forces(model, batch)
    np.testing.assert_allclose(out[:, 0].detach().numpy(), e, atol=1e-12)
    np.testing.assert_allclose(out[:, 1:].detach().numpy(), f.reshape(4, -1), atol=1e-12)
    pred = torch.tensor([[1.0, 0.0, 2.0], [3.0, 1.0, 1.0]])
    target = torch.zeros(2, 3)
    # MSE(E) = (1 + 9)/2 = 5; MSE(F) = (0 + 4 + 1 + 1)/4 = 1.5
    assert EnergyForceLoss(2.0)(pred, target).item() == pytest.approx(5 + 2 * 1.5)
    assert EnergyForceLoss(2.0)(pred[:, :1], target[:, :1]).item() == pytest.approx(5)


def test_training_on_energies_and_forces_lowers_the_error(one_thread):
    # a toy target: harmonic springs between bonded atoms of ethanol
    rng = np.random.default_rng(0)
    pos = ETHANOL[None] + rng.normal(scale=0.05, size=(40, 9, 3))
    bonds = [(0, 1), (1, 2), (2, 3), (1, 4), (1, 5), (0, 6), (0, 7), (0, 8)]
    p = torch.tensor(pos, requires_grad=True)
    r0 = np.linalg.norm(ETHANOL[[i for i, _ in bonds]] - ETHANOL[[j for _, j in bonds]], axis=1)
    r = (p[:, [i for i, _ in bonds]] - p[:, [j for _, j in bonds]]).norm(dim=-1)
    energy = 10.0 * ((r - torch.tensor(r0)) ** 2).sum(-1)
    forces = -torch.autograd.grad(energy.sum(), p)[0]
    energy, forces = energy.detach().numpy(), forces.numpy()

    torch.manual_seed(0)
    m = SchNet(ETHANOL_Z, n_features=16, n_rbf=12, n_interactions=2)
    m.set_energy_statistics(energy)
    before = np.abs(energy_and_forces(m, pos)[1] - forces).mean()
    history = train_potential(
        m, pos, energy, forces, epochs=30, batch_size=10, learning_rates=(3e-3,), progress=False
    )
    after = np.abs(energy_and_forces(m, pos)[1] - forces).mean()
    assert len(history["train_loss"]) == 30
    assert history["train_loss"][-1] < 0.3 * history["train_loss"][0]
    assert after < 0.5 * before
    assert not m.training


def test_train_potential_rejects_mismatched_data(model, batch):
    with pytest.raises(ValueError, match="forces must have the shape"):
        train_potential(model, batch, np.zeros(4), np.zeros((4, 8, 3)), epochs=3)
    with pytest.raises(ValueError, match="energies"):
        train_potential(model, batch, np.zeros(3), epochs=3)
