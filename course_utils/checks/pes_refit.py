"""Checks behind the test cells of the PES-refit exercise (``pes_refit``, O2 on Pd(100)).

The test cells of ``solutions/pes_refit/pes_refit.ipynb`` call these functions,
for the reasons given in :mod:`course_utils.checks._guard` (clear messages, no
points lost to warnings, no effect of redefining a check in the notebook); the
general helpers come from there and are re-exported here.

The student's fitted ``potential`` follows the course's contract
(:mod:`course_utils.pes.networks`): a :class:`torch.nn.Module` mapping positions
of shape (N, 2, 3) in Å to energies of shape (N,) in eV, its inputs (the
atom-centred features of :func:`course_utils.pes.atom_centred_features`) and
their standardisation inside it; forces come from autograd.

The error tiers are scored twice.  In the kernel, :func:`check_rmse_tier`
evaluates ``potential`` on the 500 configurations of ``load_pes_dataset("test")``
(feedback for the student).  The score that counts comes from the grader
(:data:`course_grader.heldout.PES_EVALUATOR`): it loads the TorchScript file the
notebook's read-only export cell writes, in a clean process, and calls
:func:`fresh_test_rmse` on configurations drawn with a seed the student never sees.

Student code runs inside the student's kernel: these in-kernel checks stop
accidents and casual tampering, not a determined attack.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_utils._validate import rmse
from course_utils.checks._guard import (
    array_digest,
    assert_close,
    assert_untampered,
    make_read_only,
    quiet,
)
from course_utils.pes import (
    A_SURF,
    N_ATOM_FEATURES,
    atom_centred_features,
    load_pes_dataset,
    symmetry_coordinates,
    to_cartesian,
)

__all__ = [
    "MIN_EPOCHS",
    "PES_RMSE_TIERS",
    "assert_close",
    "quiet",
    "check_collision",
    "check_energy_force_loss",
    "check_potential",
    "check_rmse_tier",
    "check_shape",
    "check_training_finished",
    "check_training_statistics",
    "fresh_test_rmse",
    "held_out_rmse",
    "match_configurations",
    "predict_energies",
    "energies_and_forces",
]

#: Tiers (meV) of the energy RMSE over held-out configurations with E <= 2 eV, each
#: worth its own points.  Calibrated on five seeds of the reference solution and of
#: an energy-only baseline: see tests/exercises/test_exercise_pes_refit.py (CALIBRATION).
PES_RMSE_TIERS: tuple[float, ...] = (500.0, 250.0, 150.0)

#: Fewest epochs a finished training loop records (the reference runs 70).
MIN_EPOCHS = 20

#: SHA-256 of the in-kernel held-out configurations and energies (load_pes_dataset("test")).
_HELD_OUT_SHA256 = "29cd9d444746d9165e431cf34b1f1c9e76636f1cbd1d25bf13276336994a1f8e"


def _numbers(value, expected: str) -> np.ndarray:
    """``value`` (array_like or tensor) as a float array; ``expected`` starts the message
    if it is not numbers, e.g. ``"x_mean should be a number, but it is"``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{expected} {type(value).__name__}.") from None


def check_shape(value, shape: tuple[int, ...], what: str) -> None:
    """Fail unless ``value`` (array or tensor) has ``shape``.

    The message reads like "y_train should have shape (4000, 1), but it has shape (4000,)."
    """
    got = getattr(value, "shape", None)
    if got is None:
        got = np.shape(value)
    got = tuple(int(n) for n in got)
    if got != tuple(shape):
        raise AssertionError(f"{what} should have shape {tuple(shape)}, but it has shape {got}.")


def _float_vector(value, name: str, size: int) -> np.ndarray:
    array = _numbers(value, f"{name} should be an array of {size} numbers, but it is")
    if array.shape not in ((size,), (1, size)):
        hint = (
            " Ten values suggest the symmetry coordinates Q1-Q10: use the atom-centred features."
            if array.size == 10
            else ""
        )
        raise AssertionError(
            f"{name} should have shape ({size},) (one entry per atom-centred feature), "
            f"but it has shape {array.shape}.{hint}"
        )
    if not np.all(np.isfinite(array)):
        raise AssertionError(f"{name} contains NaN or infinite values.")
    return array.reshape(size)


def _float_scalar(value, name: str) -> float:
    array = _numbers(value, f"{name} should be a number, but it is")
    if array.size != 1:
        raise AssertionError(f"{name} should be a single number, but it has shape {array.shape}.")
    number = float(array.reshape(-1)[0])
    if not math.isfinite(number):
        raise AssertionError(f"{name} is {number}: it must be a finite number.")
    return number


def _rmse_mev(predicted: np.ndarray, reference: np.ndarray) -> float:
    return 1000.0 * rmse(predicted, reference)


def _check_module(potential) -> None:
    if isinstance(potential, type):
        raise AssertionError(
            f"potential is the class {potential.__name__}, not a network: create one, "
            f"e.g. potential = {potential.__name__}(...)."
        )
    if not isinstance(potential, torch.nn.Module):
        raise AssertionError(
            f"potential must be a PyTorch network (a torch.nn.Module mapping positions "
            f"(N, 2, 3) in Å to energies (N,) in eV), not {type(potential).__name__}."
        )


def _dtype(potential) -> torch.dtype:
    for t in list(potential.parameters()) + list(potential.buffers()):
        if t.is_floating_point():
            return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float64
    return torch.float64


def energies_and_forces(potential, positions, *, forces: bool = True):
    """Energies (eV, shape (N,)) and forces (eV/Å, shape (N, 2, 3), or None) of ``potential``.

    The potential runs in ``eval()`` mode (left in the mode it was in), on positions of
    its parameters' dtype; forces are minus the autograd gradient.

    Raises
    ------
    AssertionError
        If the potential is not a module, fails, returns the wrong shape or non-finite
        values (the message says which).
    """
    assert_untampered()
    _check_module(potential)
    p = np.array(positions, dtype=float)  # a contiguous copy
    n = len(p)
    x = torch.tensor(p, dtype=_dtype(potential), requires_grad=forces)
    was_training = potential.training
    potential.eval()
    try:
        with quiet(), torch.set_grad_enabled(forces):
            out = potential(x)
    except Exception as exc:
        raise AssertionError(
            f"potential(positions) failed for positions of shape {tuple(x.shape)} "
            f"({type(exc).__name__}: {exc})."
        ) from None
    finally:
        potential.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise AssertionError(
            f"potential(positions) should return a torch.Tensor, but it returns "
            f"{type(out).__name__}."
        )
    check_shape(out, (n,), "potential(positions), one energy per configuration,")
    energy = out.detach().to(torch.float64).numpy()
    if not np.all(np.isfinite(energy)):
        raise AssertionError("the potential predicts NaN or infinite energies.")
    if not forces:
        return energy, None
    if not out.requires_grad:
        raise AssertionError(
            "the energies of the potential do not depend on the positions through autograd "
            "(no forces): do not detach or convert to NumPy inside forward()."
        )
    (grad,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    if grad is None:
        raise AssertionError("the energies of the potential do not depend on the positions.")
    force = -grad.detach().to(torch.float64).numpy()
    if not np.all(np.isfinite(force)):
        raise AssertionError("the potential predicts NaN or infinite forces.")
    return energy, force


def predict_energies(potential, coords) -> np.ndarray:
    """Energies (eV, shape (N,)) that ``potential`` predicts for configurations ``coords``
    (shape (N, 6): X, Y, Z, r, theta, phi); see :func:`energies_and_forces`."""
    return energies_and_forces(potential, to_cartesian(np.asarray(coords, float)), forces=False)[0]


def check_potential(potential) -> None:
    """The visible check of the fitted potential: the contract, and the training error.

    The potential must map the 4,000 training positions (4000, 2, 3) to 4,000 finite
    energies, have finite forces by autograd, and give the same energy when the two O
    atoms are exchanged.  Prints the energy and force RMSE on the training set (a hint,
    not a grade).

    Raises
    ------
    AssertionError
        Saying what breaks the contract.
    """
    train = load_pes_dataset("train", forces=True)
    positions = to_cartesian(train.coords)
    energy, force = energies_and_forces(potential, positions)
    swapped, _ = energies_and_forces(potential, positions[:, ::-1], forces=False)
    worst = float(np.abs(swapped - energy).max())
    if worst > 1e-4:
        raise AssertionError(
            f"exchanging the two O atoms changes the potential's energy by up to {worst:.3g} eV: "
            "its inputs must be symmetric in the two atoms."
        )
    print(
        f"The potential follows the contract. On the {len(energy):,} training configurations: "
        f"energy RMSE {_rmse_mev(energy, train.energy):.0f} meV, force RMSE "
        f"{rmse(force, train.forces):.2f} eV/Å (the grader uses other configurations)."
    )


def held_out_rmse(potential) -> float:
    """Energy RMSE (meV) of ``potential`` on the 500 configurations of
    ``load_pes_dataset("test")``.

    Raises
    ------
    RuntimeError
        If the held-out data are not the ones the tiers were calibrated on.
    AssertionError
        As :func:`energies_and_forces`.
    """
    coords, energy = load_pes_dataset("test", return_X_y=True)
    if array_digest(np.round(coords, 9), np.round(energy, 9)) != _HELD_OUT_SHA256:
        raise RuntimeError(
            "the held-out configurations differ from those the tiers were calibrated on "
            "(was course_utils.pes changed?); the grade would be meaningless."
        )
    return _rmse_mev(predict_energies(potential, coords), energy)


def fresh_test_rmse(potential, seed: int, n: int = 500) -> float:
    """Energy RMSE (meV) of ``potential`` on ``n`` configurations (E <= 2 eV) drawn from
    the data's distribution with ``seed``: the grader's trusted tier, with a seed the
    student never sees (:data:`course_grader.heldout.PES_EVALUATOR`).

    Raises
    ------
    AssertionError
        As :func:`energies_and_forces`.
    """
    coords, energy = load_pes_dataset("test", n=n, seed=int(seed), return_X_y=True)
    return _rmse_mev(predict_energies(potential, coords), energy)


def check_rmse_tier(potential, threshold: float) -> None:
    """Pass if the potential's held-out energy RMSE is at most ``threshold`` meV.

    Prints the RMSE either way and returns nothing (a returned value would be
    read by nbgrader as a partial score).

    Raises
    ------
    ValueError
        If ``threshold`` is not a positive number of meV.
    AssertionError
        If the RMSE is above ``threshold``, or the potential cannot be evaluated.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be a positive RMSE in meV, not {threshold}.")
    error = held_out_rmse(potential)
    if not error <= threshold:
        raise AssertionError(
            f"RMSE on the 500 held-out configurations: {error:.0f} meV, above the "
            f"{threshold:.0f} meV tier."
        )
    print(
        f"RMSE on the 500 held-out configurations: {error:.0f} meV: the {threshold:.0f} meV "
        f"tier is reached."
    )


def _reference_loss(net, x, jac, y, forces, force_weight):
    x = x.detach().requires_grad_(True)
    e = net(x)
    (grad,) = torch.autograd.grad(e.sum(), x, create_graph=True)
    predicted = -torch.einsum("bk,bkj->bj", grad, jac)
    return ((e - y) ** 2).mean() + force_weight * ((predicted - forces) ** 2).mean()


def check_energy_force_loss(loss_fn) -> None:
    """Check ``loss_fn(net, x, jac, y, forces, force_weight)`` on a small random batch.

    It must return the scalar loss of :mod:`course_utils.pes.fitting` (mean squared energy
    error plus ``force_weight`` times the mean squared force error, forces
    ``-(dE/dx) . jac``), with the same gradient with respect to the network's weights
    (so the force term must be built with ``create_graph=True``).

    Raises
    ------
    AssertionError
        Saying which value or gradient differs.
    """
    assert_untampered()
    with torch.random.fork_rng():
        torch.manual_seed(1234)
        net = torch.nn.Sequential(
            torch.nn.Linear(5, 8), torch.nn.SiLU(), torch.nn.Linear(8, 1)
        ).double()
        x, jac = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, 6, dtype=torch.float64)
        y, forces = torch.randn(6, 1, dtype=torch.float64), torch.randn(6, 6, dtype=torch.float64)
    for weight in (0.0, 1.0, 0.3):
        what = f"energy_force_loss(net, x, jac, y, forces, force_weight={weight})"
        net.zero_grad()
        expected = _reference_loss(net, x, jac, y, forces, weight)
        expected.backward()
        want = [p.grad.clone() for p in net.parameters()]
        net.zero_grad()
        try:
            with quiet():
                got = loss_fn(net, x.clone(), jac, y, forces, weight)
        except Exception as exc:
            raise AssertionError(f"{what} failed ({type(exc).__name__}: {exc}).") from None
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise AssertionError(f"{what} should return one number as a torch.Tensor.")
        assert_close(got.detach(), float(expected.detach()), what, rtol=1e-6)
        if not got.requires_grad:
            raise AssertionError(f"{what} is detached: training could not use its gradient.")
        got.reshape(()).backward()
        for p, w in zip(net.parameters(), want):
            if p.grad is None or not torch.allclose(p.grad, w, rtol=1e-5, atol=1e-8):
                raise AssertionError(
                    f"the gradient of {what} with respect to the weights is wrong: "
                    "build the forces with torch.autograd.grad(..., create_graph=True), so "
                    "that the force error can be differentiated."
                )


def check_training_finished(history, min_epochs: int = MIN_EPOCHS) -> None:
    """Fail unless ``history`` (the mean training loss of each epoch) shows a finished fit.

    Raises
    ------
    AssertionError
        If it holds fewer than ``min_epochs`` epochs (the loop stopped early, or was
        interrupted), non-finite losses, or a loss that did not fall to half its start.
    """
    assert_untampered()
    losses = _numbers(history, "history should be a list of the losses of each epoch, not")
    if losses.ndim != 1:
        raise AssertionError(
            f"history should be a list of one loss per epoch, but it has shape {losses.shape}."
        )
    if len(losses) < min_epochs:
        raise AssertionError(
            f"history holds the losses of {len(losses)} epochs: the training stopped early "
            f"(at least {min_epochs} expected). Run the training cell to its end."
        )
    if not np.all(np.isfinite(losses)):
        raise AssertionError("history contains NaN or infinite losses: the training diverged.")
    if not losses[-1] <= 0.5 * losses[0]:
        raise AssertionError(
            f"the loss went from {losses[0]:.3g} to {losses[-1]:.3g}: the training did not "
            "converge (check the loss and the learning rate)."
        )
    print(
        f"The training ran {len(losses)} epochs; the loss fell from {losses[0]:.3g} "
        f"to {losses[-1]:.3g}."
    )


def check_training_statistics(x_mean, x_std, y_mean, y_std) -> None:
    """Check that the standardisation uses the 4,000 training points and nothing else.

    The statistics must be those of ``atom_centred_features(to_cartesian(coords_train))``
    and ``E_train`` from ``load_pes_dataset("train")`` (standard deviations with
    ``ddof=0`` or ``ddof=1``).

    Raises
    ------
    AssertionError
        If a statistic differs, with a hint at the usual causes (validation or
        test points mixed in, Q1..Q10 instead of the atom-centred features, other
        energy units).
    """
    assert_untampered()
    x_mean = _float_vector(x_mean, "x_mean", N_ATOM_FEATURES)
    x_std = _float_vector(x_std, "x_std", N_ATOM_FEATURES)
    y_mean, y_std = _float_scalar(y_mean, "y_mean"), _float_scalar(y_std, "y_std")
    coords, energy = load_pes_dataset("train", return_X_y=True)
    f = atom_centred_features(to_cartesian(coords))

    leak = (
        "Compute them from the training set only: statistics that include validation or "
        "test points let information about those points leak into the model."
    )
    f_stds = [f.std(axis=0, ddof=d) for d in (0, 1)]
    if not np.allclose(x_mean, f.mean(axis=0), rtol=1e-4, atol=1e-5):
        raise AssertionError(f"x_mean is not the mean of the 4,000 training features. {leak}")
    if not any(np.allclose(x_std, s, rtol=1e-4, atol=1e-5) for s in f_stds):
        raise AssertionError(
            f"x_std is not the standard deviation of the 4,000 training features. {leak}"
        )
    if not math.isclose(y_mean, float(energy.mean()), rel_tol=1e-4, abs_tol=1e-5):
        raise AssertionError(
            f"y_mean = {y_mean:.4g} is not the mean of the training energies E_train "
            f"({energy.mean():.4g} eV). Keep energies in eV. {leak}"
        )
    if not any(math.isclose(y_std, float(energy.std(ddof=d)), rel_tol=1e-4) for d in (0, 1)):
        raise AssertionError(
            f"y_std = {y_std:.4g} is not the standard deviation of the training energies "
            f"E_train ({energy.std():.4g} eV). Keep energies in eV. {leak}"
        )


def _image_key(coords: np.ndarray) -> np.ndarray:
    """Per configuration: COM (x, y), Z, and the bond vector (6 numbers)."""
    pos = to_cartesian(coords)
    com = pos.mean(axis=-2)
    bond = pos[..., 1, :] - pos[..., 0, :]
    return np.concatenate([com, bond], axis=-1)


def _same(key_a: np.ndarray, key_b: np.ndarray, atol: float) -> bool:
    """Same atoms up to a lattice translation and the O-O exchange."""
    dxy = key_a[:2] - key_b[:2]
    dxy = dxy - A_SURF * np.round(dxy / A_SURF)  # lattice translations
    if np.abs(dxy).max() > atol or abs(key_a[2] - key_b[2]) > atol:
        return False
    # the O-O exchange turns the bond vector around
    return min(np.abs(key_a[3:] - key_b[3:]).max(), np.abs(key_a[3:] + key_b[3:]).max()) <= atol


#: The eight operations of C4v about a top site, as 2x2 matrices acting on (x, y).
_C4V = tuple(
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
)
_QUARTER_TURNS = (_C4V[1], _C4V[3])


def _is_quarter_turn(pair: np.ndarray, atol: float = 1e-6) -> bool:
    """True if the second configuration is the first turned in place by +-90 degrees about
    the surface normal through its centre of mass (chapter 6's collision), followed by any
    symmetry: a lattice translation, an operation of C4v, the O-O exchange."""
    a, b = _image_key(pair[0]), _image_key(pair[1])
    for turn in _QUARTER_TURNS:
        turned = a.copy()
        turned[3:5] = turn @ a[3:5]  # the bond turns, the centre of mass stays
        for op in _C4V:
            image = turned.copy()
            image[:2], image[3:5] = op @ turned[:2], op @ turned[3:5]
            if _same(image, b, atol):
                return True
    return False


def match_configurations(actual, expected, what: str, atol: float = 1e-6) -> None:
    """Check that ``actual`` holds the same configurations as ``expected``, in any order.

    Two rows are the same configuration if they put the two O atoms at the
    same places, up to a lattice translation and the labelling of the atoms.

    Parameters
    ----------
    actual, expected : array_like, shape (M, 6)
        X, Y, Z, r, theta, phi of M configurations.
    what : str
        How to name ``actual`` in the message.
    atol : float
        Tolerance in Å.

    Raises
    ------
    AssertionError
        If the shapes differ or a configuration of ``expected`` is missing.
    """
    assert_untampered()
    expected = np.asarray(expected, dtype=float)
    actual = _numbers(actual, f"{what} should be an array of numbers, not")
    check_shape(actual, expected.shape, what)
    if not np.all(np.isfinite(actual)):
        raise AssertionError(f"{what} contains NaN or infinite values.")
    try:
        keys_a = _image_key(actual)
    except ValueError as exc:
        raise AssertionError(f"{what} holds invalid coordinates: {exc}") from None
    keys_e = _image_key(expected)
    unused = list(range(len(keys_a)))
    for i, key in enumerate(keys_e):
        hit = next((j for j in unused if _same(keys_a[j], key, atol)), None)
        if hit is None:
            raise AssertionError(
                f"{what} misses the configuration {np.round(expected[i], 4).tolist()} "
                f"(X, Y, Z, r, theta, phi), or an equivalent one (a lattice translation or "
                f"the O-O exchange of it); every row must be a different image."
            )
        unused.remove(hit)


def check_collision(pair, min_gap: float = 0.1, e_max: float = 2.0) -> None:
    """Check a collision of the naive coordinates with the reference PES.

    ``pair`` must hold two configurations with the same naive inputs Q1..Q7
    (to 1e-6), energies at most ``e_max`` eV and energies that differ by at
    least ``min_gap`` eV (so they are not related by a symmetry), and the
    second must not be the first turned in place by 90 degrees, with or without a
    symmetry operation after it (chapter 6's collision, however it is dressed up).

    Raises
    ------
    AssertionError
        Saying which condition fails.
    """
    from course_utils.pes import reference_energy

    assert_untampered()
    pair = _numbers(pair, "collision should be an array of numbers, not")
    check_shape(pair, (2, 6), "collision (one row per configuration)")
    try:
        naive = symmetry_coordinates(pair, naive=True)
        energy = reference_energy(pair)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"collision holds invalid coordinates: {exc}") from None
    gap = np.abs(naive[0] - naive[1]).max()
    if gap > 1e-6:
        raise AssertionError(
            f"the two configurations have different naive coordinates Q1-Q7 "
            f"(largest difference {gap:.2g}): that is no collision."
        )
    if _is_quarter_turn(pair):
        raise AssertionError(
            "the second configuration is the first turned in place by 90 degrees (up to a "
            "lattice translation, a symmetry operation or the O-O exchange): that is the "
            "collision of chapter 6. Find a collision of another kind."
        )
    if energy.max() > e_max:
        raise AssertionError(
            f"the reference energies are {np.round(energy, 3).tolist()} eV: both "
            f"must be at most {e_max} eV, where molecules can actually go."
        )
    if abs(energy[0] - energy[1]) < min_gap:
        raise AssertionError(
            f"the reference energies {np.round(energy, 3).tolist()} eV differ by "
            f"less than {min_gap} eV."
        )
    print(f"A collision: same Q1-Q7, energies {energy[0]:.3f} and {energy[1]:.3f} eV.")


make_read_only(__name__)
