"""Tests for course_utils/checks/pes_refit.py: the checks behind the PES-refit exercise."""

import re

import numpy as np
import pytest
import torch
from nbgrader_pipeline import network_failure_cases
from torch import nn

import course_utils.checks.pes_refit as px
from course_utils.checks.pes_refit import (
    PES_RMSE_TIERS,
    check_collision,
    check_pes_model,
    check_rmse_tier,
    check_training_statistics,
    held_out_rmse,
    match_configurations,
    predict_energies,
)
from course_utils.pes import (
    A_SURF,
    BRIDGE,
    R_E,
    from_cartesian,
    load_pes_dataset,
    reference_energy,
    symmetry_coordinates,
    to_cartesian,
)


@pytest.fixture(scope="module")
def train_stats():
    coords, energy = load_pes_dataset("train", return_X_y=True)
    Q = symmetry_coordinates(coords)
    return Q.mean(0), Q.std(0), float(energy.mean()), float(energy.std())


class Lookup(nn.Module):
    """Knows the standardised energy of every configuration of a set (a perfect 'fit')."""

    def __init__(self, coords, energy, stats):
        super().__init__()
        x_mean, x_std, y_mean, y_std = stats
        x = (symmetry_coordinates(coords) - x_mean) / x_std
        self.table = {np.round(row, 4).tobytes(): (e - y_mean) / y_std for row, e in zip(x, energy)}
        self.dummy = nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, x):
        values = [self.table[np.round(row, 4).tobytes()] for row in x.numpy()]
        return torch.tensor(values, dtype=torch.float64) + 0 * self.dummy


class Hostile(nn.Module):
    def __init__(self, how, n_in=10):
        super().__init__()
        self.how = how
        self.layer = nn.Linear(n_in, 1)

    def forward(self, x):
        out = self.layer(x)
        if self.how == "wide":
            return out.expand(len(x), 10)
        if self.how == "transposed":
            return out.T.expand(2, len(x))
        if self.how == "nan":
            return out * float("nan")
        if self.how == "numpy":
            return out.detach().numpy()
        if self.how == "raise":
            raise RuntimeError("this network is broken")
        return out


def test_predict_energies_follows_the_calculator_convention(train_stats):
    from course_utils.pes import energy_and_forces

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 1))
    coords = load_pes_dataset("validation", n=20, return_X_y=True)[0]
    mine = predict_energies(model, coords, *train_stats)
    theirs, _ = energy_and_forces(
        to_cartesian(coords),
        model,
        x_mean=train_stats[0],
        x_std=train_stats[1],
        y_mean=train_stats[2],
        y_std=train_stats[3],
    )
    np.testing.assert_allclose(mine, theirs, atol=1e-5)
    assert model.training  # the mode is restored


@pytest.mark.parametrize(
    "model, fragment",
    [
        (Hostile("wide"), "shape (4000, 10)"),
        (Hostile("transposed"), "shape (2, 4000)"),
        (Hostile("plain", n_in=7), "naive coordinates"),
        *network_failure_cases(Hostile),
    ],
)
def test_hostile_models_fail_with_a_clear_message(model, fragment, train_stats):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        check_pes_model(model, *train_stats)
    with pytest.raises(AssertionError):
        check_rmse_tier(model, *train_stats, PES_RMSE_TIERS[0])


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda s: (s[0][:7], s[1], s[2], s[3]), "Seven values suggest the naive"),
        (lambda s: (s[0], s[1] * 0, s[2], s[3]), "x_std must be positive"),
        (lambda s: (s[0], s[1], np.nan, s[3]), "finite"),
        (lambda s: (s[0], s[1], s[2], "1.0 eV"), "should be a number"),
    ],
)
def test_bad_scaling_is_explained(change, fragment, train_stats):
    with pytest.raises(AssertionError, match=fragment):
        predict_energies(nn.Linear(10, 1), np.array([[0, 0, 2, R_E, 1, 0]]), *change(train_stats))


def test_tiers_pass_for_a_perfect_fit_and_fail_for_a_constant(train_stats, capsys):
    coords, energy = load_pes_dataset("test", return_X_y=True)
    perfect = Lookup(coords, energy, train_stats)
    assert held_out_rmse(perfect, *train_stats) < 1e-6
    for tier in PES_RMSE_TIERS:
        check_rmse_tier(perfect, *train_stats, tier)
    assert "tier is reached" in capsys.readouterr().out
    constant = nn.Linear(10, 1)
    nn.init.zeros_(constant.weight)
    nn.init.zeros_(constant.bias)  # always predicts y_mean: RMSE = spread of the energies
    rmse = held_out_rmse(constant, *train_stats)
    assert 1000 * energy.std() <= rmse < 1000 * energy.std() + 100
    with pytest.raises(AssertionError, match="above the 500 meV tier"):
        check_rmse_tier(constant, *train_stats, 500)
    with pytest.raises(ValueError):
        check_rmse_tier(constant, *train_stats, 0)
    assert list(PES_RMSE_TIERS) == sorted(PES_RMSE_TIERS, reverse=True)


def test_training_statistics_accept_training_data_only(train_stats):
    x_mean, x_std, y_mean, y_std = train_stats
    check_training_statistics(*train_stats)
    coords, energy = load_pes_dataset("train", return_X_y=True)
    Q = symmetry_coordinates(coords)
    check_training_statistics(
        torch.tensor(x_mean, dtype=torch.float32), Q.std(0, ddof=1), y_mean, energy.std(ddof=1)
    )  # torch style
    every = load_pes_dataset("all", return_X_y=True)
    Q_all = symmetry_coordinates(every[0])
    with pytest.raises(AssertionError, match="leak"):
        check_training_statistics(Q_all.mean(0), Q_all.std(0), y_mean, y_std)
    with pytest.raises(AssertionError, match="leak"):
        check_training_statistics(x_mean, x_std, float(every[1].mean()), float(every[1].std()))
    with pytest.raises(AssertionError, match="Keep energies in eV"):
        check_training_statistics(x_mean, x_std, y_mean * 96.485, y_std * 96.485)


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
    with pytest.raises(AssertionError, match="differ only in phi"):
        check_collision(np.stack([along, across]))
    exchanged = tilted + [0, 0, 0, 0, np.pi / 3, np.pi]  # a symmetry: same energy
    exchanged[4] = np.pi - tilted[4]
    with pytest.raises(AssertionError, match="differ by less than"):
        check_collision(np.stack([tilted, exchanged]))
    with pytest.raises(AssertionError, match="no collision"):
        check_collision(np.stack([tilted, tilted + [0.1, 0, 0, 0, 0, 0]]))
    with pytest.raises(AssertionError, match="at most 2.0 eV"):
        low = np.array([1.0, 1.0, 0.9, 1.35, np.pi / 3, np.pi / 4])
        check_collision(np.stack([low, low * [1, 1, 1, 1, 0, 1] + [0, 0, 0, 0, 2 * np.pi / 3, 0]]))
    with pytest.raises(AssertionError, match=r"shape \(2, 6\)"):
        check_collision(tilted)


def test_checks_cannot_be_replaced():
    with pytest.raises(AttributeError, match="read-only"):
        px.check_rmse_tier = lambda *args: None
