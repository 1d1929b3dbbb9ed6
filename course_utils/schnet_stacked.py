"""Train several SchNet potentials side by side, as one stacked network.

A learning curve or an ensemble needs many small :class:`~course_utils.schnet.SchNet`
networks of one molecule.  Trained one at a time, each gradient step of such a
small network costs far more in Python and PyTorch overhead than in
arithmetic.  :func:`train_stacked_potentials` stacks the weights of M networks
into one tensor per layer (a leading member axis) and evaluates all of them in
one batched forward pass (:func:`torch.baddbmm`), each member on its own
mini-batch of its own training set.  The loss is the sum of the members'
separate losses and Adam treats every weight on its own, so each member takes
the steps that :func:`torch.optim.Adam` would take for it alone on the same
mini-batches (up to rounding); at the end the trained weights are copied back
into the original networks.  The same idea for perceptrons is
:func:`course_utils.fullbatch.train_stacked`.

Importing this module changes no global state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .schnet import SchNet, ShiftedSoftplus, cosine_cutoff
from .training import single_thread

__all__ = ["stacked_energies", "train_stacked_potentials"]


def _linear(layer: torch.nn.Linear) -> list[torch.Tensor]:
    # weight as (in, out) for x @ W, and the bias (or nothing)
    return [layer.weight.T] + ([layer.bias] if layer.bias is not None else [])


def _member_tensors(model: SchNet) -> list[torch.Tensor]:
    """The trainable tensors of one network, in a fixed order, weights as (in, out)."""
    tensors = [model.embedding.weight]
    for block in model.interactions:
        tensors += _linear(block.filter) + _linear(block.atom_in)
        tensors += _linear(block.atom_out[0]) + _linear(block.atom_out[2])
    return tensors + _linear(model.readout[0]) + _linear(model.readout[2])


def _check_models(models: Sequence[Any]) -> list[SchNet]:
    models = list(models)
    if not models or not all(isinstance(m, SchNet) for m in models):
        raise TypeError("models must be a non-empty list of course_utils.schnet.SchNet networks.")
    first = models[0]
    shapes = [t.shape for t in _member_tensors(first)]
    for m in models[1:]:
        if (
            [t.shape for t in _member_tensors(m)] != shapes
            or not torch.equal(m.atomic_numbers, first.atomic_numbers)
            or m.cutoff != first.cutoff
            or not torch.equal(m.rbf.centers, first.rbf.centers)
        ):
            raise ValueError(
                "all models must have the same atoms, sizes, radial basis and cutoff to be "
                "stacked; build them with the same SchNet(...) arguments."
            )
    return models


def _affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (M, ..., in) @ weight (M, in, out) + bias (M, out) -> (M, ..., out)."""
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    if bias is None:
        out = torch.bmm(flat, weight)
    else:
        out = torch.baddbmm(bias[:, None, :], flat, weight)
    return out.reshape(*x.shape[:-1], weight.shape[-1])


_ssp = ShiftedSoftplus()  # the activation of SchNet, applied to stacked tensors


def stacked_energies(
    template: SchNet,
    tensors: Sequence[torch.Tensor],
    shift: torch.Tensor,
    scale: torch.Tensor,
    positions: torch.Tensor,
) -> torch.Tensor:
    """Energies of M stacked networks, each on its own configurations.

    Parameters
    ----------
    template : SchNet
        Any one of the stacked networks: it supplies the atoms, the atom pairs,
        the radial basis and the cutoff.
    tensors : sequence of torch.Tensor
        The stacked trainable tensors, each ``(M, ...)``, in the order of the
        module's ``_member_tensors`` (linear weights as (in, out)).
    shift, scale : torch.Tensor, shape (M,)
        Each member's ``energy_shift`` and ``energy_scale`` (eV).
    positions : torch.Tensor, shape (M, N, n, 3)
        Positions in Å, N configurations per member.

    Returns
    -------
    torch.Tensor, shape (M, N)
        Energies in eV; member m's row is what ``SchNet`` m gives for its
        positions.
    """
    i, j = template.pairs
    r = (positions[:, :, i] - positions[:, :, j]).norm(dim=-1)  # (M, N, P)
    envelope = cosine_cutoff(r, template.cutoff)[..., None]
    rbf = template.rbf(r)  # (M, N, P, K)
    it = iter(tensors)
    table = next(it)  # (M, n_elements, F)
    x = table[:, template.atomic_numbers][:, None].expand(-1, r.shape[1], -1, -1)
    for _ in template.interactions:
        w_f, b_f, w_in, w_1, b_1, w_2, b_2 = (next(it) for _ in range(7))
        w = _affine(rbf, w_f, b_f) * envelope  # (M, N, P, F)
        h = _affine(x, w_in, None)
        messages = torch.zeros_like(h).index_add(2, i, w * h[:, :, j])
        messages = messages.index_add(2, j, w * h[:, :, i])
        x = x + _affine(_ssp(_affine(messages, w_1, b_1)), w_2, b_2)
    w_1, b_1, w_2, b_2 = (next(it) for _ in range(4))
    atomic = _affine(_ssp(_affine(x, w_1, b_1)), w_2, b_2)[..., 0]  # (M, N, n)
    return (atomic * scale[:, None, None] + shift[:, None, None]).sum(-1)


def _batches(subsets: list[np.ndarray], steps: int, batch_size: int, seeds: list[int]):
    """(M, steps, batch_size) frame indices: each member walks through reshuffled copies of
    its own subset, so every frame is used once before any is used again."""
    out = np.empty((len(subsets), steps * batch_size), dtype=np.int64)
    for m, (subset, seed) in enumerate(zip(subsets, seeds)):
        rng = np.random.default_rng(seed)
        n_rounds = -(-steps * batch_size // len(subset))
        out[m] = np.concatenate([rng.permutation(subset) for _ in range(n_rounds)])[: out.shape[1]]
    return out.reshape(len(subsets), steps, batch_size)


def train_stacked_potentials(
    models: Sequence[SchNet],
    positions: Any,
    energies: Any,
    forces: Any,
    subsets: Sequence[Any],
    *,
    force_weights: Sequence[float],
    steps: int,
    batch_size: int = 16,
    learning_rates: tuple[float, ...] = (5e-3, 2e-3, 5e-4),
    seeds: Sequence[int] | None = None,
) -> np.ndarray:
    """Train M SchNet networks side by side on energies, or energies and forces.

    Every member takes ``steps`` Adam steps on mini-batches of ``batch_size``
    frames from its own training subset, with the loss of
    :class:`course_utils.schnet.EnergyForceLoss` and its own force weight
    (0 trains on energies alone).  The steps are split evenly over the learning
    rates (a step schedule shared by all members).  Each member ends with the
    weights it would get from ``torch.optim.Adam`` trained alone on the same
    mini-batches, up to rounding.

    Parameters
    ----------
    models : sequence of SchNet
        M networks of the same molecule and size, initialised and with their
        energy statistics set; trained in place, in float32.
    positions : array_like, shape (n_frames, n, 3)
        Positions in Å of all frames the subsets index.
    energies : array_like, shape (n_frames,)
        Reference energies in eV.
    forces : array_like, shape (n_frames, n, 3)
        Reference forces in eV/Å (ignored for members with force weight 0).
    subsets : sequence of M index arrays
        The frames each member trains on.
    force_weights : sequence of M floats
        Weight of the force term in Å² for each member, >= 0.
    steps : int
        Gradient steps, >= the number of learning rates.
    batch_size : int
        Frames per member and step.
    learning_rates : tuple of float
        Adam learning rates, one stage each.
    seeds : sequence of M int, optional
        Seeds of each member's mini-batch order (default 0, 1, ..., M-1).

    Returns
    -------
    numpy.ndarray, shape (M, steps)
        Each member's training loss (eV²) at every step.
    """
    models = _check_models(models)
    n_models = len(models)
    p = np.asarray(positions, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64).reshape(-1)
    f = np.asarray(forces, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (models[0].n_atoms, 3) or e.shape != p.shape[:1]:
        raise ValueError(
            f"positions must have shape (n_frames, {models[0].n_atoms}, 3) in Å and energies "
            f"(n_frames,) in eV; got {p.shape} and {e.shape}."
        )
    if f.shape != p.shape:
        raise ValueError(f"forces must have the shape of positions {p.shape}; got {f.shape}.")
    subsets = [np.asarray(s, dtype=np.int64).reshape(-1) for s in subsets]
    weights = [float(w) for w in force_weights]
    seeds = list(range(n_models)) if seeds is None else [int(s) for s in seeds]
    if not (len(subsets) == len(weights) == len(seeds) == n_models):
        raise ValueError(
            f"need one subset, one force weight and one seed per model ({n_models}); got "
            f"{len(subsets)}, {len(weights)} and {len(seeds)}."
        )
    if any(len(s) == 0 or s.min() < -len(e) or s.max() >= len(e) for s in subsets):
        raise ValueError(f"every subset must be a non-empty list of frame indices < {len(e)}.")
    if any(not w >= 0 for w in weights):
        raise ValueError(f"force weights are in Å² and must be >= 0; got {weights}.")
    if not learning_rates or not isinstance(steps, int) or steps < len(learning_rates):
        raise ValueError("need at least one learning rate and one integer step per learning rate.")
    with single_thread():
        return _train(models, p, e, f, subsets, weights, steps, batch_size, learning_rates, seeds)


def _train(models, p, e, f, subsets, weights, steps, batch_size, learning_rates, seeds):
    template = models[0]
    dtype = next(template.parameters()).dtype
    with torch.no_grad():
        tensors = [
            torch.stack(group).detach().clone().requires_grad_(True)
            for group in zip(*(_member_tensors(m) for m in models))
        ]
        shift = torch.stack([m.energy_shift for m in models]).to(dtype)
        scale = torch.stack([m.energy_scale for m in models]).to(dtype)
    P, E, F = (torch.as_tensor(a, dtype=dtype) for a in (p, e, f))
    w_force = torch.tensor(weights, dtype=dtype)
    with_forces = any(w > 0 for w in weights)
    batches = torch.as_tensor(_batches(subsets, steps, batch_size, seeds))
    optimizer = torch.optim.Adam(tensors, lr=learning_rates[0])
    stage_of_step = np.repeat(
        np.arange(len(learning_rates)),
        np.diff(np.linspace(0, steps, len(learning_rates) + 1).round().astype(int)),
    )
    losses = np.empty((len(models), steps))
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rates[stage_of_step[step]]
        idx = batches[:, step]  # (M, B)
        x = P[idx].requires_grad_(with_forces)
        energy = stacked_energies(template, tensors, shift, scale, x)
        member_loss = ((energy - E[idx]) ** 2).mean(1)
        if with_forces:  # skipped when no member trains on forces: three times cheaper
            (grad,) = torch.autograd.grad(energy.sum(), x, create_graph=True)
            member_loss = member_loss + w_force * ((grad + F[idx]) ** 2).flatten(1).mean(1)
        optimizer.zero_grad()
        member_loss.sum().backward()
        optimizer.step()
        losses[:, step] = member_loss.detach().numpy()
    with torch.no_grad():  # copy the trained weights back into the networks
        for stacked, *member in zip(tensors, *(_member_tensors(m) for m in models)):
            for k, tensor in enumerate(member):
                tensor.copy_(stacked[k])
    for m in models:
        m.eval()
    return losses
