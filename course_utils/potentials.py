"""The one contract for a fitted potential, and an ASE calculator for it.

A *potential* in this course is any :class:`torch.nn.Module` that maps
Cartesian positions of shape ``(N, n_atoms, 3)`` in Å to energies of shape
``(N,)`` in eV.  Which element each atom is, and in which order the atoms
come, is part of the module (it was trained on one molecule or one frame);
forces are never a separate output but the negative gradient of the energy,
computed by autograd, so they are conservative by construction.

Two helpers build on that contract:

:func:`energy_and_forces`
    Evaluate a potential on a batch of configurations (NumPy or torch in,
    NumPy out) and return energies and forces.
:class:`TorchPotentialCalculator` (in :mod:`course_utils.calculators`, re-exported here)
    An ASE calculator that lets such a module drive ASE's optimisers and
    molecular dynamics, optionally seeing only a subset of the atoms.

Example::

    from ase.md.verlet import VelocityVerlet
    from course_utils.potentials import TorchPotentialCalculator

    atoms.calc = TorchPotentialCalculator(model)
    VelocityVerlet(atoms, timestep=0.5 * ase.units.fs).run(100)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ._torch_utils import dtype_and_device, eval_mode
from .calculators import TorchPotentialCalculator

__all__ = ["energy_and_forces", "TorchPotentialCalculator"]


def _check_potential(potential: Any) -> None:
    if not isinstance(potential, nn.Module):
        raise TypeError(
            "potential must be a torch.nn.Module mapping positions (N, n_atoms, 3) in Å to "
            f"energies (N,) in eV; got {type(potential).__name__}."
        )


def _as_positions(positions: Any) -> torch.Tensor:
    """Validate ``positions`` and return them as a detached float64 CPU tensor."""
    if isinstance(positions, torch.Tensor):
        p = positions.detach().to(device="cpu", dtype=torch.float64)
    else:
        try:
            p = torch.as_tensor(np.ascontiguousarray(positions, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"positions must be numeric, shape (N, n_atoms, 3) in Å; could not convert: {exc}"
            ) from exc
    if p.ndim != 3 or p.shape[-1] != 3:
        hint = (
            " For a single configuration of shape (n_atoms, 3), pass positions[None]."
            if p.ndim == 2 and p.shape[-1] == 3
            else ""
        )
        raise ValueError(
            f"positions must have shape (N, n_atoms, 3) (configurations, atoms, xyz in Å); "
            f"got shape {tuple(p.shape)}.{hint}"
        )
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"positions is empty (shape {tuple(p.shape)}); pass at least one atom.")
    if not torch.isfinite(p).all():
        raise ValueError("positions contain NaN or infinite values; pass finite coordinates in Å.")
    return p


def energy_and_forces(
    potential: nn.Module, positions: Any, *, batch_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Energies and forces of a potential for a batch of configurations.

    The forces are :math:`\\mathbf{F}_i = -\\partial E / \\partial \\mathbf{r}_i`,
    obtained by automatic differentiation of the potential's energy.  The
    module is evaluated in eval mode (dropout off, batch-norm statistics
    frozen), in the dtype and on the device of its parameters; every
    submodule's training flag is restored afterwards, and no gradient is
    accumulated in the module's parameters.

    Parameters
    ----------
    potential : torch.nn.Module
        Maps positions ``(N, n_atoms, 3)`` in Å to energies ``(N,)`` in eV.
    positions : array_like or torch.Tensor, shape (N, n_atoms, 3)
        Cartesian positions in Å.  For one configuration pass
        ``positions[None]``.
    batch_size : int, optional
        Evaluate at most this many configurations at once (to bound memory);
        by default all at once.

    Returns
    -------
    energies : numpy.ndarray, shape (N,), float64
        Energies in eV.
    forces : numpy.ndarray, shape (N, n_atoms, 3), float64
        Forces in eV/Å.

    Raises
    ------
    TypeError
        If ``potential`` is not a torch module.
    ValueError
        If ``positions`` does not have shape (N, n_atoms, 3) or is not
        finite, or if the potential does not return one energy per
        configuration.
    """
    _check_potential(potential)
    p = _as_positions(positions)
    n = p.shape[0]
    if batch_size is None:
        batch_size = n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be a positive integer or None, not {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, not {batch_size}.")
    dtype, device = dtype_and_device(potential)
    energies, forces = [], []
    with eval_mode(potential), torch.enable_grad():
        for start in range(0, n, int(batch_size)):
            x = p[start : start + batch_size].to(dtype=dtype, device=device).requires_grad_(True)
            e = potential(x)
            if not isinstance(e, torch.Tensor) or tuple(e.shape) != (x.shape[0],):
                got = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
                raise ValueError(
                    f"the potential must return one energy per configuration, shape "
                    f"({x.shape[0]},) for positions of shape {tuple(x.shape)}; got {got}. "
                    "Sum atomic energies over the atom axis and squeeze any trailing axis of 1."
                )
            (grad,) = torch.autograd.grad(e.sum(), x)
            energies.append(e.detach().to("cpu", torch.float64).numpy())
            forces.append(-grad.detach().to("cpu", torch.float64).numpy())
    return np.concatenate(energies), np.concatenate(forces)
