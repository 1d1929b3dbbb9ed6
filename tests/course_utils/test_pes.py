"""Tests for course_utils.pes, the analytic O2/Pd(100) reference PES.

The reference numbers come from the "model gives" table of
design/o2_pd100_pes.md (tolerance 0.02 eV / 0.02 Å). Physics is checked with
limits and invariances, not only with snapshots.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import least_squares, minimize, minimize_scalar

import course_utils.pes as pes
from course_utils.pes import A_SURF, BRIDGE, HOLLOW, R_E, SITES, TOP

E = pes.reference_energy
TOL_E = 0.02  # eV
TOL_L = 0.02  # Å

# The 8 C4v operations about a top site, acting on (X, Y) and phi together.
C4V = {
    "identity": lambda x, y, p: (x, y, p),
    "rot90": lambda x, y, p: (-y, x, p + math.pi / 2),
    "rot180": lambda x, y, p: (-x, -y, p + math.pi),
    "rot270": lambda x, y, p: (y, -x, p - math.pi / 2),
    "mirror x->-x": lambda x, y, p: (-x, y, math.pi - p),
    "mirror y->-y": lambda x, y, p: (x, -y, -p),
    "mirror x<->y": lambda x, y, p: (y, x, math.pi / 2 - p),
    "mirror x<->-y": lambda x, y, p: (-y, -x, -math.pi / 2 - p),
}


def random_coords(rng, n, z=(0.8, 3.0), r=(1.0, 2.8)):
    """Random configurations near the surface, in the 6D coordinates."""
    return np.column_stack(
        [
            rng.uniform(-2 * A_SURF, 2 * A_SURF, n),
            rng.uniform(-2 * A_SURF, 2 * A_SURF, n),
            rng.uniform(*z, n),
            rng.uniform(*r, n),
            np.arccos(rng.uniform(-1, 1, n)),
            rng.uniform(-math.pi, math.pi, n),
        ]
    )


def apply_op(coords, op, flip=False, phi_op=None):
    """Apply a C4v operation to X, Y and phi (phi_op, if given, acts on phi instead)."""
    out = np.array(coords, dtype=float, copy=True)
    x0, y0, p0 = out[:, 0].copy(), out[:, 1].copy(), out[:, 5].copy()
    x, y, p = C4V[op](x0, y0, p0)
    if phi_op is not None:
        _, _, p = C4V[phi_op](x0, y0, p0)
    out[:, 0], out[:, 1], out[:, 5] = x, y, p
    if flip:
        out[:, 4] = math.pi - out[:, 4]
    return out


def exchange(coords):
    out = np.array(coords, dtype=float, copy=True)
    out[:, 4] = math.pi - out[:, 4]
    out[:, 5] = out[:, 5] + math.pi
    return out


def morse_oo(r):
    return pes.D_OO * (1.0 - np.exp(-pes.ALPHA_OO * (np.asarray(r) - R_E))) ** 2


def config(x, y, z, r, theta, phi):
    return np.array([x, y, z, r, theta, phi], dtype=float)


def minimax_barrier(V, start, product):
    """Lowest energy at which ``start`` is connected to the ``product`` cells on a grid.

    This is the barrier of the minimum-energy path on the grid (the energy of
    the lowest mountain pass), robust against jumps between valleys.
    """
    lo, hi = float(V[start]), float(V.max())
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lab, _ = ndimage.label(V <= mid)
        if lab[start] and np.any(lab[product] == lab[start]):
            hi = mid
        else:
            lo = mid
    return hi


def elbow(x, y, theta, phi, Z, r):
    ZZ, RR = np.meshgrid(Z, r, indexing="ij")
    c = np.stack(
        [
            np.full_like(ZZ, x),
            np.full_like(ZZ, y),
            ZZ,
            RR,
            np.full_like(ZZ, theta),
            np.full_like(ZZ, phi),
        ],
        -1,
    )
    return ZZ, RR, E(c)


# ---------------------------------------------------------------------------
# The "model gives" table
# ---------------------------------------------------------------------------


def test_gas_phase_o2_re_de_and_frequency():
    far = lambda r: float(E(config(0.3, 0.7, 30.0, r, math.pi / 2, 0.4)))
    res = minimize_scalar(far, bounds=(1.0, 1.5), method="bounded", options={"xatol": 1e-8})
    assert res.x == pytest.approx(1.2075, abs=1e-4)
    assert res.fun == pytest.approx(0.0, abs=1e-10)
    assert far(40.0) - res.fun == pytest.approx(5.213, abs=1e-6)
    # harmonic wavenumber from the curvature and the reduced mass of 16O2
    h = 1e-4
    k = (far(res.x + h) - 2 * far(res.x) + far(res.x - h)) / h**2  # eV / Å^2
    mu = pes.O_MASS / 2 * 1.66053906660e-27  # kg
    omega = math.sqrt(k * 1.602176634e-19 * 1e20 / mu)  # rad / s
    wavenumber = omega / (2 * math.pi * 2.99792458e10)
    assert wavenumber == pytest.approx(1580.0, abs=20.0)


def test_far_field_is_exactly_the_gas_phase_morse_curve():
    rng = np.random.default_rng(3)
    c = random_coords(rng, 500, z=(7.0, 12.0), r=(0.8, 3.0))
    # both atoms at least 7 Å above the surface
    c[:, 2] = np.maximum(c[:, 2], 7.0 + 0.5 * c[:, 3] * np.abs(np.cos(c[:, 4])))
    np.testing.assert_allclose(E(c), morse_oo(c[:, 3]), rtol=0, atol=1e-12)
    # the switch matters: without it there would be a few meV left at z = 6 Å
    assert abs(pes.atom_surface_energy(*HOLLOW, 6.0)) > 5e-4
    assert pes.atom_surface_energy(*HOLLOW, 7.0) == 0.0
    # and the energy stays smooth through the switching region
    z = np.linspace(4.0, 8.0, 2001)
    e = pes.atom_surface_energy(HOLLOW[0], HOLLOW[1], z)
    assert np.max(np.abs(np.diff(e, 2))) < 1e-6


@pytest.mark.parametrize("site", ["top", "bridge", "hollow"])
def test_single_o_atom_depth_and_height(site):
    x, y = SITES[site]

    # the real PES: atom 0 at height z above the site, atom 1 30 Å above the surface
    def one_atom(z):
        return float(E(config(x, y, 0.5 * (z + 30.0), 30.0 - z, 0.0, 0.0))) - pes.D_OO

    res = minimize_scalar(one_atom, bounds=(0.3, 3.0), method="bounded", options={"xatol": 1e-7})
    assert res.fun == pytest.approx(-pes.SITE_DEPTH[site], abs=TOL_E)
    assert res.x == pytest.approx(pes.SITE_HEIGHT[site], abs=TOL_L)
    expected = {"top": (-2.60, 1.90), "bridge": (-3.45, 1.45), "hollow": (-3.90, 0.85)}[site]
    assert (res.fun, res.x) == pytest.approx(expected, abs=TOL_E)
    # the exposed atom-surface term is the same thing
    assert pes.atom_surface_energy(x, y, res.x) == pytest.approx(res.fun, abs=1e-9)


@pytest.mark.parametrize("offset, expected", [((1, 0), -2.53), ((1, 1), -2.58)])
def test_two_o_atoms_in_separate_hollows(offset, expected):
    h = np.array(HOLLOW)

    def energy(z):
        pos = np.array(
            [[h[0], h[1], z[0]], [h[0] + offset[0] * A_SURF, h[1] + offset[1] * A_SURF, z[1]]]
        )
        return float(pes.reference_energy_cartesian(pos))

    res = minimize(energy, [1.0, 1.0])
    assert res.fun == pytest.approx(expected, abs=TOL_E)
    np.testing.assert_allclose(res.x, 0.85, atol=TOL_L)


Z_GRID = np.arange(0.3, 7.5, 0.02)
R_GRID = R_E + 0.02 * np.arange(-15, 240)  # contains r_e exactly


@pytest.mark.parametrize(
    "name, xy, phi",
    [
        ("over hollow", HOLLOW, 0.0),
        ("bridge to hollow", BRIDGE, math.pi / 2),
        ("top to bridge", TOP, 0.0),
    ],
)
def test_parallel_dissociation_is_not_activated(name, xy, phi):
    ZZ, RR, V = elbow(xy[0], xy[1], math.pi / 2, phi, Z_GRID, R_GRID)
    start = (len(Z_GRID) - 1, int(np.argmin(np.abs(R_GRID - R_E))))
    assert abs(V[start]) < 1e-12  # gas phase at r_e
    product = (RR > 2.5) & (V < -1.5)  # dissociated, strongly bound
    assert product.any()
    barrier = minimax_barrier(V, start, product)
    assert barrier <= 0.013 + 0.005
    # "min over r, max over Z" from the gas phase down to the dissociated minimum
    zmin = ZZ.flat[np.argmin(V)]
    assert np.max(V.min(axis=1)[Z_GRID >= zmin]) <= TOL_E


def test_parallel_over_bridge_along_pd_pd_has_small_barrier():
    ZZ, RR, V = elbow(BRIDGE[0], BRIDGE[1], math.pi / 2, 0.0, Z_GRID, R_GRID)
    start = (len(Z_GRID) - 1, int(np.argmin(np.abs(R_GRID - R_E))))
    product = (RR > 2.5) & (V < -1.5)
    assert minimax_barrier(V, start, product) == pytest.approx(0.08, abs=TOL_E)


@pytest.mark.parametrize("site, expected", [("top", -0.12), ("bridge", -0.21), ("hollow", -0.29)])
def test_end_on_wells_are_shallow(site, expected):
    x, y = SITES[site]
    g = lambda v: float(E(config(x, y, v[0], v[1], 0.0, 0.0)))
    best = min(
        (
            minimize(g, [z0, 1.22], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10})
            for z0 in (2.0, 2.5, 3.0)
        ),
        key=lambda res: res.fun,
    )
    assert best.fun == pytest.approx(expected, abs=TOL_E)
    assert best.x[1] == pytest.approx(R_E, abs=0.03)  # still molecular


def test_molecular_precursor_is_a_true_minimum_on_the_bridge():
    g = lambda v: float(E(v))
    start = [BRIDGE[0] + 0.05, 0.04, 1.8, 1.34, math.pi / 2 - 0.05, 0.3]
    res = minimize(g, start, method="BFGS", options={"gtol": 1e-8})
    X, Y, Z, r, theta, phi = res.x
    dx, dy = np.remainder(np.array([X, Y]) - BRIDGE + A_SURF / 2, A_SURF) - A_SURF / 2
    assert math.hypot(dx, dy) < TOL_L  # on a bridge (up to a lattice vector)
    assert theta == pytest.approx(math.pi / 2, abs=0.01)  # parallel
    assert Z == pytest.approx(1.75, abs=TOL_L)
    assert r == pytest.approx(1.34, abs=TOL_L)
    assert res.fun == pytest.approx(-0.94, abs=TOL_E)
    # a true minimum: positive-definite Hessian in all six coordinates
    h = 1e-4
    hess = np.empty((6, 6))
    for i in range(6):
        for j in range(6):
            ei, ej = np.eye(6)[i] * h, np.eye(6)[j] * h
            hess[i, j] = (
                g(res.x + ei + ej) - g(res.x + ei - ej) - g(res.x - ei + ej) + g(res.x - ei - ej)
            ) / (4 * h * h)
    assert np.linalg.eigvalsh(0.5 * (hess + hess.T)).min() > 0.1


def test_precursor_barrier_into_the_hollows():
    # bridge, parallel; grid in (Z, r, phi) from the precursor well to the atoms in the hollows
    Z = np.arange(0.6, 2.6, 0.025)
    r = np.arange(1.0, 3.4, 0.025)
    phi = np.linspace(0.0, math.pi / 2, 46)
    ZZ, RR, PP = np.meshgrid(Z, r, phi, indexing="ij")
    c = np.stack(
        [np.full_like(ZZ, BRIDGE[0]), np.zeros_like(ZZ), ZZ, RR, np.full_like(ZZ, math.pi / 2), PP],
        -1,
    )
    V = E(c)
    well = np.where((RR < 1.6) & (ZZ > 1.4), V, np.inf)
    start = np.unravel_index(np.argmin(well), V.shape)
    assert V[start] == pytest.approx(-0.94, abs=TOL_E)
    barrier = minimax_barrier(V, start, (RR > 2.5) & (V < -2.0)) - V[start]
    assert barrier == pytest.approx(0.08, abs=TOL_E)


# ---------------------------------------------------------------------------
# Symmetry
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rand_coords():
    return random_coords(np.random.default_rng(0), 400)


@pytest.mark.parametrize("op", list(C4V))
@pytest.mark.parametrize("fn", ["energy", "Q", "Q naive"])
def test_invariance_under_c4v_translations_and_exchange(rand_coords, op, fn):
    f = {
        "energy": E,
        "Q": pes.symmetry_coordinates,
        "Q naive": lambda c: pes.symmetry_coordinates(c, naive=True),
    }[fn]
    ref = f(rand_coords)
    rng = np.random.default_rng(1)
    t = apply_op(rand_coords, op)
    np.testing.assert_allclose(f(t), ref, rtol=0, atol=1e-10)
    t[:, :2] += A_SURF * rng.integers(-3, 4, size=(len(t), 2))  # lattice translations
    np.testing.assert_allclose(f(t), ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(f(exchange(t)), ref, rtol=0, atol=1e-10)
    t[:, 5] += 2 * math.pi * rng.integers(-2, 3, size=len(t))
    np.testing.assert_allclose(f(t), ref, rtol=0, atol=1e-10)


def test_exchange_of_atoms_in_cartesian_input(rand_coords):
    pos = pes.to_cartesian(rand_coords)
    swapped = pos[:, ::-1, :]
    np.testing.assert_allclose(pes.reference_energy_cartesian(swapped), E(rand_coords), atol=1e-10)
    np.testing.assert_allclose(
        pes.symmetry_coordinates_cartesian(swapped),
        pes.symmetry_coordinates(rand_coords),
        atol=1e-10,
    )


@pytest.mark.parametrize("theta", [0.0, math.pi])
def test_no_phi_dependence_along_the_surface_normal(rand_coords, theta):
    c = rand_coords.copy()
    c[:, 4] = theta
    ref_e, ref_q = E(c), pes.symmetry_coordinates(c)
    for phi in np.linspace(-3, 3, 7):
        c[:, 5] = phi
        np.testing.assert_allclose(E(c), ref_e, atol=1e-10)
        np.testing.assert_allclose(pes.symmetry_coordinates(c), ref_q, atol=1e-10)


def test_energy_has_lateral_and_orientational_dependence(rand_coords):
    # guard against trivially passing invariance tests
    c = rand_coords.copy()
    c[:, 0] += 0.3 * A_SURF
    assert np.max(np.abs(E(c) - E(rand_coords))) > 0.5
    c = rand_coords.copy()
    c[:, 5] += 0.4
    assert np.max(np.abs(E(c) - E(rand_coords))) > 0.5


def test_symmetry_coordinates_far_from_surface_lose_lateral_information():
    rng = np.random.default_rng(5)
    c = random_coords(rng, 200, z=(40.0, 60.0))
    q = pes.symmetry_coordinates(c)
    np.testing.assert_allclose(q[:, [3, 4, 5, 7, 8, 9]], 0.0, atol=1e-11)
    np.testing.assert_allclose(q[:, 0], c[:, 3])
    np.testing.assert_allclose(q[:, 1], c[:, 2])


def test_symmetry_coordinates_match_design_formulas(rand_coords):
    X, Y, Z, r, th, ph = rand_coords.T
    G = pes.G
    d, s, c = np.exp(-Z / 1.5), np.sin(th), np.cos(th)
    expected = np.column_stack(
        [
            r,
            Z,
            c**2,
            d * 0.5 * (np.cos(G * X) + np.cos(G * Y)),
            d * np.cos(G * X) * np.cos(G * Y),
            d * 0.5 * (np.cos(2 * G * X) + np.cos(2 * G * Y)),
            s**4 * np.cos(4 * ph),
            d * s**2 * np.cos(2 * ph) * 0.5 * (np.cos(G * X) - np.cos(G * Y)),
            d * s**2 * np.sin(2 * ph) * np.sin(G * X) * np.sin(G * Y),
            d * s * c * (np.cos(ph) * np.sin(G * X) + np.sin(ph) * np.sin(G * Y)),
        ]
    )
    np.testing.assert_allclose(pes.symmetry_coordinates(rand_coords), expected, atol=1e-12)
    np.testing.assert_allclose(
        pes.symmetry_coordinates(rand_coords, naive=True), expected[:, :7], atol=1e-12
    )
    assert pes.symmetry_coordinates(rand_coords[0]).shape == (10,)


def test_symmetry_coordinates_have_finite_gradients_everywhere():
    torch = pytest.importorskip("torch")
    c = np.array(
        [
            config(0.0, 0.0, 2.0, 1.2, 0.0, 0.0),  # theta = 0: phi undefined
            config(*HOLLOW, 1.5, 1.3, math.pi, 1.0),
            config(*BRIDGE, 1.7, 1.3, math.pi / 2, 0.0),
        ]
    )
    p = torch.tensor(pes.to_cartesian(c), requires_grad=True)
    q = pes.symmetry_coordinates_cartesian(p)
    for k in range(10):
        (g,) = torch.autograd.grad(q[:, k].sum(), p, retain_graph=True)
        assert torch.isfinite(g).all()


# ---------------------------------------------------------------------------
# Collisions: the naive set Q1..Q7 confuses inequivalent configurations, Q1..Q10 does not
# ---------------------------------------------------------------------------


def test_naive_set_collides_at_the_bridge_full_set_does_not():
    # bond along vs across the Pd-Pd axis of a bridge: same Q1..Q7, different energy
    along = config(*BRIDGE, 1.75, 1.34, math.pi / 2, 0.0)
    across = config(*BRIDGE, 1.75, 1.34, math.pi / 2, math.pi / 2)
    assert abs(float(E(along)) - float(E(across))) > 0.05
    np.testing.assert_allclose(
        pes.symmetry_coordinates(along, naive=True),
        pes.symmetry_coordinates(across, naive=True),
        atol=1e-14,
    )
    assert np.abs(pes.symmetry_coordinates(along) - pes.symmetry_coordinates(across)).max() > 0.05


def test_collisions_under_decoupled_lateral_and_orientational_operations(rand_coords):
    """Acting with one C4v operation on (X, Y) and another on phi (and optionally
    theta -> pi - theta) leaves Q1..Q7 unchanged. Whenever that changes the
    energy, the full set must see a different point."""
    c = rand_coords
    q_full, q_naive, e = pes.symmetry_coordinates(c), pes.symmetry_coordinates(c, naive=True), E(c)
    n_collisions = 0
    for g_xy in C4V:
        for g_phi in C4V:
            for flip in (False, True):
                t = apply_op(c, g_xy, flip=flip, phi_op=g_phi)
                np.testing.assert_allclose(
                    pes.symmetry_coordinates(t, naive=True), q_naive, atol=1e-12
                )
                de = np.abs(E(t) - e)
                dq = np.linalg.norm(pes.symmetry_coordinates(t) - q_full, axis=1)
                inequivalent = de > 0.05
                n_collisions += int(inequivalent.sum())
                assert np.all(dq[inequivalent] > 1e-6)
                # and equal full Q means equivalent (equal energy)
                assert np.all(de[dq < 1e-10] < 1e-9)
    assert n_collisions > 100


def _collision_search(naive, n_trials, seed):
    """Random pairs: minimise |Q(c2) - Q(c1)| over c2 from a random start.

    Returns (number of searches that reached Q(c2) == Q(c1), number of those
    with |E(c2) - E(c1)| > 0.05 eV, largest energy difference among those)."""
    rng = np.random.default_rng(seed)
    lower = [-np.inf, -np.inf, -np.inf, 0.05, 0.0, -np.inf]
    upper = [np.inf, np.inf, np.inf, np.inf, math.pi, np.inf]
    converged = collisions = 0
    max_de = 0.0
    for _ in range(n_trials):
        c1, c2 = random_coords(rng, 2, z=(1.0, 2.5), r=(1.1, 2.6))
        q1 = pes.symmetry_coordinates(c1, naive=naive)
        res = least_squares(
            lambda v, q1=q1: pes.symmetry_coordinates(v, naive=naive) - q1,
            c2,
            bounds=(lower, upper),
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        if np.linalg.norm(res.fun) < 1e-7:
            converged += 1
            de = abs(float(E(res.x)) - float(E(c1)))
            max_de = max(max_de, de)
            collisions += de > 0.05
    return converged, collisions, max_de


def test_randomised_collision_search():
    converged, collisions, _ = _collision_search(naive=True, n_trials=40, seed=11)
    assert converged >= 10 and collisions >= 5
    converged, collisions, max_de = _collision_search(naive=False, n_trials=40, seed=11)
    assert converged >= 10
    assert collisions == 0 and max_de < 1e-6


def test_symmetry_coordinates_are_locally_injective(rand_coords):
    # Jacobian dQ/dcoords has full rank 6 at generic points (no continuous collisions)
    h = 1e-6
    for c in rand_coords[:50]:
        jac = np.column_stack(
            [
                (pes.symmetry_coordinates(c + h * e) - pes.symmetry_coordinates(c - h * e))
                / (2 * h)
                for e in np.eye(6)
            ]
        )
        s = np.linalg.svd(jac, compute_uv=False)
        assert s[-1] > 1e-4 * s[0]


# ---------------------------------------------------------------------------
# Coordinates and forces
# ---------------------------------------------------------------------------


def test_cartesian_round_trip(rand_coords):
    pos = pes.to_cartesian(rand_coords)
    assert pos.shape == (len(rand_coords), 2, 3)
    np.testing.assert_allclose(np.linalg.norm(pos[:, 1] - pos[:, 0], axis=1), rand_coords[:, 3])
    np.testing.assert_allclose(pos.mean(axis=1), rand_coords[:, :3], atol=1e-12)
    back = pes.from_cartesian(pos)
    assert np.all((back[:, 4] >= 0) & (back[:, 4] <= math.pi))
    assert np.all((back[:, 5] > -math.pi) & (back[:, 5] <= math.pi))
    np.testing.assert_allclose(back[:, :5], rand_coords[:, :5], atol=1e-10)
    np.testing.assert_allclose(np.cos(back[:, 5] - rand_coords[:, 5]), 1.0, atol=1e-10)
    np.testing.assert_allclose(pes.reference_energy_cartesian(pos), E(rand_coords), atol=1e-10)
    # phi = -pi maps to +pi; theta = 0 gives phi = 0
    edge = pes.from_cartesian(np.array([[0.0, 0.0, 2.0], [-1.2, -0.0, 2.0]]))
    assert edge[5] == pytest.approx(math.pi)
    up = pes.from_cartesian(np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 3.2]]))
    np.testing.assert_allclose(up, [0.0, 0.0, 2.6, 1.2, 0.0, 0.0], atol=1e-12)


def test_grid_shapes_are_kept():
    c = np.zeros((4, 5, 6))
    c[..., 2], c[..., 3] = 3.0, 1.3
    assert E(c).shape == (4, 5)
    assert pes.to_cartesian(c).shape == (4, 5, 2, 3)
    assert pes.symmetry_coordinates(c).shape == (4, 5, 10)
    assert pes.reference_forces(c).shape == (4, 5, 2, 3)
    assert np.ndim(E(c[0, 0])) == 0
    assert E(np.empty((0, 6))).shape == (0,)


def test_forces_match_finite_differences():
    rng = np.random.default_rng(7)
    c = random_coords(rng, 30, z=(0.9, 6.5), r=(1.0, 3.0))
    c = c[E(c) < 5.0]
    pos = pes.to_cartesian(c)
    e, f = pes.energy_and_forces(pos)
    np.testing.assert_allclose(e, E(c), atol=1e-10)
    np.testing.assert_allclose(pes.reference_forces(c), f, atol=1e-12)
    h = 1e-5
    fd = np.empty_like(pos)
    for a in range(2):
        for k in range(3):
            dp = np.zeros_like(pos)
            dp[:, a, k] = h
            fd[:, a, k] = -(
                pes.reference_energy_cartesian(pos + dp) - pes.reference_energy_cartesian(pos - dp)
            ) / (2 * h)
    np.testing.assert_allclose(f, fd, atol=1e-6 * max(1.0, np.abs(f).max()))
    # far from the surface: no net force, the bond force is the Morse force
    far = pes.to_cartesian(config(0.1, 0.2, 10.0, 1.4, math.pi / 2, 0.3))
    _, ff = pes.energy_and_forces(far)
    np.testing.assert_allclose(ff.sum(axis=0), 0.0, atol=1e-12)


def test_torch_input_is_differentiable():
    torch = pytest.importorskip("torch")
    c = torch.tensor([[*HOLLOW, 2.0, 1.3, 1.2, 0.3]], dtype=torch.float64, requires_grad=True)
    e = pes.reference_energy(c)
    assert isinstance(e, torch.Tensor) and e.shape == (1,)
    assert float(e.detach()[0]) == pytest.approx(E(c.detach().numpy())[0], abs=1e-12)
    (g,) = torch.autograd.grad(e.sum(), c)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    q = pes.symmetry_coordinates(c)
    assert isinstance(q, torch.Tensor) and q.shape == (1, 10)


# ---------------------------------------------------------------------------
# ASE calculator and structures
# ---------------------------------------------------------------------------


def test_calculator_matches_reference_on_o2_and_on_slab():
    c = config(HOLLOW[0] + 0.2, HOLLOW[1] - 0.1, 1.9, 1.35, 1.3, 0.4)
    atoms = pes.o2_atoms(c)
    atoms.calc = pes.PESCalculator()
    e_ref, f_ref = pes.energy_and_forces(pes.to_cartesian(c))
    assert atoms.get_potential_energy() == pytest.approx(float(e_ref), abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), f_ref, atol=1e-12)

    slab = pes.pd100_slab(size=(2, 2, 3), vacuum=8.0)
    system = pes.o2_atoms(c, slab=slab)
    assert system.get_chemical_formula() == "O2Pd12"
    system.calc = pes.PESCalculator()
    assert system.get_potential_energy() == pytest.approx(float(e_ref), abs=1e-12)
    forces = system.get_forces()
    np.testing.assert_allclose(forces[-2:], f_ref, atol=1e-12)
    np.testing.assert_allclose(forces[:-2], 0.0)


def test_calculator_rejects_wrong_atoms():
    from ase import Atoms

    calc = pes.PESCalculator()
    with pytest.raises(ValueError, match="exactly two O atoms"):
        calc.get_potential_energy(Atoms("O3", positions=[[0, 0, 2], [0, 0, 3.2], [0, 0, 4.4]]))
    with pytest.raises(ValueError, match="element"):
        calc.get_potential_energy(Atoms("O2H", positions=[[0, 0, 2], [0, 0, 3.2], [0, 0, 4.4]]))


def test_velocity_verlet_conserves_energy():
    from ase import units
    from ase.md.verlet import VelocityVerlet

    atoms = pes.o2_atoms(config(BRIDGE[0] + 0.3, 0.2, 2.6, 1.25, 1.2, 0.5))
    atoms.calc = pes.PESCalculator()
    # 0.5 eV normal incidence (ASE velocity units: sqrt(eV/amu)) plus a little rotation
    vz = -math.sqrt(2 * 0.25 / atoms.get_masses()[0])
    atoms.set_velocities([[0.02, 0.0, vz], [-0.02, 0.0, vz]])
    e0 = atoms.get_potential_energy() + atoms.get_kinetic_energy()
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    energies = []
    dyn.attach(
        lambda: energies.append(atoms.get_potential_energy() + atoms.get_kinetic_energy()),
        interval=1,
    )
    dyn.run(50)
    assert len(energies) >= 50
    assert np.max(np.abs(np.array(energies) - e0)) < 1e-3
    assert atoms.positions[:, 2].mean() < 2.6 - 0.3  # it actually moved towards the surface


def _tiny_model(n_in, seed=0):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()


def test_calculator_with_torch_model():
    torch = pytest.importorskip("torch")
    model = _tiny_model(10)
    c = config(HOLLOW[0] + 0.2, 0.3, 1.9, 1.35, 1.3, 0.4)
    atoms = pes.o2_atoms(c)
    x_mean, x_std = np.linspace(0.0, 0.9, 10), np.linspace(1.0, 2.0, 10)
    atoms.calc = pes.PESCalculator(model, x_mean=x_mean, x_std=x_std, y_mean=-1.0, y_std=2.0)
    q = torch.tensor((pes.symmetry_coordinates(c)[None] - x_mean) / x_std)
    expected = float(model(q).detach()[0, 0]) * 2.0 - 1.0
    assert atoms.get_potential_energy() == pytest.approx(expected, abs=1e-10)
    # forces: finite differences of the calculator's own energy
    f = atoms.get_forces()
    h = 1e-5
    for a in range(2):
        for k in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, k] += h
            minus.positions[a, k] -= h
            plus.calc = minus.calc = atoms.calc
            ep = plus.get_potential_energy()
            em = minus.get_potential_energy()
            assert f[a, k] == pytest.approx(-(ep - em) / (2 * h), abs=1e-6)
    # float32 models and (N,) outputs work too; training flags are restored
    model32 = torch.nn.Sequential(
        torch.nn.Linear(10, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 1), torch.nn.Flatten(0)
    )
    model32.train()
    atoms.calc = pes.PESCalculator(model32)
    e1 = atoms.get_potential_energy()
    atoms.calc.reset()
    assert atoms.get_potential_energy() == e1  # eval mode: dropout off
    assert model32.training and model32[1].training


def test_calculator_rejects_model_with_wrong_input_size():
    with pytest.raises(ValueError, match=r"expects 7 input features.*10 symmetry coordinates"):
        pes.PESCalculator(_tiny_model(7))
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"one energy per configuration"):
        pes.PESCalculator(torch.nn.Linear(10, 3))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pes.PESCalculator(lambda q: q.sum(1))
    with pytest.raises(ValueError, match="x_mean must have 10 entries"):
        pes.PESCalculator(_tiny_model(10), x_mean=np.zeros(7))


def test_model_energy_and_forces_batch():
    model = _tiny_model(10)
    rng = np.random.default_rng(2)
    pos = pes.to_cartesian(random_coords(rng, 20))
    e, f = pes.energy_and_forces(pos, model)
    assert e.shape == (20,) and f.shape == (20, 2, 3)
    atoms = pes.o2_atoms(pes.from_cartesian(pos[3]))
    atoms.calc = pes.PESCalculator(model)
    assert atoms.get_potential_energy() == pytest.approx(e[3], abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), f[3], atol=1e-12)


def test_pd100_slab_frame():
    slab = pes.pd100_slab(size=(3, 3, 3), vacuum=10.0)
    assert len(slab) == 27 and set(slab.get_chemical_symbols()) == {"Pd"}
    z = slab.positions[:, 2]
    np.testing.assert_allclose(
        sorted(set(np.round(z, 6))),
        [-pes.LATTICE_CONSTANT, -pes.LATTICE_CONSTANT / 2, 0.0],
        atol=1e-6,
    )
    top = slab.positions[np.isclose(z, 0.0)]
    assert np.min(np.linalg.norm(top[:, :2], axis=1)) < 1e-9  # a top-layer atom at the origin
    second = slab.positions[np.isclose(z, -pes.LATTICE_CONSTANT / 2)]
    # second-layer atoms sit below the fourfold hollows
    frac = np.mod(second[:, :2] - np.array(HOLLOW), A_SURF)
    assert np.all(np.minimum(frac, A_SURF - frac) < 1e-9)
    assert np.linalg.norm(top[1, :2] - top[0, :2]) >= A_SURF - 1e-9


# ---------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datasets():
    return {s: pes.load_pes_dataset(s, seed=0) for s in ("train", "validation", "test")}


def test_dataset_shapes_and_bunch(datasets):
    b = datasets["train"]
    assert b.coords.shape == (4000, 6) and b.energy.shape == (4000,)
    assert b.coords.dtype == np.float64 and b.energy.dtype == np.float64
    assert b.feature_names == ["X", "Y", "Z", "r", "theta", "phi"]
    assert "e_max" in b.DESCR and b.data is b.coords and b.target is b.energy
    np.testing.assert_allclose(b.energy, E(b.coords), atol=1e-12)
    assert datasets["validation"].coords.shape == (500, 6)
    X, y = pes.load_pes_dataset("test", n=123, seed=4, return_X_y=True)
    assert X.shape == (123, 6) and y.shape == (123,)
    withf = pes.load_pes_dataset("test", n=10, forces=True)
    assert withf.forces.shape == (10, 2, 3)


def test_dataset_is_deterministic_and_nested():
    a = pes.load_pes_dataset("train", n=500, seed=3, return_X_y=True)
    b = pes.load_pes_dataset("train", n=500, seed=3, return_X_y=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    longer = pes.load_pes_dataset("train", n=900, seed=3, return_X_y=True)
    np.testing.assert_array_equal(longer[0][:500], a[0])
    other = pes.load_pes_dataset("train", n=500, seed=4, return_X_y=True)
    assert not np.allclose(other[0], a[0])


def test_dataset_splits_are_disjoint_and_all_is_their_union(datasets):
    rows = {s: {tuple(c) for c in b.coords} for s, b in datasets.items()}
    assert not rows["train"] & rows["validation"]
    assert not rows["train"] & rows["test"]
    assert not rows["validation"] & rows["test"]
    everything = {tuple(c) for c in pes.load_pes_dataset("all", seed=0).coords}
    assert everything == rows["train"] | rows["validation"] | rows["test"]


def test_dataset_energy_cap_and_coverage(datasets):
    c, e = datasets["train"].coords, datasets["train"].energy
    assert e.max() <= pes.E_MAX
    assert np.all(np.isfinite(e))
    assert np.all((c[:, 4] >= 0) & (c[:, 4] <= math.pi)) and np.all(c[:, 3] > 0)
    low = pes.load_pes_dataset("train", n=300, e_max=0.5)
    assert low.energy.max() <= 0.5
    # gas phase, with the exact Morse energy
    gas = c[:, 2] > 7.5
    assert gas.sum() > 100
    # dissociation near the surface
    assert np.sum((c[:, 3] > 2.0) & (c[:, 2] < 2.0)) > 400
    # dissociated state: atoms in the hollows, bound by more than 2 eV
    assert np.sum((c[:, 3] > 2.5) & (e < -2.0)) > 100
    assert np.sum((c[:, 3] > 2.5) & (e < -1.5)) > 300
    # molecular precursor region: parallel, near a bridge, bound molecule
    cx, cy = np.cos(pes.G * c[:, 0]), np.cos(pes.G * c[:, 1])
    bridge = (cx * cy < -0.8) & (np.abs(c[:, 2] - 1.75) < 0.3) & (np.abs(c[:, 3] - 1.34) < 0.1)
    assert np.sum(bridge & (e < -0.6)) > 30
    # entrance channel and a spread of energies
    assert np.sum((c[:, 2] > 2.0) & (c[:, 2] < 5.0)) > 500
    assert e.min() < -2.5 and np.sum(e > 1.0) > 50


def test_dataset_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of"):
        pes.load_pes_dataset("training")
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        pes.load_pes_dataset("train", n=-5)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        pes.load_pes_dataset("train", seed=1.5)
    with pytest.raises(ValueError, match="e_max must be a positive"):
        pes.load_pes_dataset("train", e_max=float("nan"))


# ---------------------------------------------------------------------------
# Input validation and import hygiene
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.zeros((3, 5)), ValueError, r"shape \(N, 6\).*got shape \(3, 5\)"),
        (np.zeros(7), ValueError, r"shape \(N, 6\)"),
        (5.0, ValueError, r"shape \(N, 6\)"),
        ([[0, 0, 2, 1.2, 0.5, np.nan]], ValueError, "NaN or inf"),
        ([[0, 0, np.inf, 1.2, 0.5, 0.0]], ValueError, "NaN or inf"),
        ([[0, 0, 2, 0.0, 0.5, 0.0]], ValueError, r"bond length r .* must be > 0"),
        ([[0, 0, 2, -1.2, 0.5, 0.0]], ValueError, r"must be > 0"),
        ([[0, 0, 2, 1.2, 3.5, 0.0]], ValueError, r"theta .* \[0, pi\].*radians"),
        ([[0, 0, 2, 1.2, -0.1, 0.0]], ValueError, r"theta"),
        ([[0, 0, 2, 1.2, 90.0, 0.0]], ValueError, r"np.radians"),
        ([["a", "b", "c", "d", "e", "f"]], TypeError, "numeric"),
        (np.array([[None] * 6]), TypeError, "numeric"),
        ([[0, 0, 2, 1.2j, 0.5, 0.0]], TypeError, "real numeric"),
    ],
)
@pytest.mark.parametrize(
    "fn",
    [pes.reference_energy, pes.reference_forces, pes.to_cartesian, pes.symmetry_coordinates],
)
def test_bad_coords_are_rejected(fn, bad, exc, match):
    with pytest.raises(exc, match=match):
        fn(bad)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 3)), r"shape \(N, 2, 3\)"),
        (np.zeros((2, 3)), "coincide"),
        (np.full((1, 2, 3), np.nan), "NaN or inf"),
    ],
)
@pytest.mark.parametrize(
    "fn",
    [
        pes.reference_energy_cartesian,
        pes.from_cartesian,
        pes.symmetry_coordinates_cartesian,
        pes.energy_and_forces,
    ],
)
def test_bad_positions_are_rejected(fn, bad, match):
    with pytest.raises(ValueError, match=match):
        fn(bad)


def test_integer_input_is_accepted():
    assert float(E([0, 0, 30, 1, 0, 0])) == pytest.approx(float(morse_oo(1.0)))


def test_import_is_light_and_has_no_side_effects():
    code = (
        "import sys, warnings, numpy, ase.calculators.calculator; "
        "before = list(warnings.filters); "
        "import course_utils.pes; "
        "assert warnings.filters == before, 'warnings filters changed'; "
        "heavy = [m for m in ('torch', 'sklearn', 'matplotlib', 'scipy') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_configurations_broadcasts_a_grid_and_fixed_coordinates():
    X, Y = np.meshgrid(np.linspace(0, 1, 4), np.linspace(0, 2, 3))
    c = pes.configurations(X, Y, 1.8, 1.34, phi=0.5)
    assert c.shape == (3, 4, 6)
    np.testing.assert_array_equal(c[..., 0], X)
    np.testing.assert_array_equal(c[..., 1], Y)
    fixed = np.broadcast_to([1.8, 1.34, np.pi / 2, 0.5], (3, 4, 4))
    np.testing.assert_array_equal(c[..., 2:], fixed)
    # the same energies as the configurations built by hand, row by row
    by_hand = np.array([[x, y, 1.8, 1.34, np.pi / 2, 0.5] for x, y in zip(X.ravel(), Y.ravel())])
    np.testing.assert_allclose(pes.reference_energy(c).ravel(), pes.reference_energy(by_hand))
    with pytest.raises(ValueError, match="broadcast to one shape"):
        pes.configurations(np.zeros(3), np.zeros(4), 1.0, 1.2)
