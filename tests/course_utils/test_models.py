"""Tests of course_utils.models: the Gaussian descriptor and the lecture's LJ network."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils.models import GaussianExpansion, gaussian_mlp
from course_utils.training import count_parameters


def test_gaussian_expansion_values():
    g = GaussianExpansion(1.0, 2.0, 5)  # centres 1, 1.25, ..., 2; width 0.25
    assert torch.allclose(g.centres, torch.tensor([1.0, 1.25, 1.5, 1.75, 2.0]))
    assert g.width == pytest.approx(0.25)
    phi = g(torch.tensor([[1.5]]))
    assert phi.shape == (1, 5)
    assert phi[0, 2] == pytest.approx(1.0)  # on a centre
    assert phi[0, 1] == pytest.approx(math.exp(-0.5))  # one width away
    assert torch.allclose(phi[0], phi[0].flip(0))  # symmetric about the middle centre
    # 1-D input gives the same; far away every feature vanishes.
    assert torch.allclose(g(torch.tensor([1.5])), phi)
    assert g(torch.tensor([[10.0]])).max() < 1e-30


def test_gaussian_expansion_is_a_buffer_not_a_parameter():
    g = GaussianExpansion(0.8, 3.0, 47, width=0.1)
    assert count_parameters(g) == 0
    assert "centres" in g.state_dict()
    assert g.width == 0.1
    assert "n=47" in repr(g)


@pytest.mark.parametrize(
    "args, error",
    [
        ((2.0, 1.0, 5), ValueError),
        ((1.0, 2.0, 1), ValueError),
        ((1.0, 2.0, 5, 0.0), ValueError),
        ((1.0, 2.0, 4.0), TypeError),
    ],
)
def test_gaussian_expansion_bad_arguments(args, error):
    with pytest.raises(error):
        GaussianExpansion(*args)


def test_gaussian_expansion_rejects_matrix_input():
    with pytest.raises(ValueError, match="shape"):
        GaussianExpansion(0.0, 1.0, 3)(torch.zeros(4, 2))


def test_lecture_lj_network_has_6601_parameters():
    # 47 Gaussian features into two hidden layers of 60: the size quoted in the lecture.
    model = gaussian_mlp()
    assert count_parameters(model) == 6601
    assert isinstance(model[0], GaussianExpansion)
    linears = [m for m in model[1] if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(47, 60), (60, 60), (60, 1)]
    assert sum(isinstance(m, nn.GELU) for m in model[1]) == 2
    assert model(torch.linspace(1, 2, 7).reshape(-1, 1)).shape == (7, 1)


@pytest.mark.parametrize("width, depth, n_features", [(1, 1, 2), (8, 3, 10), (32, 2, 47)])
def test_gaussian_mlp_parameter_count(width, depth, n_features):
    expected = n_features * width + width + (depth - 1) * (width**2 + width) + width + 1
    assert count_parameters(gaussian_mlp(width, depth, n_features=n_features)) == expected


def test_gaussian_mlp_seed_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    a, b, c = gaussian_mlp(seed=1), gaussian_mlp(seed=1), gaussian_mlp(seed=2)
    assert torch.equal(torch.rand(2), expected)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(width=0), ValueError),
        (dict(depth=0), ValueError),
        (dict(width=2.5), TypeError),
        (dict(n_features=1), ValueError),
        (dict(activation="swishy"), ValueError),
    ],
)
def test_gaussian_mlp_bad_arguments(kwargs, error):
    with pytest.raises(error):
        gaussian_mlp(**kwargs)
