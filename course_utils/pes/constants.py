"""Physical constants, surface geometry and parameters of the O2@Pd(100) model PES."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "LATTICE_CONSTANT",
    "A_SURF",
    "G",
    "TOP",
    "BRIDGE",
    "HOLLOW",
    "SITES",
    "D_OO",
    "R_E",
    "ALPHA_OO",
    "DELTA_OO",
    "ALPHA_S",
    "DELTA_S",
    "SITE_DEPTH",
    "SITE_HEIGHT",
    "PRECURSOR_DEPTH",
    "PRECURSOR_Z",
    "PRECURSOR_Z_WIDTH",
    "PRECURSOR_R",
    "PRECURSOR_R_WIDTH",
    "SWITCH_START",
    "SWITCH_END",
    "ZETA",
    "O_MASS",
    "E_MAX",
    "COORD_NAMES",
    "SYMMETRY_COORD_NAMES",
    "N_SYMMETRY_COORDS",
]

#: Pd fcc lattice constant (experiment), Å.
LATTICE_CONSTANT: float = 3.8907
#: Surface lattice constant of Pd(100), a / sqrt(2) = 2.751 Å (nearest Pd-Pd distance).
A_SURF: float = LATTICE_CONSTANT / math.sqrt(2.0)
#: Reciprocal surface lattice constant 2 pi / A_SURF, 1/Å.
G: float = 2.0 * math.pi / A_SURF

#: Top site (x, y) in Å: directly above the top-layer Pd atom at the origin.
TOP: tuple[float, float] = (0.0, 0.0)
#: Bridge site (x, y) in Å, between the Pd atoms at (0, 0) and (A_SURF, 0);
#: the Pd-Pd axis of this bridge is the x axis.
BRIDGE: tuple[float, float] = (A_SURF / 2.0, 0.0)
#: Fourfold hollow site (x, y) in Å, above a second-layer Pd atom.
HOLLOW: tuple[float, float] = (A_SURF / 2.0, A_SURF / 2.0)
#: The three high-symmetry sites by name.
SITES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"top": TOP, "bridge": BRIDGE, "hollow": HOLLOW}
)

#: O-O Morse well depth D_e, eV (D0 = 5.116 eV plus zero-point energy 0.098 eV).
D_OO: float = 5.213
#: O2 equilibrium bond length, Å.
R_E: float = 1.2075
#: O-O Morse range parameter, 1/Å (gives a harmonic wavenumber of about 1580 cm^-1).
ALPHA_OO: float = 2.654
#: Sato parameter of the O-O pair.
DELTA_OO: float = -0.20

#: Range parameter of the O-surface Morse terms, 1/Å.
ALPHA_S: float = 1.5
#: Sato parameter of the O-surface terms.
DELTA_S: float = 0.40
#: O-surface well depth at the top, bridge and hollow sites, eV.
SITE_DEPTH: Mapping[str, float] = MappingProxyType({"top": 2.60, "bridge": 3.45, "hollow": 3.90})
#: O-surface equilibrium height at the top, bridge and hollow sites, Å.
SITE_HEIGHT: Mapping[str, float] = MappingProxyType({"top": 1.90, "bridge": 1.45, "hollow": 0.85})

#: Depth prefactor of the molecular precursor term, eV.
PRECURSOR_DEPTH: float = 0.6
#: Centre height (Å) and Gaussian width (Å) of the precursor term in Z.
PRECURSOR_Z: float = 1.75
PRECURSOR_Z_WIDTH: float = 0.35
#: Centre bond length (Å) and Gaussian width (Å) of the precursor term in r.
PRECURSOR_R: float = 1.36
PRECURSOR_R_WIDTH: float = 0.12

#: The atom-surface terms (per atom, in the atom's height z) and the precursor
#: term (in Z) are multiplied by a quintic switch that is 1 below SWITCH_START
#: and 0 above SWITCH_END (Å), C2-continuous, so that far from the surface the
#: PES is exactly the gas-phase O2 Morse curve.
SWITCH_START: float = 5.5
SWITCH_END: float = 7.0

#: Decay length zeta (Å) of d = exp(-Z / zeta) in the symmetry coordinates.
ZETA: float = 1.5

#: Mass of an 16O atom in atomic mass units (for vibrational frequencies).
O_MASS: float = 15.994915

#: Default energy cap (eV) of :func:`load_pes_dataset`.
E_MAX: float = 2.0

#: Names of the six molecular coordinates (columns of ``coords``).
COORD_NAMES: tuple[str, ...] = ("X", "Y", "Z", "r", "theta", "phi")
#: Names of the symmetry-adapted coordinates returned by :func:`symmetry_coordinates`.
SYMMETRY_COORD_NAMES: tuple[str, ...] = tuple(f"Q{i}" for i in range(1, 11))
#: Number of (full) symmetry-adapted coordinates; the naive set has 7.
N_SYMMETRY_COORDS: int = 10

_THETA_TOL = 1e-9  # tolerance on theta in [0, pi] for round-off in user code
