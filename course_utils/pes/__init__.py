"""Analytic reference potential-energy surface (PES) for O2 on Pd(100).

This subpackage implements the course's *model* PES of O2 on Pd(100):
a LEPS (London-Eyring-Polanyi-Sato) form with site-interpolated Morse
atom-surface terms, a shallow molecular precursor term and a smooth far-field
switch. It is built to reproduce published features of O2/Pd(100) (gas-phase
O2, O adsorption in the fourfold hollows, non-activated dissociation, a
molecular precursor on the bridge) but it is a model, **not** DFT. Students
sample "DFT-like" data from it and refit it with a neural network, exactly as
S. Lorenz, M. Scheffler and A. Gross, Phys. Rev. B 73, 115431 (2006) did for
H2/Pd(100).

Units and conventions
---------------------
* Energies in eV, lengths in Å, angles in radians, forces in eV/Å.
* Zero of energy: O2 at rest with bond length ``R_E`` far from the surface.
* PES frame: frozen, bulk-terminated Pd(100); the origin is on a top-layer Pd
  atom and the surface plane is ``z = 0``; x and y run along the Pd-Pd
  nearest-neighbour directions. Sites: ``TOP`` (0, 0), ``BRIDGE`` (a_s/2, 0),
  ``HOLLOW`` (a_s/2, a_s/2) with ``a_s = A_SURF``.
* Molecular (6D) coordinates, the columns of a ``coords`` array:
  ``X, Y, Z`` (centre of mass), ``r`` (O-O distance), ``theta`` (polar angle of
  the bond from the surface normal, in [0, pi]) and ``phi`` (azimuth from the
  x axis). With ``u = (sin th cos ph, sin th sin ph, cos th)`` the atoms are at
  ``positions[..., 0, :] = COM - (r/2) u`` and ``positions[..., 1, :] = COM + (r/2) u``.

Array conventions
-----------------
Every function takes a single configuration (shape ``(6,)`` or ``(2, 3)``) or
a batch with any number of leading dimensions (``(N, 6)``, or a grid such as
``(nZ, nr, 6)``); results keep the leading dimensions. NumPy input gives NumPy
float64 output. The functions ``reference_energy``,
``reference_energy_cartesian``, ``to_cartesian``, ``from_cartesian``,
``symmetry_coordinates`` and ``symmetry_coordinates_cartesian`` also accept
``torch.Tensor`` input and then return differentiable tensors (one formula,
evaluated with either NumPy or torch), which is how the forces are computed.

Importing this module has no side effects; torch and scikit-learn are
imported only when a function needs them.

Modules
-------
``constants``   the model's parameters and the surface geometry
``arrays``      input checks; one formula evaluated with NumPy or torch
``formula``     the PES formula and the public energy and force functions
``coordinates`` building 6D configurations, 6D <-> Cartesian, symmetry coordinates Q1..Q10
``dataset``     :func:`load_pes_dataset` and its sampling table
``model``       checks of a network of Q1..Q10
``features``    atom-centred, symmetry-adapted inputs (Behler style)
``networks``    potentials as torch modules, positions (N, 2, 3) -> energies (N,):
                :class:`ReferencePotential`, :class:`AtomCentredPotential`,
                :class:`SymmetryCoordinatePotential`
``fitting``     :func:`fit_potential` on energies or energies and forces
``calculator``  :class:`PESCalculator` (ASE)
``structures``  :func:`pd100_slab` and :func:`o2_atoms`

The public names are re-exported here: ``from course_utils.pes import X``.
"""

from . import constants
from .calculator import PESCalculator
from .constants import *  # noqa: F403 (the names in constants.__all__)
from .coordinates import (
    configurations,
    from_cartesian,
    symmetry_coordinates,
    symmetry_coordinates_cartesian,
    to_cartesian,
)
from .dataset import load_pes_dataset
from .features import ATOM_FEATURE_NAMES, N_ATOM_FEATURES, atom_centred_features
from .formula import (
    atom_surface_energy,
    energy_and_forces,
    reference_energy,
    reference_energy_cartesian,
    reference_forces,
)
from .structures import o2_atoms, pd100_slab

# the torch modules are imported on first use, so that importing the PES stays light
_LAZY = {
    "ReferencePotential": "networks",
    "AtomCentredPotential": "networks",
    "SymmetryCoordinatePotential": "networks",
    "fit_potential": "fitting",
}

__all__ = [
    *constants.__all__,
    "reference_energy",
    "reference_energy_cartesian",
    "reference_forces",
    "energy_and_forces",
    "atom_surface_energy",
    "configurations",
    "to_cartesian",
    "from_cartesian",
    "symmetry_coordinates",
    "symmetry_coordinates_cartesian",
    "load_pes_dataset",
    "PESCalculator",
    "pd100_slab",
    "o2_atoms",
    "ATOM_FEATURE_NAMES",
    "N_ATOM_FEATURES",
    "atom_centred_features",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
