"""course_utils.schnet_stacked: M SchNet networks trained side by side are M networks
trained alone."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from course_utils.schnet import SchNet
from course_utils.schnet_stacked import (
    _batches,
    _member_tensors,
    stacked_energies,
    train_stacked_potentials,
)

Z = [6, 6, 8, 1, 1, 1, 1, 1, 1]
LRS = (5e-3, 1e-3)


@pytest.fixture(scope="module")
def frames():
    """20 distorted ethanol-like geometries with made-up smooth energies and their forces."""
    rng = np.random.default_rng(0)
    base = rng.normal(scale=1.2, size=(9, 3))
    p = torch.tensor(base[None] + rng.normal(scale=0.08, size=(20, 9, 3)), requires_grad=True)
    d = torch.cdist(p, p) + torch.eye(9)
    e = (1.0 / d).triu(1).sum((1, 2))  # Coulomb-like sum over pairs, eV
    (g,) = torch.autograd.grad(e.sum(), p)
    return p.detach().numpy(), e.detach().numpy(), -g.numpy()


def networks(seeds, frames=None):
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = SchNet(Z, n_features=8, n_rbf=6, n_interactions=2).double()
        if frames is not None:
            net.set_energy_statistics(frames[1][:10] + seed)  # a different shift per member
        out.append(net)
    return out


def test_stacked_energies_are_those_of_each_network(frames):
    nets = networks([0, 1, 2], frames)
    tensors = [torch.stack(group) for group in zip(*(_member_tensors(n) for n in nets))]
    shift = torch.stack([n.energy_shift for n in nets])
    scale = torch.stack([n.energy_scale for n in nets])
    x = torch.tensor(frames[0][:15].reshape(3, 5, 9, 3))  # member m gets its own 5 frames
    with torch.no_grad():
        stacked = stacked_energies(nets[0], tensors, shift, scale, x)
        alone = torch.stack([n(x[m]) for m, n in enumerate(nets)])
    assert stacked.shape == (3, 5)
    assert torch.allclose(stacked, alone, rtol=0, atol=1e-12)
    assert alone.std(0).min() > 1e-3  # the members really differ


def train_alone(net, frames, idx, force_weight, steps):
    """The reference: torch.optim.Adam on one network through its own forward."""
    p, e, f = (torch.tensor(a) for a in frames)
    optimizer = torch.optim.Adam(net.parameters(), lr=LRS[0])
    stage_steps = np.diff(np.linspace(0, steps, len(LRS) + 1).round().astype(int))
    stage = np.repeat(np.arange(len(LRS)), stage_steps)
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = LRS[stage[step]]
        x = p[idx[step]].clone().requires_grad_(True)
        energy = net(x)
        loss = ((energy - e[idx[step]]) ** 2).mean()
        if force_weight > 0:
            (g,) = torch.autograd.grad(energy.sum(), x, create_graph=True)
            loss = loss + force_weight * ((-g - f[idx[step]]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("weights", [(10.0, 0.0, 1.0), (0.0, 0.0, 0.0)])
def test_each_member_takes_the_steps_it_would_take_alone(frames, weights):
    subsets = [np.arange(0, 12), np.arange(5, 20), np.array([1, 3, 5, 7, 9, 11, 13])]
    seeds, steps, batch = [4, 5, 6], 6, 4
    stacked = networks([0, 1, 2], frames)
    alone = [copy.deepcopy(n) for n in stacked]
    losses = train_stacked_potentials(
        stacked, *frames, subsets, force_weights=weights, steps=steps, batch_size=batch,
        learning_rates=LRS, seeds=seeds,
    )  # fmt: skip
    assert losses.shape == (3, steps) and np.all(np.isfinite(losses))
    batches = _batches(subsets, steps, batch, seeds)
    for m, net in enumerate(alone):
        before = [t.detach().clone() for t in net.parameters()]
        train_alone(net, frames, batches[m], weights[m], steps)
        for a, b, b0 in zip(stacked[m].parameters(), net.parameters(), before):
            assert not torch.equal(b, b0)  # it trained
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-10)
        assert not stacked[m].training


def test_batches_use_every_frame_of_a_subset_before_repeating_one():
    subsets = [np.arange(10, 17), np.arange(3)]
    b = _batches(subsets, steps=5, batch_size=4, seeds=[0, 1])
    assert b.shape == (2, 5, 4)
    first = b[0].reshape(-1)
    assert sorted(first[:7]) == list(range(10, 17)) and set(first) <= set(range(10, 17))
    assert sorted(b[1].reshape(-1)[:3]) == [0, 1, 2]
    assert np.array_equal(b, _batches(subsets, steps=5, batch_size=4, seeds=[0, 1]))


def test_training_lowers_the_loss(frames):
    nets = networks([0, 1])
    for net in nets:
        net.set_energy_statistics(frames[1], frames[2])
    losses = train_stacked_potentials(
        nets, *frames, [np.arange(20)] * 2, force_weights=[1.0, 1.0], steps=150, batch_size=10,
        learning_rates=(1e-2, 2e-3),
    )  # fmt: skip
    assert np.all(losses[:, -10:].mean(1) < 0.5 * losses[:, :10].mean(1))


def test_bad_input_is_rejected_with_a_message(frames):
    nets = networks([0, 1], frames)
    p, e, f = frames
    with pytest.raises(TypeError, match="SchNet"):
        train_stacked_potentials([torch.nn.Linear(2, 2)], p, e, f, [[0]], force_weights=[1],
                                 steps=3)  # fmt: skip
    other = SchNet(Z, n_features=4, n_rbf=6, n_interactions=2).double()
    with pytest.raises(ValueError, match="same SchNet"):
        train_stacked_potentials([nets[0], other], p, e, f, [[0], [1]], force_weights=[1, 1],
                                 steps=3)  # fmt: skip
    with pytest.raises(ValueError, match="one subset, one force weight"):
        train_stacked_potentials(nets, p, e, f, [[0]], force_weights=[1, 1], steps=3)
    with pytest.raises(ValueError, match="frame indices < 20"):
        train_stacked_potentials(nets, p, e, f, [[0], [20]], force_weights=[1, 1], steps=3)
    with pytest.raises(ValueError, match=">= 0"):
        train_stacked_potentials(nets, p, e, f, [[0], [1]], force_weights=[1, -1], steps=3)
    with pytest.raises(ValueError, match="shape of positions"):
        train_stacked_potentials(nets, p, e, f[:, :3], [[0], [1]], force_weights=[1, 1], steps=3)
    with pytest.raises(ValueError, match="one integer step per learning rate"):
        train_stacked_potentials(nets, p, e, f, [[0], [1]], force_weights=[1, 1], steps=2)
