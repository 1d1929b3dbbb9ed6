"""Checks behind the test cells of the PES-refit exercise (``pes_refit``, O2 on Pd(100)).

The test cells of ``solutions/pes_refit/pes_refit.ipynb`` call these functions,
for the reasons given in :mod:`course_utils.checks._guard` (clear messages, no
points lost to warnings, no effect of redefining a check in the notebook); the
general helpers come from there and are re-exported here.

The fitted network is graded on data the notebook never touches:
:func:`check_rmse_tier` evaluates the student's ``model``, with the student's
standardisation, on the 500 configurations of ``load_pes_dataset("test")``.
The energy a model predicts follows the convention of
:func:`course_utils.pes.energy_and_forces` and
:class:`course_utils.pes.PESCalculator`::

    E (eV) = model((Q - x_mean) / x_std) * y_std + y_mean,   Q = symmetry_coordinates(coords)

Student code runs inside the student's kernel, which is not a sandbox: these
checks stop accidents and casual tampering, not a determined attack.
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
    check_network,
    make_read_only,
    quiet,
    run_network,
)
from course_utils.pes import (
    A_SURF,
    N_SYMMETRY_COORDS,
    load_pes_dataset,
    symmetry_coordinates,
    to_cartesian,
)

__all__ = [
    "PES_RMSE_TIERS",
    "assert_close",
    "quiet",
    "check_collision",
    "check_pes_model",
    "check_rmse_tier",
    "check_training_statistics",
    "held_out_rmse",
    "match_configurations",
    "predict_energies",
]

#: Tiers (meV) of the root-mean-square error on the 500 held-out configurations,
#: each worth its own points. See the exercise notebook for how they were chosen.
PES_RMSE_TIERS: tuple[float, ...] = (500.0, 300.0, 250.0)

#: SHA-256 of the held-out configurations and energies the tiers were calibrated on.
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


def _float_vector(value, name: str, size: int) -> np.ndarray:
    array = _numbers(value, f"{name} should be an array of {size} numbers, but it is")
    if array.shape not in ((size,), (1, size)):
        hint = (
            " Seven values suggest the naive coordinates Q1-Q7: use all ten."
            if array.size == 7
            else ""
        )
        raise AssertionError(
            f"{name} should have {size} entries (one per symmetry coordinate Q1..Q10), "
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


def _check_scaling(x_mean, x_std, y_mean, y_std):
    x_mean = _float_vector(x_mean, "x_mean", N_SYMMETRY_COORDS)
    x_std = _float_vector(x_std, "x_std", N_SYMMETRY_COORDS)
    if np.any(x_std <= 0):
        raise AssertionError(f"x_std must be positive, but it is {x_std}.")
    y_mean, y_std = _float_scalar(y_mean, "y_mean"), _float_scalar(y_std, "y_std")
    if y_std <= 0:
        raise AssertionError(f"y_std must be positive, but it is {y_std}.")
    return x_mean, x_std, y_mean, y_std


def _n_inputs(model) -> int | None:
    """in_features of the first layer that has them, if any."""
    for module in model.modules():
        n = getattr(module, "in_features", None)
        if isinstance(n, int):
            return n
    return None


def predict_energies(model, coords, x_mean, x_std, y_mean, y_std) -> np.ndarray:
    """Energies (eV) that ``model`` predicts for configurations ``coords``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps standardised symmetry coordinates, a float tensor of shape (N, 10),
        to standardised energies of shape (N,) or (N, 1).
    coords : array_like, shape (N, 6)
        X, Y, Z, r, theta, phi (Å, radians).
    x_mean, x_std : array_like, shape (10,)
        Input standardisation: the network sees ``(Q - x_mean) / x_std``.
    y_mean, y_std : float
        Output scaling in eV: ``E = output * y_std + y_mean``.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Energies in eV. The model runs in ``eval()`` mode without gradients,
        in the dtype and on the device of its parameters, and is left in the
        mode it was in.

    Raises
    ------
    AssertionError
        If the model or the scaling cannot be used, the model fails, or it
        returns the wrong shape or non-finite values (the message says which).
    """
    assert_untampered()
    x_mean, x_std, y_mean, y_std = _check_scaling(x_mean, x_std, y_mean, y_std)
    check_network(model)
    X = (symmetry_coordinates(np.asarray(coords, dtype=float)) - x_mean) / x_std
    out = run_network(
        model,
        X,
        f"model(x) failed for standardised symmetry coordinates x of shape {X.shape}",
        hint=lambda: (
            " (a network with 7 inputs was built for the naive coordinates Q1-Q7; use all ten)"
            if _n_inputs(model) == 7
            else ""
        ),
    )
    if not isinstance(out, torch.Tensor):
        raise AssertionError(
            f"model(x) should return a torch.Tensor, but it returns {type(out).__name__}."
        )
    if tuple(out.shape) not in ((len(X),), (len(X), 1)):
        raise AssertionError(
            f"model(x) should return one energy per configuration, shape ({len(X)},) or "
            f"({len(X)}, 1) for {len(X)} configurations, but it returns shape {tuple(out.shape)}."
        )
    energy = out.detach().cpu().to(torch.float64).numpy().reshape(len(X)) * y_std + y_mean
    if not np.all(np.isfinite(energy)):
        raise AssertionError("the model predicts NaN or infinite energies.")
    return energy


def _rmse_mev(predicted: np.ndarray, reference: np.ndarray) -> float:
    return 1000.0 * rmse(predicted, reference)


def check_pes_model(model, x_mean, x_std, y_mean, y_std) -> None:
    """The visible check of the fitted PES: interface and training error.

    Predicts the 4,000 training energies of ``load_pes_dataset("train")`` and
    prints their RMSE in meV (a hint, not a grade).

    Raises
    ------
    AssertionError
        As :func:`predict_energies`.
    """
    coords, energy = load_pes_dataset("train", return_X_y=True)
    predicted = predict_energies(model, coords, x_mean, x_std, y_mean, y_std)
    print(
        f"The model predicts one finite energy per configuration. RMSE on the "
        f"{len(energy):,} training configurations: {_rmse_mev(predicted, energy):.0f} meV "
        f"(the grader uses 500 others)."
    )


def held_out_rmse(model, x_mean, x_std, y_mean, y_std) -> float:
    """RMSE (meV) of the model on the 500 configurations of ``load_pes_dataset("test")``.

    Raises
    ------
    RuntimeError
        If the held-out data are not the ones the tiers were calibrated on.
    AssertionError
        As :func:`predict_energies`.
    """
    coords, energy = load_pes_dataset("test", return_X_y=True)
    if array_digest(np.round(coords, 9), np.round(energy, 9)) != _HELD_OUT_SHA256:
        raise RuntimeError(
            "the held-out configurations differ from those the tiers were calibrated on "
            "(was course_utils.pes changed?); the grade would be meaningless."
        )
    return _rmse_mev(predict_energies(model, coords, x_mean, x_std, y_mean, y_std), energy)


def check_rmse_tier(model, x_mean, x_std, y_mean, y_std, threshold: float) -> None:
    """Pass if the model's held-out RMSE is at most ``threshold`` meV.

    Prints the RMSE either way and returns nothing (a returned value would be
    read by nbgrader as a partial score).

    Raises
    ------
    ValueError
        If ``threshold`` is not a positive number of meV.
    AssertionError
        If the RMSE is above ``threshold``, or the model cannot be evaluated.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be a positive RMSE in meV, not {threshold}.")
    rmse = held_out_rmse(model, x_mean, x_std, y_mean, y_std)
    if not rmse <= threshold:
        raise AssertionError(
            f"RMSE on the 500 held-out configurations: {rmse:.0f} meV, above the "
            f"{threshold:.0f} meV tier."
        )
    print(
        f"RMSE on the 500 held-out configurations: {rmse:.0f} meV: the {threshold:.0f} meV "
        f"tier is reached."
    )


def check_training_statistics(x_mean, x_std, y_mean, y_std) -> None:
    """Check that the standardisation uses the 4,000 training points and nothing else.

    The statistics must be those of ``symmetry_coordinates(coords_train)`` and
    ``E_train`` from ``load_pes_dataset("train")`` (standard deviations with
    ``ddof=0``, as NumPy and scikit-learn compute them, or ``ddof=1``, as
    PyTorch does).

    Raises
    ------
    AssertionError
        If a statistic differs, with a hint at the usual causes (validation or
        test points mixed in, naive coordinates, other energy units).
    """
    assert_untampered()
    x_mean, x_std, y_mean, y_std = _check_scaling(x_mean, x_std, y_mean, y_std)
    coords, energy = load_pes_dataset("train", return_X_y=True)
    Q = symmetry_coordinates(coords)

    leak = (
        "Compute them from the training set only: statistics that include validation or "
        "test points let information about those points leak into the model."
    )
    q_mean, q_stds = Q.mean(axis=0), [Q.std(axis=0, ddof=d) for d in (0, 1)]
    if not np.allclose(x_mean, q_mean, rtol=1e-4, atol=1e-5):
        raise AssertionError(f"x_mean is not the mean of the 4,000 training inputs Q_train. {leak}")
    if not any(np.allclose(x_std, s, rtol=1e-4, atol=1e-5) for s in q_stds):
        raise AssertionError(
            f"x_std is not the standard deviation of the 4,000 training inputs Q_train. {leak}"
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
    """Per configuration: COM (x, y) folded into the unit cell, Z, and the bond vector."""
    pos = to_cartesian(coords)
    com = pos.mean(axis=-2)
    bond = pos[..., 1, :] - pos[..., 0, :]
    return np.concatenate([com, bond], axis=-1)


def _same(key_a: np.ndarray, key_b: np.ndarray, atol: float) -> bool:
    dxy = key_a[:2] - key_b[:2]
    dxy = dxy - A_SURF * np.round(dxy / A_SURF)  # lattice translations
    if np.abs(dxy).max() > atol or abs(key_a[2] - key_b[2]) > atol:
        return False
    # the O-O exchange turns the bond vector around
    return min(np.abs(key_a[3:] - key_b[3:]).max(), np.abs(key_a[3:] + key_b[3:]).max()) <= atol


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
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{what} should have shape {expected.shape}, but it has shape {actual.shape}."
        )
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
    least ``min_gap`` eV (so they are not related by a symmetry), and they
    must differ in more than the azimuth phi (the 90-degree turn of
    chapter 6 does not count).

    Raises
    ------
    AssertionError
        Saying which condition fails.
    """
    from course_utils.pes import reference_energy

    assert_untampered()
    pair = _numbers(pair, "collision should be an array of numbers, not")
    if pair.shape != (2, 6):
        raise AssertionError(
            f"collision should have shape (2, 6), one row per configuration, "
            f"but it has shape {pair.shape}."
        )
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
    if np.abs(pair[0, :5] - pair[1, :5]).max() <= 1e-9:
        raise AssertionError(
            "the two configurations differ only in phi: that is the turn in place "
            "of chapter 6. Find a collision of another kind."
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
