"""Tests for course_utils/descriptors.py (Behler–Parrinello G2/G4 functions)."""

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from course_utils.descriptors import (
    angular_symmetry_functions,
    cutoff_function,
    radial_symmetry_functions,
)

G2 = dict(etas=[0.5, 1.0, 4.0], shifts=[0.0, 1.0, 2.0], cutoff=4.0)
G4 = dict(etas=[0.05, 0.2, 0.05, 0.2], zetas=[1, 1, 4, 4], lambdas=[1, -1, 1, -1], cutoff=4.0)


def _cluster(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.6, 1.6, size=(n, 3))


def _species(n=6):
    return ["O" if k % 3 == 0 else "Pd" for k in range(n)]


def _g4_loop(pos, eta, zeta, lam, rc):
    """Textbook double loop, written independently of the vectorised code."""
    out = np.zeros(len(pos))
    for i in range(len(pos)):
        for j, k in itertools.combinations([a for a in range(len(pos)) if a != i], 2):
            rij, rik = pos[j] - pos[i], pos[k] - pos[i]
            dij, dik, djk = (
                np.linalg.norm(rij),
                np.linalg.norm(rik),
                np.linalg.norm(pos[k] - pos[j]),
            )
            cos = rij @ rik / (dij * dik)
            fc = [0.5 * (np.cos(np.pi * d / rc) + 1) if d < rc else 0.0 for d in (dij, dik, djk)]
            out[i] += (
                2 ** (1 - zeta)
                * (1 + lam * cos) ** zeta
                * np.exp(-eta * (dij**2 + dik**2 + djk**2))
                * np.prod(fc)
            )
    return out


def test_cutoff_function_limits_and_smoothness():
    r = np.array([0.0, 2.0, 4.0, 5.0])
    assert np.allclose(cutoff_function(r, 4.0), [1.0, 0.5, 0.0, 0.0])
    # zero slope at the cutoff: the value just inside is second order small
    assert cutoff_function(4.0 - 1e-4, 4.0) < 1e-8


def test_g2_of_a_dimer_is_the_analytic_gaussian():
    d = 1.3
    pos = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0]])
    g = radial_symmetry_functions(pos, etas=2.0, shifts=1.0, cutoff=3.0)
    expected = np.exp(-2.0 * (d - 1.0) ** 2) * 0.5 * (np.cos(np.pi * d / 3.0) + 1)
    assert g.shape == (2, 1)
    assert np.allclose(g, expected)


def test_g4_matches_an_explicit_loop():
    pos = _cluster(5, seed=3)
    got = angular_symmetry_functions(pos, **G4)
    for p, (eta, zeta, lam) in enumerate(zip(G4["etas"], G4["zetas"], G4["lambdas"])):
        assert np.allclose(got[:, p], _g4_loop(pos, eta, zeta, lam, G4["cutoff"]))


@pytest.mark.parametrize("species", [None, _species()])
def test_invariant_under_rotation_reflection_and_translation(species):
    pos = _cluster()
    rot = Rotation.random(random_state=1).as_matrix()
    moved = pos @ rot.T * np.array([1, 1, -1]) + np.array([3.0, -7.0, 0.5])  # plus a mirror
    for fn, kw in ((radial_symmetry_functions, G2), (angular_symmetry_functions, G4)):
        assert np.allclose(fn(pos, species=species, **kw), fn(moved, species=species, **kw))


@pytest.mark.parametrize("species", [None, _species()])
def test_permuting_atoms_permutes_the_rows(species):
    pos = _cluster()
    perm = np.random.default_rng(2).permutation(len(pos))
    sp_perm = None if species is None else [species[k] for k in perm]
    for fn, kw in ((radial_symmetry_functions, G2), (angular_symmetry_functions, G4)):
        assert np.allclose(
            fn(pos, species=species, **kw)[perm], fn(pos[perm], species=sp_perm, **kw)
        )


def test_cartesian_coordinates_are_not_invariant_but_g_functions_tell_shapes_apart():
    pos = _cluster()
    rot = Rotation.random(random_state=4).as_matrix()
    assert not np.allclose(pos, pos @ rot.T)  # the raw input would change
    stretched = pos.copy()
    stretched[0] *= 1.2  # a genuinely different structure
    for fn, kw in ((radial_symmetry_functions, G2), (angular_symmetry_functions, G4)):
        assert not np.allclose(fn(pos, **kw), fn(stretched, **kw))


def test_species_blocks_add_up_to_the_element_blind_functions():
    pos, species = _cluster(), _species()
    g2 = radial_symmetry_functions(pos, species=species, **G2)
    g2_all = radial_symmetry_functions(pos, **G2)
    assert g2.shape == (6, 2 * 3)
    assert np.allclose(g2[:, :3] + g2[:, 3:], g2_all)
    g4 = angular_symmetry_functions(pos, species=species, **G4)
    g4_all = angular_symmetry_functions(pos, **G4)
    assert g4.shape == (6, 3 * 4)  # O-O, O-Pd, Pd-Pd
    assert np.allclose(g4[:, :4] + g4[:, 4:8] + g4[:, 8:], g4_all)


def test_atoms_beyond_the_cutoff_do_not_contribute():
    pos = _cluster(4)
    far = np.vstack([pos, [[50.0, 0.0, 0.0]]])
    g2 = radial_symmetry_functions(far, **G2)
    g4 = angular_symmetry_functions(far, **G4)
    assert np.allclose(g2[:4], radial_symmetry_functions(pos, **G2))
    assert np.allclose(g4[:4], angular_symmetry_functions(pos, **G4))
    assert np.allclose(g2[4], 0.0) and np.allclose(g4[4], 0.0)


def test_functions_are_continuous_as_a_neighbour_crosses_the_cutoff():
    base = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    values = []
    for x in (3.999, 4.0, 4.001):
        pos = np.vstack([base, [[0.0, x, 0.0]]])
        values.append(radial_symmetry_functions(pos, **G2)[0])
    assert np.allclose(values[0], values[1], atol=1e-6) and np.allclose(values[1], values[2])


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: radial_symmetry_functions(np.zeros((3, 2)), etas=1.0), ValueError),
        (lambda: radial_symmetry_functions([[0, 0, np.nan]], etas=1.0), ValueError),
        (lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=-1.0), ValueError),
        (
            lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=[1, 2], shifts=[0, 1, 2]),
            ValueError,
        ),
        (lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=1.0, cutoff=0.0), ValueError),
        (lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=1.0, cutoff="6"), TypeError),
        (lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=1.0, species=["O"]), ValueError),
        (lambda: radial_symmetry_functions(np.zeros((2, 3)), etas=1.0, species="OO"), TypeError),
        (
            lambda: angular_symmetry_functions(np.zeros((3, 3)), etas=1, zetas=1, lambdas=0.5),
            ValueError,
        ),
        (
            lambda: angular_symmetry_functions(np.zeros((3, 3)), etas=1, zetas=0.5, lambdas=1),
            ValueError,
        ),
        (lambda: angular_symmetry_functions("abc", etas=1, zetas=1, lambdas=1), TypeError),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(call, error):
    with pytest.raises(error):
        call()
