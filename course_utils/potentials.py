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
:class:`TorchPotentialCalculator`
    An ASE calculator that lets such a module drive ASE's optimisers and
    molecular dynamics, optionally seeing only a subset of the atoms.

Example::

    from ase.md.verlet import VelocityVerlet
    from course_utils.potentials import TorchPotentialCalculator

    atoms.calc = TorchPotentialCalculator(model)
    VelocityVerlet(atoms, timestep=0.5 * ase.units.fs).run(100)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from torch import nn

from ._torch_utils import dtype_and_device, eval_mode

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


class TorchPotentialCalculator(Calculator):
    """ASE calculator for a potential given as a torch module.

    The module maps positions :math:`\\mathbf{R}` of shape ``(N, n, 3)`` (Å)
    to energies :math:`E(\\mathbf{R})` of shape ``(N,)`` (eV).  The calculator
    feeds it the positions of one ``Atoms`` object (``N = 1``) and returns

    .. math::

        E = E_\\theta(\\mathbf{r}_{i_1}, \\dots, \\mathbf{r}_{i_n}), \\qquad
        \\mathbf{F}_{i_k} = -\\frac{\\partial E}{\\partial \\mathbf{r}_{i_k}},

    with the gradient from autograd (:func:`energy_and_forces`).  By default
    the module sees every atom, in the order of the ``Atoms`` object.  With
    ``indices`` it sees only those atoms, in that order; all other atoms are
    a fixed frame (for example a frozen surface): they do not enter the
    energy, and their force is exactly zero.  Positions are used as they
    are: no periodic images and no wrapping into the cell, so the module
    sees the same coordinates it was trained on.

    If the module has an attribute ``atomic_numbers`` (a sequence or tensor
    of length ``n``), the calculator checks that the atoms it passes have
    those atomic numbers, in that order, and raises a ``ValueError``
    otherwise.

    Parameters
    ----------
    potential : torch.nn.Module
        The potential; evaluated in eval mode in its own dtype and device.
    indices : sequence of int, optional
        The atoms the potential sees, in the order it expects them.
        Default ``None``: all atoms.
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`
        (for example ``label``).

    Notes
    -----
    ``free_energy`` equals ``energy`` (no electronic smearing); it is
    provided because some ASE tools ask for it.

    Examples
    --------
    >>> atoms.calc = TorchPotentialCalculator(model)
    >>> atoms.get_potential_energy(), atoms.get_forces().shape
    """

    implemented_properties = ["energy", "free_energy", "forces"]
    default_parameters: dict[str, Any] = {"indices": None}
    nolabel = True

    def __init__(self, potential: nn.Module, **kwargs: Any) -> None:
        _check_potential(potential)
        self.potential = potential
        super().__init__(**kwargs)

    def set(self, **kwargs: Any) -> dict[str, Any]:
        """Change parameters (e.g. ``indices``); any change discards stored results."""
        changed = super().set(**kwargs)
        if changed:
            self.reset()
        return changed

    def _selected(self, n_total: int) -> np.ndarray:
        indices = self.parameters.indices
        if indices is None:
            return np.arange(n_total)
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"indices must be a non-empty 1-D sequence of atom indices; got {indices!r}."
            )
        if idx.min() < -n_total or idx.max() >= n_total:
            raise ValueError(
                f"indices {idx.tolist()} out of range for an Atoms object with {n_total} atoms."
            )
        idx = idx % n_total
        if len(np.unique(idx)) != len(idx):
            raise ValueError(f"indices must not repeat an atom; got {idx.tolist()}.")
        return idx

    def _check_numbers(self, numbers: np.ndarray) -> None:
        expected = getattr(self.potential, "atomic_numbers", None)
        if expected is None:
            return
        if isinstance(expected, torch.Tensor):
            expected = expected.detach().cpu().numpy()
        expected = np.asarray(expected).reshape(-1)
        if len(expected) != len(numbers) or np.any(expected != numbers):
            raise ValueError(
                f"the potential was built for atomic numbers {expected.tolist()}, but the "
                f"atoms passed to it have {numbers.tolist()}. Reorder the Atoms object or pass "
                "`indices` that select the atoms in the order the potential expects."
            )

    def calculate(
        self,
        atoms: Any = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        idx = self._selected(len(self.atoms))
        self._check_numbers(self.atoms.numbers[idx])
        energy, forces_sub = energy_and_forces(self.potential, self.atoms.positions[idx][None])
        forces = np.zeros((len(self.atoms), 3))
        forces[idx] = forces_sub[0]
        self.results = {
            "energy": float(energy[0]),
            "free_energy": float(energy[0]),
            "forces": forces,
        }
