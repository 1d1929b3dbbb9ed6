"""The guard shared by every exercise's checks: one copy, used by all assignments.

The test cells of the nbgrader exercises call checks instead of bare ``assert``
statements, for three reasons.

Messages
    A failed check says what was expected, what came back and where to look,
    in words a student can act on.
Fairness
    nbgrader gives no points to a test cell that writes to stderr, even when
    every check in it passes. Student code therefore runs inside
    :func:`quiet`, which silences warnings (say, an overflow in ``np.exp``).
Robustness
    Answers are converted to plain NumPy numbers before they are compared,
    and every check first makes sure (:func:`assert_untampered`) that the
    built-ins and the NumPy and PyTorch functions it relies on are still the
    ones that were there when this module was imported by the notebook's
    first, read-only cell. Modules of checks are read-only
    (:func:`make_read_only`), and test cells import the names themselves, so
    redefining them in the notebook changes nothing.

The checks run inside the student's kernel, which is not a sandbox: they stop
accidents and casual tampering, not a determined attack. The scores that matter
are recomputed by the instructor's grader outside the student's kernel.
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

from course_utils._torch_utils import dtype_and_device, eval_mode

__all__ = [
    "ReadOnlyModule",
    "array_digest",
    "assert_close",
    "assert_equal",
    "assert_untampered",
    "check_network",
    "make_read_only",
    "quiet",
    "run_network",
]

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
# Machinery shared by the exercises' checks
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
    dtype, device = dtype_and_device(model)
    X = torch.as_tensor(X).clone().to(device=device, dtype=dtype)
    try:
        with torch.no_grad(), eval_mode(model), quiet():
            return model(X)
    except Exception as exc:  # the student's code may raise anything
        raise AssertionError(
            f"{failure}: {type(exc).__name__}: {exc}" + (hint() if hint else "")
        ) from None


def array_digest(*arrays) -> str:
    """SHA-256 (hex) of the bytes of ``arrays``, in order: pins held-out data to a version."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class ReadOnlyModule(types.ModuleType):
    """A module with attribute assignment switched off (see :func:`make_read_only`).

    ``course_utils.checks.digit_classifier.check_accuracy_tier = lambda *a: None`` in a
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
