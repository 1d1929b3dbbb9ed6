"""Tests for course_utils/checks/_guard.py and checks/digit_classifier.py."""

import builtins
import sys
import warnings

import numpy as np
import pytest
import torch
from nbgrader_pipeline import network_failure_cases
from torch import nn

import course_utils.checks.digit_classifier as ex
from course_utils.checks.digit_classifier import (
    DIGIT_TIERS,
    assert_close,
    assert_equal,
    assert_untampered,
    check_accuracy_tier,
    check_digit_model,
    digit_accuracy,
    held_out_digit_accuracy,
    quiet,
)
from course_utils.data import load_digits


class Constant(nn.Module):
    """Always the same scores: predicts digit 0 for every image."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([1.0] + [0.0] * 9))

    def forward(self, x):
        return self.bias.expand(len(x), 10)


class Lookup(nn.Module):
    """Knows the answer for every image it was shown (a perfect 'classifier')."""

    def __init__(self, X, y):
        super().__init__()
        self.table = {row.tobytes(): int(label) for row, label in zip(np.asarray(X), y)}
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        labels = [self.table[row.tobytes()] for row in x.numpy()]
        return nn.functional.one_hot(torch.tensor(labels), 10).float() + 0 * self.dummy


class Reshaped(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how = how
        self.layer = nn.Linear(784, 10)

    def forward(self, x):
        out = self.layer(x)
        if self.how == "transposed":
            return out.softmax(dim=1).T
        if self.how == "labels":
            return out.argmax(dim=1)
        if self.how == "nine":
            return out[:, :9]
        if self.how == "nan":
            return out * float("nan")
        if self.how == "numpy":
            return out.detach().numpy()
        raise RuntimeError("this network is broken")


@pytest.fixture(scope="module")
def held_out():
    return load_digits("test", return_X_y=True)


# -- assert_close / assert_equal / quiet -------------------------------------------------


def test_assert_close_accepts_numbers_arrays_and_tensors():
    assert_close(0.5000000001, 0.5, "x")
    assert_close(np.array([0.131, 0.957]), [0.13, 0.96], "h", atol=0.005)
    assert_close(torch.tensor([1.0, 2.0]), [1.0, 2.0], "t")
    assert_close((0.8, 0.6), [0.8, 0.6], "pair")


@pytest.mark.parametrize(
    "actual, expected, fragment",
    [
        (0.6, 0.5, "should be 0.5"),
        ([0.5], 0.5, "shape ()"),
        (np.zeros((3, 2)), np.zeros((2, 3)), "shape (2, 3)"),
        ([np.nan, 1.0], [0.0, 1.0], "NaN"),
        ("0.5", 0.5, "but it is the text '0.5'"),
        (None, 0.5, "is None: does the function end with a `return`"),
        ({"w": 1}, 0.5, "but it is dict"),
    ],
)
def test_assert_close_explains_what_is_wrong(actual, expected, fragment):
    with pytest.raises(AssertionError, match="sigmoid") as info:
        assert_close(actual, expected, "sigmoid(0)")
    assert fragment in str(info.value)


def test_assert_equal_is_exact_for_counts():
    assert_equal(13002, 13002, "n")
    assert_equal(np.int64(13002), 13002, "n")
    assert_equal(13002.0, 13002, "n")
    for wrong in (13001, 13002.5, "13002", [13002], None):
        with pytest.raises(AssertionError, match="n_parameters"):
            assert_equal(wrong, 13002, "n_parameters")


def test_quiet_silences_warnings_and_stderr(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping quiet() would raise
        with quiet():
            np.exp(np.array([1000.0]))
            warnings.warn("deprecated", DeprecationWarning, stacklevel=2)
            print("to stderr", file=sys.stderr)
    assert capsys.readouterr().err == ""


# -- tampering ------------------------------------------------------------------------------


def test_untampered_by_default():
    assert_untampered()


@pytest.mark.parametrize(
    "owner, name, replacement",
    [
        (np, "allclose", lambda *a, **k: True),
        (builtins, "abs", lambda x: 0),
        (torch.Tensor, "argmax", lambda self, *a, **k: self),
        (nn.Module, "__call__", lambda self, x: x),
    ],
)
def test_replaced_functions_fail_every_check(monkeypatch, owner, name, replacement):
    monkeypatch.setattr(owner, name, replacement)
    with pytest.raises(AssertionError, match=f"replaced .*{name}"):
        assert_close(0.9, 0.5, "sigmoid(0)")
    with pytest.raises(AssertionError, match="replaced"):
        assert_equal(1, 13002, "n")


def test_the_module_cannot_be_patched_from_a_notebook():
    with pytest.raises(AttributeError, match="read-only"):
        ex.check_accuracy_tier = lambda *args, **kwargs: None
    with pytest.raises(AttributeError, match="read-only"):
        del ex.assert_close
    assert ex.check_accuracy_tier is check_accuracy_tier


# -- the digit classifier -------------------------------------------------------------------


def test_tiers_are_increasing_accuracies():
    assert list(DIGIT_TIERS) == sorted(DIGIT_TIERS)
    assert all(0.5 < t < 1 for t in DIGIT_TIERS)


def test_constant_model_scores_chance_on_the_balanced_held_out_set():
    # 100 digits of each class: always answering "0" is right exactly 10 % of the time.
    assert held_out_digit_accuracy(Constant()) == pytest.approx(0.1)


def test_perfect_model_scores_one_and_passes_every_tier(held_out, capsys):
    model = Lookup(*held_out)
    assert held_out_digit_accuracy(model) == 1.0
    for tier in DIGIT_TIERS:
        assert check_accuracy_tier(model, tier) is None  # a value would be a partial score
    assert "1000 of the 1,000 held-out digits correct" in capsys.readouterr().out


def test_tier_failure_message_reports_the_accuracy():
    with pytest.raises(AssertionError, match=r"100 of the 1,000 .*\(10\.0%\): below the 85% tier"):
        check_accuracy_tier(Constant(), 0.85)
    with pytest.raises(ValueError):
        check_accuracy_tier(Constant(), 85)


def test_accuracy_is_invariant_to_monotonic_rescaling_of_scores(held_out):
    X, y = held_out
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 10))
    probabilities = nn.Sequential(net, nn.Softmax(dim=1))
    assert digit_accuracy(net, X, y) == digit_accuracy(probabilities, X, y)


@pytest.mark.parametrize(
    "model, fragment",
    [
        (
            Reshaped("transposed"),
            "shape (1000, 10) for 1000 digits, but it returns shape (10, 1000)",
        ),
        (Reshaped("labels"), "returns shape (1000,)"),
        (Reshaped("nine"), "returns shape (1000, 9)"),
        *network_failure_cases(Reshaped),
        (Constant, "is the class Constant"),
        (None, "must be a PyTorch network"),
    ],
)
def test_broken_models_score_nothing_with_a_clear_message(model, fragment):
    with pytest.raises(AssertionError) as info:
        held_out_digit_accuracy(model)
    assert fragment in str(info.value)


def test_evaluation_leaves_the_model_in_training_mode_and_handles_float64(held_out):
    X, y = held_out
    model = nn.Sequential(nn.Linear(784, 10), nn.Dropout(0.5)).double()
    model.train()
    first = digit_accuracy(model, X, y)
    assert model.training
    assert digit_accuracy(model, X, y) == first  # dropout was off during evaluation


def test_check_digit_model_prints_the_training_accuracy(capsys):
    check_digit_model(Constant())
    out = capsys.readouterr().out
    assert "right shape" in out and "10.0%" in out
    with pytest.raises(AssertionError, match="shape"):
        check_digit_model(Reshaped("transposed"))


def test_held_out_digits_are_verified(monkeypatch, held_out):
    X, y = held_out

    def easier_digits(split="train", **kwargs):
        return X[:999], y[:999]

    monkeypatch.setitem(vars(ex), "load_digits", easier_digits)
    with pytest.raises(RuntimeError, match="differ from those the tiers were calibrated on"):
        held_out_digit_accuracy(Constant())
