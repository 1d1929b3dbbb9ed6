"""Tests for course_utils/checks/pes_refit.py: the checks behind the PES-refit exercise."""

import re

import numpy as np
import pytest
import torch
from nbgrader_pipeline import network_failure_cases
from torch import nn

import course_utils.checks.pes_refit as px
from course_utils.checks.pes_refit import (
    MIN_EPOCHS,
    PES_RMSE_TIERS,
    check_collision,
    check_energy_force_loss,
    check_potential,
    check_rmse_tier,
    check_shape,
    check_training_finished,
    check_training_statistics,
    energies_and_forces,
    fresh_test_rmse,
    held_out_rmse,
    match_configurations,
    predict_energies,
)
from course_utils.pes import (
    A_SURF,
    BRIDGE,
    AtomCentredPotential,
    ReferencePotential,
    atom_centred_features,
    from_cartesian,
    load_pes_dataset,
    reference_energy,
    reference_forces,
    to_cartesian,
)


@pytest.fixture(scope="module")
def train_stats():
    coords, energy = load_pes_dataset("train", return_X_y=True)
    f = atom_centred_features(to_cartesian(coords))
    return f.mean(0), f.std(0), float(energy.mean()), float(energy.std())


class Hostile(nn.Module):
    """A 'potential' of positions (N, 2, 3) that misbehaves as ``how`` says."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.layer = nn.Linear(6, 1).double()

    def forward(self, positions):
        out = self.layer(positions.reshape(len(positions), 6))
        if self.how == "column":
            return out
        if self.how == "detached":
            return out[:, 0].detach()
        if self.how == "ordered":  # not symmetric in the two atoms
            return out[:, 0]
        if self.how == "nan":
            return out[:, 0] * float("nan")
        if self.how == "numpy":
            return out.detach().numpy()
        if self.how == "raise":
            raise RuntimeError("this network is broken")
        return out[:, 0]


def test_shape_messages_name_both_shapes():
    with pytest.raises(AssertionError) as info:
        check_shape(torch.zeros(4000), (4000, 1), "y_train")
    assert str(info.value) == "y_train should have shape (4000, 1), but it has shape (4000,)."
    check_shape(np.zeros((8, 6)), (8, 6), "images")
    with pytest.raises(AssertionError, match=re.escape("have shape (8, 6), but it has shape (6,)")):
        check_shape([1, 2, 3, 4, 5, 6], (8, 6), "images")


def test_energies_and_forces_of_the_reference_are_the_reference():
    coords = load_pes_dataset("validation", n=20, return_X_y=True)[0]
    energy, force = energies_and_forces(ReferencePotential(), to_cartesian(coords))
    np.testing.assert_allclose(energy, reference_energy(coords), atol=1e-10)
    np.testing.assert_allclose(force, reference_forces(coords), atol=1e-8)
    np.testing.assert_allclose(predict_energies(ReferencePotential(), coords), energy)


def test_a_fresh_potential_follows_the_contract(train_stats, capsys):
    torch.manual_seed(0)
    potential = AtomCentredPotential((8,), x_mean=train_stats[0], x_std=train_stats[1])
    potential.train()
    check_potential(potential)
    assert "follows the contract" in capsys.readouterr().out
    assert potential.training  # the mode is restored


@pytest.mark.parametrize(
    "potential, fragment",
    [
        (Hostile("column"), "should have shape (4000,), but it has shape (4000, 1)"),
        (Hostile("detached"), "no forces"),
        (Hostile("ordered"), "exchanging the two O atoms"),
        *network_failure_cases(Hostile),
    ],
)
def test_hostile_potentials_fail_with_a_clear_message(potential, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        check_potential(potential)
    with pytest.raises(AssertionError):
        check_rmse_tier(potential, PES_RMSE_TIERS[0])


class Lookup(nn.Module):
    """Knows the energy of every configuration of a set (a perfect 'fit')."""

    def __init__(self, coords, energy):
        super().__init__()
        keys = np.round(to_cartesian(coords).reshape(len(coords), 6), 6)
        self.table = {k.tobytes(): e for k, e in zip(keys, energy)}
        self.dummy = nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, positions):
        keys = np.round(positions.detach().numpy().reshape(len(positions), 6), 6)
        values = [self.table[k.tobytes()] for k in keys]
        return torch.tensor(values, dtype=torch.float64) + 0 * self.dummy


def test_tiers_pass_for_a_perfect_fit_and_fail_for_a_constant(capsys):
    coords, energy = load_pes_dataset("test", return_X_y=True)
    perfect = Lookup(coords, energy)
    assert held_out_rmse(perfect) < 1e-6
    for tier in PES_RMSE_TIERS:
        check_rmse_tier(perfect, tier)
    assert "tier is reached" in capsys.readouterr().out
    constant = AtomCentredPotential((4,), y_mean=float(energy.mean()))
    nn.init.zeros_(constant.net[-1].weight)
    nn.init.zeros_(constant.net[-1].bias)  # always predicts y_mean: RMSE = spread of energies
    assert held_out_rmse(constant) == pytest.approx(1000 * energy.std(), rel=1e-6)
    with pytest.raises(AssertionError, match="above the 500 meV tier"):
        check_rmse_tier(constant, 500)
    with pytest.raises(ValueError):
        check_rmse_tier(constant, 0)
    assert list(PES_RMSE_TIERS) == sorted(PES_RMSE_TIERS, reverse=True)


def test_the_fresh_test_set_depends_on_the_seed_only():
    reference = ReferencePotential()
    assert fresh_test_rmse(reference, 7, n=50) < 1e-6
    a = load_pes_dataset("test", n=50, seed=7, return_X_y=True)[0]
    b = load_pes_dataset("test", n=50, seed=8, return_X_y=True)[0]
    assert not np.allclose(a, b)
    shifted = AtomCentredPotential((4,), y_mean=0.1)
    nn.init.zeros_(shifted.net[-1].weight)
    nn.init.zeros_(shifted.net[-1].bias)
    energy = load_pes_dataset("test", n=50, seed=7, return_X_y=True)[1]
    expected = 1000 * np.sqrt(np.mean((0.1 - energy) ** 2))
    assert fresh_test_rmse(shifted, 7, n=50) == pytest.approx(expected, rel=1e-9)


def _loss(net, x, jac, y, forces, force_weight=1.0):
    x = x.detach().requires_grad_(True)
    energy = net(x)
    (grad,) = torch.autograd.grad(energy.sum(), x, create_graph=True)
    predicted = -torch.einsum("bk,bkj->bj", grad, jac)
    return ((energy - y) ** 2).mean() + force_weight * ((predicted - forces) ** 2).mean()


def test_the_loss_check_wants_the_force_term_and_its_gradient():
    check_energy_force_loss(_loss)

    def energy_only(net, x, jac, y, forces, force_weight=1.0):
        return ((net(x) - y) ** 2).mean()

    def no_graph(net, x, jac, y, forces, force_weight=1.0):
        x = x.detach().requires_grad_(True)
        energy = net(x)
        (grad,) = torch.autograd.grad(energy.sum(), x, retain_graph=True)  # no create_graph
        predicted = -torch.einsum("bk,bkj->bj", grad, jac)
        return ((energy - y) ** 2).mean() + force_weight * ((predicted - forces) ** 2).mean()

    def wrong_sign(net, x, jac, y, forces, force_weight=1.0):
        return _loss(net, x, -jac, y, forces, force_weight)

    with pytest.raises(AssertionError, match="force_weight=1.0"):
        check_energy_force_loss(energy_only)
    with pytest.raises(AssertionError, match="create_graph=True"):
        check_energy_force_loss(no_graph)
    with pytest.raises(AssertionError, match="should be"):
        check_energy_force_loss(wrong_sign)
    with pytest.raises(AssertionError, match="failed"):
        check_energy_force_loss(lambda *args: 1 / 0)


def test_training_history_must_show_a_finished_fit(capsys):
    check_training_finished(list(np.geomspace(10, 0.1, MIN_EPOCHS)))
    assert f"ran {MIN_EPOCHS} epochs" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="0 epochs: the training stopped early"):
        check_training_finished([])
    with pytest.raises(AssertionError, match="stopped early"):
        check_training_finished(np.geomspace(10, 0.1, MIN_EPOCHS - 1))
    with pytest.raises(AssertionError, match="NaN"):
        check_training_finished([1.0] * (MIN_EPOCHS - 1) + [np.nan])
    with pytest.raises(AssertionError, match="did not converge"):
        check_training_finished([1.0] * MIN_EPOCHS)
    with pytest.raises(AssertionError, match="list"):
        check_training_finished({"train_loss": [1.0]})


def test_training_statistics_accept_training_data_only(train_stats):
    x_mean, x_std, y_mean, y_std = train_stats
    check_training_statistics(*train_stats)
    coords, energy = load_pes_dataset("train", return_X_y=True)
    f = atom_centred_features(to_cartesian(coords))
    check_training_statistics(
        torch.tensor(x_mean, dtype=torch.float32), f.std(0, ddof=1), y_mean, energy.std(ddof=1)
    )  # torch style
    every = load_pes_dataset("all", return_X_y=True)
    f_all = atom_centred_features(to_cartesian(every[0]))
    with pytest.raises(AssertionError, match="leak"):
        check_training_statistics(f_all.mean(0), f_all.std(0), y_mean, y_std)
    with pytest.raises(AssertionError, match="leak"):
        check_training_statistics(x_mean, x_std, float(every[1].mean()), float(every[1].std()))
    with pytest.raises(AssertionError, match="Keep energies in eV"):
        check_training_statistics(x_mean, x_std, y_mean * 96.485, y_std * 96.485)
    with pytest.raises(AssertionError, match="Ten values suggest the symmetry coordinates"):
        check_training_statistics(x_mean[:10], x_std[:10], y_mean, y_std)


def _c4v(c):
    out = []
    for m in (
        [[1, 0], [0, 1]],
        [[0, -1], [1, 0]],
        [[-1, 0], [0, -1]],
        [[0, 1], [-1, 0]],
        [[-1, 0], [0, 1]],
        [[1, 0], [0, -1]],
        [[0, 1], [1, 0]],
        [[0, -1], [-1, 0]],
    ):
        p = to_cartesian(c)
        p[:, :2] = p[:, :2] @ np.array(m, float).T
        out.append(from_cartesian(p))
    return np.array(out)


def test_match_configurations_up_to_order_translation_and_exchange():
    c = np.array([0.3, 1.1, 1.7, 1.3, 0.8, 2.2])
    images = _c4v(c)
    # images really are symmetric copies, and distinct
    np.testing.assert_allclose(reference_energy(images), reference_energy(c), atol=1e-9)
    moved = images[::-1].copy()
    moved[:, 0] += A_SURF * np.arange(8)  # lattice translations
    moved[::2, 4] = np.pi - moved[::2, 4]  # O-O exchange of every other row
    moved[::2, 5] += np.pi
    match_configurations(moved, images, "moved")
    with pytest.raises(AssertionError, match="misses the configuration"):
        match_configurations(np.tile(c, (8, 1)), images, "copies")
    with pytest.raises(AssertionError, match="shape"):
        match_configurations(images[:7], images, "seven")
    with pytest.raises(AssertionError, match="invalid coordinates"):
        bad = images.copy()
        bad[0, 3] = -1.0
        match_configurations(bad, images, "negative r")


def test_check_collision(capsys):
    tilted = np.array([1.0, 1.0, 1.6, 1.35, np.pi / 3, np.pi / 4])
    flipped = tilted.copy()
    flipped[4] = np.pi - tilted[4]
    check_collision(np.stack([tilted, flipped]))
    assert "A collision" in capsys.readouterr().out
    along = np.array([BRIDGE[0], BRIDGE[1], 1.8, 1.34, np.pi / 2, 0.0])
    across = along + [0, 0, 0, 0, 0, np.pi / 2]  # chapter 6's example
    # chapter 6's turn, dressed up: a lattice translation, a C4v operation (the other
    # bridge), the O-O exchange; all have the same Q1..Q7 and differ in energy
    dressed = [
        across,
        across + [A_SURF, -2 * A_SURF, 0, 0, 0, 0],
        np.array([0.0, BRIDGE[0], 1.8, 1.34, np.pi / 2, 0.0]),
        np.array([BRIDGE[0] - A_SURF, BRIDGE[1], 1.8, 1.34, np.pi / 2, 3 * np.pi / 2]),
    ]
    for other in dressed:
        pair = np.stack([along, other])
        np.testing.assert_allclose(*px.symmetry_coordinates(pair, naive=True), atol=1e-9)
        with pytest.raises(AssertionError, match="turned in place by 90 degrees"):
            check_collision(pair)
    tilted_turn = tilted + [A_SURF, 0, 0, 0, 0, np.pi / 2]  # a tilted molecule turned too
    with pytest.raises(AssertionError, match="turned in place by 90 degrees"):
        check_collision(np.stack([tilted, tilted_turn]))
    exchanged = tilted + [0, 0, 0, 0, np.pi / 3, np.pi]  # a symmetry: same energy
    exchanged[4] = np.pi - tilted[4]
    with pytest.raises(AssertionError, match="differ by less than"):
        check_collision(np.stack([tilted, exchanged]))
    with pytest.raises(AssertionError, match="no collision"):
        check_collision(np.stack([tilted, tilted + [0.1, 0, 0, 0, 0, 0]]))
    with pytest.raises(AssertionError, match="at most 2.0 eV"):
        low = np.array([1.0, 1.0, 0.9, 1.35, np.pi / 3, np.pi / 4])
        check_collision(np.stack([low, low * [1, 1, 1, 1, 0, 1] + [0, 0, 0, 0, 2 * np.pi / 3, 0]]))
    with pytest.raises(AssertionError, match=re.escape("shape (2, 6), but it has shape (6,)")):
        check_collision(tilted)


def test_checks_cannot_be_replaced():
    with pytest.raises(AttributeError, match="read-only"):
        px.check_rmse_tier = lambda *args: None
