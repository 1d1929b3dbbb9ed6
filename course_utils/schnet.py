"""A small SchNet-style message-passing potential for one molecule, in plain PyTorch.

The model follows Schütt et al., "SchNet - A deep learning architecture for
molecules and materials", J. Chem. Phys. 148, 241722 (2018),
doi:10.1063/1.5019779, in its simplest form:

1. every atom starts from a learned vector that depends only on its element
   (an embedding of the atomic number);
2. each interaction block updates every atom with messages from its
   neighbours, ``m_i = sum_j x_j * W(r_ij)``, where the *continuous filter*
   ``W`` is a learned function of the distance ``r_ij``: Gaussian radial
   basis functions, combined linearly and multiplied by a smooth cutoff;
3. a final network maps each atom's vector to an atomic energy, and the
   energies are summed.

Distances are the only geometric input and the sums run over atoms, so the
energy is invariant under rotations, translations and permutations of atoms of
the same element.  Forces are ``-dE/dpositions`` by autograd
(:func:`course_utils.potentials.energy_and_forces`).

Every pair of atoms of the molecule is listed once (``n(n-1)/2`` pairs), and
pairs beyond the cutoff simply get a zero filter: simple for the few atoms
of a small molecule, but the cost grows as ``n**2``; codes for large systems
build a neighbour list instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from course_utils.training import fit

__all__ = [
    "ShiftedSoftplus",
    "GaussianRBF",
    "cosine_cutoff",
    "Interaction",
    "SchNet",
    "EnergyForceLoss",
    "train_potential",
]


class ShiftedSoftplus(nn.Module):
    """``softplus(x) - log 2``: smooth (so forces are smooth), zero at zero."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(x) - math.log(2.0)


class GaussianRBF(nn.Module):
    """Expand distances in Gaussians ``exp(-(r - mu_k)^2 / (2 w^2))``, ``mu_k`` on a grid.

    Parameters
    ----------
    n_rbf : int
        Number of Gaussians, centred evenly from 0 to ``cutoff`` (Å).
    cutoff : float
        Largest centre in Å; the width ``w`` is the grid spacing.
    """

    def __init__(self, n_rbf: int, cutoff: float) -> None:
        super().__init__()
        self.register_buffer("centers", torch.linspace(0.0, cutoff, n_rbf))
        self.width = cutoff / (n_rbf - 1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Distances of any shape (Å) -> shape ``r.shape + (n_rbf,)``."""
        return torch.exp(-0.5 * ((r[..., None] - self.centers) / self.width) ** 2)


def cosine_cutoff(r: torch.Tensor, cutoff: float) -> torch.Tensor:
    """``0.5 (cos(pi r / r_c) + 1)`` for ``r < r_c``, else 0: goes smoothly to zero at ``r_c``."""
    return torch.where(r < cutoff, 0.5 * (torch.cos(math.pi * r / cutoff) + 1.0), 0.0)


class Interaction(nn.Module):
    """One SchNet interaction block: continuous-filter convolution plus a residual update.

    ``x_i <- x_i + g(sum_j h(x_j) * W(r_ij))``: ``h`` and ``g`` act on each
    atom; the filter ``W`` is a learned linear combination of the radial basis
    functions of ``r_ij``, one per feature, times the cutoff function.  (The
    original SchNet generates the filter with two dense layers; one linear
    layer is cheaper and was as accurate for ethanol.)  Each pair ``(i, j)`` is
    stored once; since ``W(r_ij) = W(r_ji)`` its filter serves both directions.
    """

    def __init__(self, n_features: int, n_rbf: int) -> None:
        super().__init__()
        self.filter = nn.Linear(n_rbf, n_features)
        self.atom_in = nn.Linear(n_features, n_features, bias=False)
        self.atom_out = nn.Sequential(
            nn.Linear(n_features, n_features), ShiftedSoftplus(), nn.Linear(n_features, n_features)
        )

    def forward(
        self, x: torch.Tensor, rbf: torch.Tensor, envelope: torch.Tensor, pairs: torch.Tensor
    ) -> torch.Tensor:
        """x (N, n, F), rbf (N, P, K), envelope (N, P), pairs (2, P) -> updated x (N, n, F)."""
        i, j = pairs
        w = self.filter(rbf) * envelope[..., None]  # (N, P, F): one filter per pair
        h = self.atom_in(x)
        # atom i receives w_ij * h_j, and atom j receives w_ij * h_i
        messages = torch.zeros_like(h).index_add(1, i, w * h[:, j]).index_add(1, j, w * h[:, i])
        return x + self.atom_out(messages)


class SchNet(nn.Module):
    """SchNet-style potential for one molecule: positions (N, n, 3) Å -> energies (N,) eV.

    Parameters
    ----------
    atomic_numbers : sequence of int
        The elements of the ``n`` atoms, in the order of the positions.
    n_features : int
        Length of each atom's feature vector.
    n_rbf : int
        Number of Gaussian radial basis functions.
    cutoff : float
        Cutoff radius in Å; pairs farther apart do not interact directly.
    n_interactions : int
        Number of interaction (message-passing) blocks.

    Attributes
    ----------
    energy_shift, energy_scale : torch.Tensor (buffers)
        ``E = sum_i (energy_scale * e_i + energy_shift)`` with ``e_i`` the raw
        network output per atom; set them from training data with
        :meth:`set_energy_statistics` so the network learns numbers of order one.
    """

    def __init__(
        self,
        atomic_numbers: Any,
        *,
        n_features: int = 32,
        n_rbf: int = 16,
        cutoff: float = 5.0,
        n_interactions: int = 3,
    ) -> None:
        super().__init__()
        z = torch.as_tensor(np.asarray(atomic_numbers), dtype=torch.long).reshape(-1)
        if len(z) < 2 or int(z.min()) < 1 or int(z.max()) > 118:
            raise ValueError(
                "atomic_numbers must list at least two elements between 1 and 118; "
                f"got {z.tolist()}."
            )
        for name, value in (("n_features", n_features), ("n_rbf", n_rbf)):
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"{name} must be an integer >= 2, not {value!r}.")
        if not isinstance(n_interactions, int) or n_interactions < 1:
            raise ValueError(f"n_interactions must be a positive integer, not {n_interactions!r}.")
        if not cutoff > 0:
            raise ValueError(f"cutoff is a radius in Å and must be > 0, not {cutoff}.")
        self.register_buffer("atomic_numbers", z)
        # every pair of atoms once: pairs[0] < pairs[1], shape (2, n(n-1)/2)
        self.register_buffer("pairs", torch.triu_indices(len(z), len(z), offset=1))
        self.cutoff = float(cutoff)
        self.embedding = nn.Embedding(int(z.max()) + 1, n_features)
        self.rbf = GaussianRBF(n_rbf, cutoff)
        self.interactions = nn.ModuleList(
            Interaction(n_features, n_rbf) for _ in range(n_interactions)
        )
        self.readout = nn.Sequential(
            nn.Linear(n_features, n_features // 2), ShiftedSoftplus(), nn.Linear(n_features // 2, 1)
        )
        self.register_buffer("energy_shift", torch.tensor(0.0))
        self.register_buffer("energy_scale", torch.tensor(1.0))

    @property
    def n_atoms(self) -> int:
        return len(self.atomic_numbers)

    def set_energy_statistics(self, energies: Any, forces: Any = None) -> None:
        """Set the output offset and scale from training data.

        ``energy_shift`` becomes the mean energy per atom (eV).  ``energy_scale``
        becomes the root-mean-square force component times 1 Å if ``forces``
        (eV/Å, any shape) are given, so that a change of the raw output by one
        over an ångström is a typical force; otherwise the standard deviation
        of the energies (eV).
        """
        e = torch.as_tensor(np.asarray(energies), dtype=torch.float64).reshape(-1)
        if len(e) < 2 or not torch.isfinite(e).all():
            raise ValueError("set_energy_statistics needs at least two finite energies in eV.")
        self.energy_shift.fill_(float(e.mean()) / self.n_atoms)
        scale = float(e.std())
        if forces is not None:
            f = np.asarray(forces, dtype=np.float64)
            if not np.all(np.isfinite(f)):
                raise ValueError("forces must be finite (eV/Å).")
            scale = float(np.sqrt(np.mean(f**2)))
        self.energy_scale.fill_(scale if scale > 0 else 1.0)

    def distances(self, positions: torch.Tensor) -> torch.Tensor:
        """Distances of all atom pairs ``self.pairs``, shape (N, P) in Å, P = n(n-1)/2."""
        i, j = self.pairs
        return (positions[:, i] - positions[:, j]).norm(dim=-1)

    def atomic_energies(self, positions: torch.Tensor) -> torch.Tensor:
        """Energy contribution of each atom, shape (N, n) in eV; they sum to the energy."""
        if positions.ndim != 3 or positions.shape[1:] != (self.n_atoms, 3):
            raise ValueError(
                f"positions must have shape (N, {self.n_atoms}, 3) in Å for this model; "
                f"got {tuple(positions.shape)}."
            )
        return self.atomic_energies_from_distances(self.distances(positions))

    def atomic_energies_from_distances(self, r: torch.Tensor) -> torch.Tensor:
        """Atomic energies (N, n) in eV from the pair distances (N, P) in Å."""
        envelope = cosine_cutoff(r, self.cutoff)
        rbf = self.rbf(r)
        x = self.embedding(self.atomic_numbers).to(r.dtype).expand(r.shape[0], -1, -1)
        for block in self.interactions:
            x = block(x, rbf, envelope, self.pairs)
        return self.readout(x)[..., 0] * self.energy_scale + self.energy_shift

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Energies (N,) in eV for positions (N, n, 3) in Å."""
        return self.atomic_energies(positions).sum(dim=-1)


class _WithForces(nn.Module):
    """Training view of a potential: positions (N, n, 3) -> [E, F.flatten()], shape (N, 1 + 3n)."""

    def __init__(self, potential: nn.Module, with_forces: bool) -> None:
        super().__init__()
        self.potential = potential
        self.with_forces = with_forces

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        if not self.with_forces:
            return self.potential(positions)[:, None]
        with torch.enable_grad():  # also during validation, which runs under no_grad
            positions = positions.detach().requires_grad_(True)
            energy = self.potential(positions)
            (grad,) = torch.autograd.grad(energy.sum(), positions, create_graph=self.training)
        return torch.cat([energy[:, None], -grad.flatten(1)], dim=1)


class EnergyForceLoss(nn.Module):
    """``MSE(E) + force_weight * MSE(F)`` on outputs of shape (N, 1 + 3n) or (N, 1).

    Column 0 holds the energy (eV), the rest the force components (eV/Å);
    ``force_weight`` is in Å² so both terms are in eV².
    """

    def __init__(self, force_weight: float = 1.0) -> None:
        super().__init__()
        self.force_weight = float(force_weight)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.mean((prediction[:, 0] - target[:, 0]) ** 2)
        if prediction.shape[1] > 1 and self.force_weight > 0:
            loss = loss + self.force_weight * torch.mean((prediction[:, 1:] - target[:, 1:]) ** 2)
        return loss


def train_potential(
    model: nn.Module,
    positions: Any,
    energies: Any,
    forces: Any = None,
    *,
    force_weight: float = 10.0,
    epochs: int = 20,
    learning_rates: tuple[float, ...] = (5e-3, 2e-3, 5e-4),
    batch_size: int = 32,
    seed: int = 0,
    progress: bool | None = None,
) -> dict[str, list[float]]:
    """Fit a potential to energies, or to energies and forces, with Adam.

    The epochs are split evenly over the learning rates (a step schedule);
    each stage is one call of :func:`course_utils.training.fit`.

    Parameters
    ----------
    model : torch.nn.Module
        A potential, positions (N, n, 3) Å -> energies (N,) eV; trained in
        place, in its own dtype.
    positions : array_like, shape (N, n, 3)
        Training positions in Å.
    energies : array_like, shape (N,)
        Reference energies in eV.
    forces : array_like, shape (N, n, 3), optional
        Reference forces in eV/Å.  Without them only energies are fitted.
    force_weight : float
        Weight of the force term in Å² (see :class:`EnergyForceLoss`).
    epochs : int
        Total passes over the data, split over the learning rates.
    learning_rates : tuple of float
        Adam learning rates, one stage each.
    batch_size : int
        Configurations per gradient step.
    seed : int
        Seed of the mini-batch order.
    progress : bool, optional
        Show progress bars (default: :func:`course_utils.training.progress_enabled`).

    Returns
    -------
    dict
        ``"train_loss"``: mean training loss of every epoch, in eV².
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
    p = np.asarray(positions, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64).reshape(-1)
    if p.ndim != 3 or p.shape[-1] != 3 or len(p) != len(e):
        raise ValueError(
            f"positions must have shape (N, n_atoms, 3) and energies (N,); got {p.shape} and "
            f"{e.shape}."
        )
    if not learning_rates or epochs < len(learning_rates):
        raise ValueError("need at least one learning rate and one epoch per learning rate.")
    target = e[:, None]
    if forces is not None:
        f = np.asarray(forces, dtype=np.float64)
        if f.shape != p.shape:
            raise ValueError(f"forces must have the shape of positions {p.shape}; got {f.shape}.")
        target = np.concatenate([target, f.reshape(len(f), -1)], axis=1)
    dtype = next(model.parameters()).dtype
    data = (torch.as_tensor(p, dtype=dtype), torch.as_tensor(target, dtype=dtype))
    wrapped = _WithForces(model, with_forces=forces is not None)
    loss_fn = EnergyForceLoss(force_weight if forces is not None else 0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rates[0])
    history: dict[str, list[float]] = {"train_loss": []}
    stage_epochs = np.diff(np.linspace(0, epochs, len(learning_rates) + 1).round().astype(int))
    for stage, (lr, n_epochs) in enumerate(zip(learning_rates, stage_epochs)):
        for group in optimizer.param_groups:
            group["lr"] = lr
        stage_history = fit(
            wrapped,
            data,
            loss_fn=loss_fn,
            optimizer=optimizer,
            epochs=int(n_epochs),
            batch_size=batch_size,
            seed=seed + stage,
            progress=progress,
            desc=f"lr={lr:g}",
        )
        history["train_loss"] += stage_history["train_loss"]
    model.eval()
    return history
