"""Atom-centred inputs, potential modules and their training (course_utils.pes.features,
networks, fitting): symmetry, completeness, the positions -> energies contract, forces."""

import math

import numpy as np
import pytest
import torch

from course_utils import pes
from course_utils.dynamics import run_scattering, sample_initial_conditions
from course_utils.pes.fitting import (
    fit_potential,
    input_jacobian,
    learning_curve,
    train_o2_potential,
)
from course_utils.potentials import TorchPotentialCalculator, energy_and_forces

A = pes.A_SURF


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks train far faster on one thread (and on a busy machine, much faster)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# the 8 operations of C4v about a top site, as 2x2 matrices acting on (x, y)
C4V = [
    np.array(m, dtype=float)
    for m in (
        [[1, 0], [0, 1]],
        [[0, -1], [1, 0]],
        [[-1, 0], [0, -1]],
        [[0, 1], [-1, 0]],
        [[-1, 0], [0, 1]],
        [[1, 0], [0, -1]],
        [[0, 1], [1, 0]],
        [[0, -1], [-1, 0]],
    )
]


def random_positions(rng, n, z=(0.5, 4.0), r=(0.9, 3.5), e_max=2.0):
    """Random configurations of the two O atoms with reference energy <= e_max."""
    out = []
    while sum(len(o) for o in out) < n:
        c = np.column_stack(
            [
                rng.uniform(-A, 2 * A, 4 * n),
                rng.uniform(-A, 2 * A, 4 * n),
                rng.uniform(*z, 4 * n),
                rng.uniform(*r, 4 * n),
                np.arccos(rng.uniform(-1, 1, 4 * n)),
                rng.uniform(-np.pi, np.pi, 4 * n),
            ]
        )
        c = c[pes.reference_energy(c) <= e_max]
        out.append(pes.to_cartesian(c))
    return np.concatenate(out)[:n]


def apply(op, shift, p):
    """A p4mm operation (C4v matrix then lattice translation) applied to both atoms."""
    q = p.copy()
    q[..., :2] = p[..., :2] @ op.T + shift
    return q


# --------------------------------------------------------------------------- features


def test_features_are_invariant_under_p4mm_and_exchange():
    rng = np.random.default_rng(0)
    p = random_positions(rng, 300)
    f = pes.atom_centred_features(p)
    assert f.shape == (300, pes.N_ATOM_FEATURES) == (300, len(pes.ATOM_FEATURE_NAMES))
    for op in C4V:
        for shift in ([0, 0], [A, 0], [0, -A], [2 * A, 3 * A]):
            np.testing.assert_allclose(
                pes.atom_centred_features(apply(op, np.array(shift), p)), f, atol=1e-10
            )
    np.testing.assert_allclose(pes.atom_centred_features(p[:, ::-1]), f, atol=1e-12)
    # and they are not trivially constant: a non-symmetry move changes them
    moved = p.copy()
    moved[:, :, 0] += 0.3 * A
    assert np.abs(pes.atom_centred_features(moved) - f).max() > 0.1


def test_features_far_from_the_surface_depend_on_r_only():
    c = np.array([[0.3, 1.1, 40.0, 1.3, 0.7, 2.0], [2.0, -0.4, 40.0, 1.3, 2.5, -1.0]])
    f = pes.atom_centred_features(pes.to_cartesian(c))
    np.testing.assert_allclose(f[:, 0], 1.3)
    assert np.abs(f[:, 1:]).max() < 1e-11


def test_features_numpy_and_torch_agree_and_have_finite_gradients():
    rng = np.random.default_rng(1)
    p = random_positions(rng, 50)
    t = torch.tensor(p, requires_grad=True)
    f = pes.atom_centred_features(t)
    np.testing.assert_allclose(f.detach().numpy(), pes.atom_centred_features(p), atol=1e-12)
    (g,) = torch.autograd.grad(f.sum(), t)
    assert torch.isfinite(g).all()


def _candidate_partners(p, rng):
    """Configurations that a careless set of inputs confuses with p (same per-atom sites)."""
    partners = {}
    c = pes.from_cartesian(p)
    turned = c.copy()
    turned[:, 5] += np.pi / 2  # the 90 degree turn in place of chapter 6
    partners["turn"] = pes.to_cartesian(turned)
    moved = pes.to_cartesian(turned)
    moved[..., 0] += A  # the turn plus a lattice translation
    partners["turn + translation"] = moved
    flipped = c.copy()
    flipped[:, 4] = np.pi - flipped[:, 4]
    partners["upside down"] = pes.to_cartesian(flipped)
    for k, op in enumerate(C4V[1:], 1):  # a symmetry operation of atom B's own, not of A
        b_only = p.copy()
        b_only[:, 1, :2] = p[:, 1, :2] @ op.T
        partners[f"C4v op {k} on atom B only"] = b_only
    b_shift = p.copy()
    b_shift[:, 1, 0] += A  # translate atom B alone by a lattice vector
    partners["atom B translated"] = b_shift
    return partners


def test_inputs_tell_inequivalent_configurations_apart():
    rng = np.random.default_rng(2)
    p = random_positions(rng, 2000)
    feats = pes.atom_centred_features
    f = feats(p)
    scale = f.std(axis=0) + 1e-12
    e = pes.reference_energy_cartesian(p)
    for name, partner in _candidate_partners(p, rng).items():
        e2 = pes.reference_energy_cartesian(partner)
        gap = np.abs(e2 - e)
        distance = np.abs((feats(partner) - f) / scale).max(axis=1)
        inequivalent = gap > 0.05  # the reference energy is exactly symmetric
        assert inequivalent.sum() > 50, name  # the search is not empty
        # equal inputs would force equal network energies; demand a clear separation
        assert distance[inequivalent].min() > 1e-3, f"collision of kind {name!r}"


def test_the_naive_set_fails_the_same_search():
    rng = np.random.default_rng(2)
    p = random_positions(rng, 500)
    e = pes.reference_energy_cartesian(p)
    partner = _candidate_partners(p, rng)["turn + translation"]
    gap = np.abs(pes.reference_energy_cartesian(partner) - e)
    naive = pes.symmetry_coordinates_cartesian(p, naive=True)
    distance = np.abs(pes.symmetry_coordinates_cartesian(partner, naive=True) - naive).max(1)
    assert np.sum((distance < 1e-9) & (gap > 0.1)) > 50  # many true collisions


def test_no_collisions_among_nearest_neighbours_in_input_space():
    """A randomised search: near-identical inputs must mean near-identical energies."""
    rng = np.random.default_rng(3)
    p = random_positions(rng, 4000, z=(0.5, 2.5))  # near the surface, where it matters
    f = torch.tensor(pes.atom_centred_features(p))
    x = (f - f.mean(0)) / f.std(0)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    distance, index = (t.numpy() for t in d.min(dim=1))
    e = pes.reference_energy_cartesian(p)
    gap = np.abs(e - e[index])
    # an energy jump at (almost) equal inputs would be a collision: the energy changes
    # at most in proportion to the distance in input space between nearest neighbours
    slope = gap / distance
    assert np.all(slope < 20.0), (slope.max(), distance[slope.argmax()], gap[slope.argmax()])


# --------------------------------------------------------------------------- potentials


def test_reference_potential_follows_the_contract():
    rng = np.random.default_rng(4)
    p = random_positions(rng, 40)
    ref = pes.ReferencePotential()
    e, f = energy_and_forces(ref, p)
    e0, f0 = pes.energy_and_forces(p)
    np.testing.assert_allclose(e, e0, atol=1e-12)
    np.testing.assert_allclose(f, f0, atol=1e-10)
    out = ref(torch.tensor(p, dtype=torch.float32))
    assert out.shape == (40,) and out.dtype == torch.float32
    with pytest.raises(ValueError, match=r"should have shape \(N, 2, 3\)"):
        ref(torch.zeros(3, 3))


def _tiny_trained(n=400, epochs=15, forces=True, seed=0, hidden=(16, 16), lr=1e-2):
    data = pes.load_pes_dataset("train", n=n, forces=True)
    p = pes.to_cartesian(data.coords)
    torch.manual_seed(seed)
    pot = pes.AtomCentredPotential(hidden=hidden)
    hist = fit_potential(
        pot,
        p,
        data.energy,
        data.forces if forces else None,
        epochs=epochs,
        batch_size=32,
        lr=lr,
        progress=False,
    )
    return pot, p, data, hist


def test_atom_centred_potential_is_symmetric_and_forces_are_gradients():
    pot, p, data, _ = _tiny_trained(n=200, epochs=3)
    e, f = energy_and_forces(pot, p[:50])
    assert e.shape == (50,) and f.shape == (50, 2, 3)
    for op in C4V:
        e2, f2 = energy_and_forces(pot, apply(op, np.array([A, -2 * A]), p[:50]))
        np.testing.assert_allclose(e2, e, atol=1e-5)
        # forces rotate with the configuration
        np.testing.assert_allclose(f2[..., :2], f[..., :2] @ op.T, atol=1e-4)
    e3, f3 = energy_and_forces(pot, p[:50, ::-1])
    np.testing.assert_allclose(e3, e, atol=1e-5)
    np.testing.assert_allclose(f3, f[:, ::-1], atol=1e-4)
    # finite differences of the module's own energy
    h = 1e-4
    plus, minus = p[:5].copy(), p[:5].copy()
    plus[:, 1, 2] += h
    minus[:, 1, 2] -= h
    fd = -(energy_and_forces(pot, plus)[0] - energy_and_forces(pot, minus)[0]) / (2 * h)
    np.testing.assert_allclose(f[:5, 1, 2], fd, atol=2e-3)


def test_training_jacobian_gives_the_autograd_forces():
    pot, p, *_ = _tiny_trained(n=100, epochs=2)
    x, jac = input_jacobian(pot, p[:20])
    xg = x.clone().requires_grad_(True)
    energy = pot.energy_from_scaled(xg)
    (g,) = torch.autograd.grad(energy.sum(), xg)
    chain = -torch.einsum("bk,bkj->bj", g, jac).reshape(20, 2, 3).numpy()
    np.testing.assert_allclose(chain, energy_and_forces(pot, p[:20])[1], atol=1e-4)


@pytest.mark.slow
def test_training_on_forces_lowers_the_errors():
    test = pes.load_pes_dataset("test", n=300, forces=True)
    pt = pes.to_cartesian(test.coords)
    errors = {}
    for forces in (False, True):
        pot, *_ = _tiny_trained(n=500, epochs=100, forces=forces, hidden=(32, 32), lr=5e-3)
        e, f = energy_and_forces(pot, pt)
        errors[forces] = (
            math.sqrt(np.mean((e - test.energy) ** 2)),
            math.sqrt(np.mean((f - test.forces) ** 2)),
        )
    # measured: energy 0.49 -> 0.25 eV, forces 3.1 -> 1.0 eV/Å on 500 configurations
    assert errors[True][1] < 0.5 * errors[False][1]
    assert errors[True][0] < 0.8 * errors[False][0]


def test_potentials_drive_ase_and_the_batched_dynamics():
    pot, p, *_ = _tiny_trained(n=200, epochs=2)
    atoms = pes.o2_atoms(pes.from_cartesian(p[0]), slab=pes.pd100_slab(size=(2, 2, 2)))
    atoms.calc = pes.PESCalculator(pot)
    e_calc = atoms.get_potential_energy()
    f_calc = atoms.get_forces()
    e, f = energy_and_forces(pot, p[:1])
    assert e_calc == pytest.approx(e[0], abs=1e-9)
    np.testing.assert_allclose(f_calc[-2:], f[0], atol=1e-9)
    assert np.all(f_calc[:-2] == 0)
    o2 = pes.o2_atoms(pes.from_cartesian(p[0]))
    o2.calc = TorchPotentialCalculator(pot)
    assert o2.get_potential_energy() == pytest.approx(e[0], abs=1e-9)

    ic = sample_initial_conditions(0.3, 6, z_start=4.0, rng=0)
    by_module = run_scattering(ic, pes.ReferencePotential(), max_time=100, progress=False)
    by_function = run_scattering(ic, pes.energy_and_forces, max_time=100, progress=False)
    np.testing.assert_allclose(by_module.verlet.positions, by_function.verlet.positions, atol=1e-9)
    assert run_scattering(ic, pot, max_time=20, progress=False).outcome.shape == (6,)


def test_module_contract_errors_are_clear():
    with pytest.raises(ValueError, match="one energy per configuration"):
        pes.PESCalculator(torch.nn.Identity())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pes.PESCalculator(lambda p: p.sum())
    with pytest.raises(ValueError, match=r"energies should have shape \(3,\)"):
        pes.AtomCentredPotential().fit_scaling(np.zeros((3, 2, 3)) + [[0, 0, 1], [1, 0, 1]], [1])


def test_learning_curve_recomputes_as_separate_fits():
    data = pes.load_pes_dataset("train", n=60, forces=True)
    test = pes.load_pes_dataset("test", n=40)
    p, pt = pes.to_cartesian(data.coords), pes.to_cartesian(test.coords)

    def make():
        return pes.AtomCentredPotential(hidden=(8,))

    curve = learning_curve(make, p, data.energy, data.forces, (pt, test.energy), [20, 60], steps=4)
    assert curve["sizes"].tolist() == [20, 60]
    # size 20 with forces, refitted by hand: 4 steps of 20 = 4 epochs
    torch.manual_seed(0)
    pot = make()
    fit_potential(
        pot,
        p[:20],
        data.energy[:20],
        data.forces[:20],
        epochs=4,
        batch_size=20,
        lr=1e-2,
        progress=False,
    )
    e = energy_and_forces(pot, pt)[0]
    rmse = 1000 * math.sqrt(np.mean((e - test.energy) ** 2))
    assert curve["energy_forces"][0] == pytest.approx(rmse, rel=1e-6)
    assert np.all(curve["energy_only"] != curve["energy_forces"])
    with pytest.raises(ValueError, match="only 60 training configurations"):
        learning_curve(make, p, data.energy, data.forces, (pt, test.energy), [100])


def test_train_o2_potential_uses_the_stated_data():
    pot, hist, data = train_o2_potential(300, e_max=0.6, r_max=2.0, hidden=(8,), epochs=1)
    assert isinstance(pot, pes.AtomCentredPotential) and len(hist["train_loss"]) == 1
    assert 0 < len(data["energies"]) < 300
    assert data["energies"].max() <= 0.6
    r = np.linalg.norm(data["positions"][:, 1] - data["positions"][:, 0], axis=-1)
    assert r.max() < 2.0
    np.testing.assert_allclose(pes.energy_and_forces(data["positions"])[1], data["forces"])


@pytest.mark.slow
def test_learning_curve_forces_beat_energies_at_every_size():
    data = pes.load_pes_dataset("train", n=500, e_max=0.6, forces=True)
    test = pes.load_pes_dataset("test", n=300, e_max=0.6)
    curve = learning_curve(
        lambda: pes.AtomCentredPotential(hidden=(32, 32)),
        pes.to_cartesian(data.coords),
        data.energy,
        data.forces,
        (pes.to_cartesian(test.coords), test.energy),
        [125, 500],
        steps=200,
    )
    # measured (1,000 test points): 447 -> 407 meV at 125, 351 -> 297 meV at 500
    assert np.all(curve["energy_forces"] < curve["energy_only"])
