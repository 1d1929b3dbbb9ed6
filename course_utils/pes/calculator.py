"""``PESCalculator``: the reference PES or a neural network as an ASE calculator."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..calculators import TorchPotentialCalculator


class PESCalculator(TorchPotentialCalculator):
    r"""ASE calculator for O2 on Pd(100): the reference PES or a neural network.

    Physics: the energy is the six-dimensional potential-energy surface
    :math:`E(\mathbf{r}_1, \mathbf{r}_2)` of the two O atoms above a frozen,
    bulk-terminated Pd(100) surface, in eV relative to gas-phase O2 at rest at
    its equilibrium bond length (``R_E``) far from the surface. By default it is
    the analytic LEPS model of :mod:`course_utils.pes` (site-interpolated Morse
    O-surface terms, a Morse O-O term coupled by Sato parameters, a molecular
    precursor well and a smooth far-field switch). The forces are
    :math:`\mathbf{F}_i = -\partial E / \partial \mathbf{r}_i` in eV/Å, from
    torch autograd of the same formula or of the neural network.  It is the course's
    :class:`~course_utils.calculators.TorchPotentialCalculator` with the two O atoms
    selected and the reference PES (:class:`ReferencePotential`) as default potential.

    The ``Atoms`` object must contain exactly two O atoms. Any other atoms must
    be Pd: they are the frozen surface (for example from :func:`pd100_slab`),
    are ignored by the energy and get zero force. Positions are read in the
    PES frame (origin on a top-layer Pd atom, surface plane z = 0; this is the
    frame of :func:`pd100_slab`). The energy is relative to gas-phase O2 at r_e
    (it does not include any slab energy).

    Parameters
    ----------
    model : torch.nn.Module, optional
        If ``None`` (default), the analytic reference PES. Otherwise a potential
        mapping positions (N, 2, 3) in Å to energies (N,) in eV (the course's
        contract, :mod:`course_utils.potentials`; e.g. :class:`AtomCentredPotential`),
        or a plain network of the symmetry coordinates (an ``nn.Sequential``
        taking (N, 10)) with its standardisation. Forces come from torch
        autograd. A Q-network with the wrong number of inputs is rejected
        with a ``ValueError``.
    x_mean, x_std, y_mean, y_std
        Optional input standardisation and output scaling of a Q-network, see
        :func:`energy_and_forces`.
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator` (e.g. ``label``).

    Examples
    --------
    >>> atoms = o2_atoms([HOLLOW[0], HOLLOW[1], 3.0, R_E, math.pi / 2, 0.0])
    >>> atoms.calc = PESCalculator()
    >>> e = atoms.get_potential_energy()
    """

    implemented_properties = ["energy", "free_energy", "forces"]
    #: Input standardisation and output scaling of a neural-network model (see
    #: :func:`energy_and_forces`); they have no effect on the reference PES.
    default_parameters = {
        **TorchPotentialCalculator.default_parameters,
        "x_mean": None,
        "x_std": None,
        "y_mean": 0.0,
        "y_std": 1.0,
    }

    def __init__(
        self,
        model: Any = None,
        *,
        x_mean: Any = None,
        x_std: Any = None,
        y_mean: float = 0.0,
        y_std: float = 1.0,
        **kwargs: Any,
    ) -> None:
        from .networks import ReferencePotential, as_potential

        self.model = model
        if model is None:
            potential = ReferencePotential()
        else:
            potential = as_potential(model, x_mean=x_mean, x_std=x_std, y_mean=y_mean, y_std=y_std)
        super().__init__(
            potential, x_mean=x_mean, x_std=x_std, y_mean=y_mean, y_std=y_std, **kwargs
        )

    def _selected(self, n_total: int) -> np.ndarray:
        """The two O atoms; any other atom must be Pd (the frozen surface)."""
        symbols = np.array(self.atoms.get_chemical_symbols())
        idx = np.flatnonzero(symbols == "O")
        if len(idx) != 2:
            raise ValueError(
                f"PESCalculator needs exactly two O atoms (plus optional Pd surface atoms); "
                f"got {len(idx)} O atoms in {self.atoms.get_chemical_formula()}."
            )
        other = sorted(set(symbols[symbols != "O"]) - {"Pd"})
        if other:
            raise ValueError(
                f"PESCalculator only knows O2 on Pd(100); got atoms of element(s) {other}."
            )
        return idx
