"""Potentials of O2 on Pd(100) as torch modules: positions (N, 2, 3) Å -> energies (N,) eV.

This is the course's one contract for a potential (:mod:`course_utils.potentials`):
a :class:`torch.nn.Module` whose ``forward`` takes Cartesian positions of the two O
atoms and returns one energy per configuration, with every input transformation
(symmetry-adapted features, their standardisation, the energy scale) *inside* the
module.  Forces are the negative gradient, by autograd
(:func:`course_utils.potentials.energy_and_forces`).  The module can then be
saved, handed to an ASE calculator or to the batched dynamics without any extra
numbers travelling along with it.

Classes
-------
:class:`ReferencePotential`
    The analytic reference PES (no parameters).
:class:`AtomCentredPotential`
    A multilayer perceptron of the atom-centred inputs (:func:`atom_centred_features`).
:class:`SymmetryCoordinatePotential`
    A network of the centre-of-mass coordinates Q1..Q10 with its standardisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .arrays import _parts_from_positions
from .constants import A_SURF, N_SYMMETRY_COORDS
from .coordinates import _symmetry_core
from .features import N_ATOM_FEATURES, _features_core
from .formula import _energy_core
from .model import _check_model

__all__ = [
    "ReferencePotential",
    "AtomCentredPotential",
    "SymmetryCoordinatePotential",
    "as_potential",
]


def _check_batch(positions: torch.Tensor) -> None:
    if not isinstance(positions, torch.Tensor):
        raise TypeError(
            "a potential's forward() takes a torch.Tensor of positions, shape (N, 2, 3) in Å; "
            f"got {type(positions).__name__}. Use course_utils.potentials.energy_and_forces "
            "for NumPy arrays."
        )
    if positions.ndim != 3 or tuple(positions.shape[1:]) != (2, 3):
        raise ValueError(
            f"positions should have shape (N, 2, 3) (configurations, two O atoms, xyz in Å), "
            f"but it has shape {tuple(positions.shape)}."
        )


class ReferencePotential(nn.Module):
    """The analytic reference PES of :mod:`course_utils.pes` as a potential module.

    ``forward(positions)`` returns :func:`reference_energy_cartesian` (eV) for positions
    of shape (N, 2, 3) in Å, differentiable by autograd.  It has no parameters;
    it computes in float64 whatever the input dtype and returns the input's dtype.
    """

    atomic_numbers = (8, 8)

    def __init__(self) -> None:
        super().__init__()
        # a float64 buffer: evaluators cast positions to the module's dtype, and the
        # reference must be evaluated in double precision
        self.register_buffer("surface_lattice_constant", torch.tensor(A_SURF, dtype=torch.float64))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        _check_batch(positions)
        p = positions.to(torch.float64)
        return _energy_core(*_parts_from_positions(p, torch), torch).to(positions.dtype)


class _ScaledNetwork(nn.Module):
    """features(positions) -> standardise -> net -> energy * y_std + y_mean."""

    atomic_numbers = (8, 8)
    n_features: int = 0

    def __init__(self, net: nn.Module, x_mean=None, x_std=None, y_mean=0.0, y_std=1.0):
        super().__init__()
        self.net = net
        n = self.n_features
        self.register_buffer("x_mean", _vector(x_mean, n, 0.0, "x_mean"))
        self.register_buffer("x_std", _vector(x_std, n, 1.0, "x_std"))
        if bool((self.x_std == 0).any()):
            raise ValueError("x_std must not contain zeros (use 1 for constant inputs).")
        self.register_buffer("y_mean", torch.tensor(float(y_mean), dtype=torch.float64))
        self.register_buffer("y_std", torch.tensor(float(y_std), dtype=torch.float64))

    def features(self, positions: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def scaled_features(self, positions: torch.Tensor) -> torch.Tensor:
        """The standardised inputs the network reads, shape (N, n_features)."""
        _check_batch(positions)
        f = self.features(positions.to(torch.float64))
        return (f - self.x_mean) / self.x_std

    def energy_from_scaled(self, x: torch.Tensor) -> torch.Tensor:
        """Energy (eV, float64, shape (N,)) from standardised inputs."""
        dtype = _param_dtype(self.net)
        y = self.net(x.to(dtype))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (x.shape[0],):
            raise ValueError(
                f"the network should return one energy per configuration, shape ({x.shape[0]},) "
                f"or ({x.shape[0]}, 1), but it returned shape {tuple(y.shape)}."
            )
        return y.to(torch.float64) * self.y_std + self.y_mean

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return self.energy_from_scaled(self.scaled_features(positions)).to(positions.dtype)

    @torch.no_grad()
    def fit_scaling(self, positions: Any, energies: Any) -> _ScaledNetwork:
        """Set the standardisation from training data (means and standard deviations).

        Parameters
        ----------
        positions : array_like, shape (N, 2, 3)
            Training positions in Å.
        energies : array_like, shape (N,)
            Training energies in eV.

        Returns
        -------
        self
        """
        p = torch.as_tensor(np.asarray(positions, dtype=np.float64))
        _check_batch(p)
        e = np.asarray(energies, dtype=np.float64)
        if e.shape != (len(p),):
            raise ValueError(f"energies should have shape ({len(p)},), but it has shape {e.shape}.")
        f = self.features(p)
        std = f.std(dim=0)
        self.x_mean.copy_(f.mean(dim=0))
        self.x_std.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)))
        self.y_mean.fill_(float(e.mean()))
        self.y_std.fill_(float(e.std()) or 1.0)
        return self


class AtomCentredPotential(_ScaledNetwork):
    r"""A neural-network potential of the atom-centred inputs of :mod:`.features`.

    .. math::

        E(\mathbf{r}_A, \mathbf{r}_B) = s_E\, \mathrm{MLP}\big((\mathbf{f} - \bar{\mathbf{f}})
        / \mathbf{s}_f\big) + \bar{E}, \qquad
        \mathbf{f} = \mathrm{atom\_centred\_features}(\mathbf{r}_A, \mathbf{r}_B)

    The energy is invariant under every p4mm operation and the O-O exchange
    because the inputs are.  The MLP has SiLU activations (smooth forces).

    Parameters
    ----------
    hidden : sequence of int, default (64, 64)
        Widths of the hidden layers.
    x_mean, x_std : array_like, shape (39,), optional
        Input standardisation (default none); usually set by :meth:`fit_scaling`.
    y_mean, y_std : float
        Energy scale in eV.
    net : torch.nn.Module, optional
        A network of the 39 standardised inputs to use instead of the MLP.
    """

    n_features = N_ATOM_FEATURES

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        x_mean=None,
        x_std=None,
        y_mean: float = 0.0,
        y_std: float = 1.0,
        net: nn.Module | None = None,
    ) -> None:
        if net is None:
            net = mlp(N_ATOM_FEATURES, hidden)
        super().__init__(net, x_mean, x_std, y_mean, y_std)

    def features(self, positions: torch.Tensor) -> torch.Tensor:
        return _features_core(positions, torch)


class SymmetryCoordinatePotential(_ScaledNetwork):
    """A network of the symmetry coordinates Q1..Q10, with its standardisation.

    ``forward(positions)`` computes :func:`symmetry_coordinates_cartesian`, then
    ``net((Q - x_mean) / x_std) * y_std + y_mean``.

    Parameters
    ----------
    net : torch.nn.Module
        Maps standardised Q, shape (N, 10), to energies of shape (N,) or (N, 1).
    x_mean, x_std : array_like, shape (10,), optional
    y_mean, y_std : float
    """

    n_features = N_SYMMETRY_COORDS

    def __init__(self, net: nn.Module, x_mean=None, x_std=None, y_mean=0.0, y_std=1.0) -> None:
        _check_model(net)
        super().__init__(net, x_mean, x_std, y_mean, y_std)

    def features(self, positions: torch.Tensor) -> torch.Tensor:
        return _symmetry_core(*_parts_from_positions(positions, torch), torch, False)


def mlp(n_in: int, hidden: Sequence[int] = (64, 64), activation: type[nn.Module] = nn.SiLU):
    """A multilayer perceptron ``n_in -> hidden... -> 1`` with smooth activations."""
    layers: list[nn.Module] = []
    width = int(n_in)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), activation()]
        width = int(h)
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def as_potential(
    model: Any = None, *, x_mean=None, x_std=None, y_mean: float = 0.0, y_std: float = 1.0
) -> nn.Module:
    """Turn what a user passes into a potential module (positions -> energies).

    * ``None``: the :class:`ReferencePotential`;
    * an ``nn.Sequential``, or any module together with a standardisation
      (``x_mean``, ``x_std``, ``y_mean``, ``y_std``): a network of Q1..Q10, wrapped
      in :class:`SymmetryCoordinatePotential`;
    * any other ``nn.Module``: already a potential, returned as it is.
    """
    scaled = x_mean is not None or x_std is not None or y_mean != 0.0 or y_std != 1.0
    if model is None:
        if scaled:
            raise ValueError("x_mean, x_std, y_mean and y_std only apply to a network model.")
        return ReferencePotential()
    if not isinstance(model, nn.Module):
        raise TypeError(
            "model must be a torch.nn.Module: a potential mapping positions (N, 2, 3) in Å to "
            f"energies (N,) in eV, or a network of the 10 symmetry coordinates; got "
            f"{type(model).__name__}."
        )
    if scaled or isinstance(model, (nn.Sequential, nn.Linear)):
        return SymmetryCoordinatePotential(model, x_mean, x_std, y_mean, y_std)
    _probe(model)
    return model


def _probe(potential: nn.Module) -> None:
    """Call a potential on two configurations and check that it returns two energies."""
    from .._torch_utils import dtype_and_device, eval_mode

    dtype, device = dtype_and_device(potential)
    probe = torch.tensor(
        [[[1.0, 0.5, 2.0], [2.2, 0.5, 2.1]], [[0.3, 0.2, 3.0], [0.3, 1.4, 3.0]]],
        dtype=dtype,
        device=device,
    )
    try:
        with torch.no_grad(), eval_mode(potential):
            out = potential(probe)
    except Exception as exc:
        raise ValueError(
            f"calling the potential on positions of shape (2, 2, 3) failed ({type(exc).__name__}: "
            f"{exc}). A potential maps positions (N, 2, 3) in Å to energies (N,) in eV; a network "
            "of the symmetry coordinates goes in a SymmetryCoordinatePotential."
        ) from exc
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2,):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"the potential should return one energy per configuration, shape (2,) for "
            f"positions of shape (2, 2, 3), but it returned {got}."
        )


def _vector(v: Any, n: int, default: float, name: str) -> torch.Tensor:
    if v is None:
        return torch.full((n,), default, dtype=torch.float64)
    a = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
    a = a.reshape(-1)
    if a.shape != (n,):
        raise ValueError(
            f"{name} must have {n} entries (one per input feature); got shape {a.shape}."
        )
    return torch.tensor(a)


def _param_dtype(module: nn.Module) -> torch.dtype:
    for t in module.parameters():
        if t.is_floating_point():
            return t.dtype
    return torch.float32
