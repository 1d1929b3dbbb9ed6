"""``TorchPotentialCalculator``: a potential of the course's contract as an ASE calculator.

Written like ASE's own calculators (``ase/calculators/lj.py``): ``implemented_properties``,
``default_parameters`` and the physics in the class docstring.  torch is imported when a
calculator is made, not when this module is imported, so that :mod:`course_utils.pes`
(whose ``PESCalculator`` builds on this class) stays light to import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

if TYPE_CHECKING:
    from torch import nn

__all__ = ["TorchPotentialCalculator"]


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
        from .potentials import _check_potential

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
        if hasattr(expected, "detach"):  # a torch tensor
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
        from .potentials import energy_and_forces

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
