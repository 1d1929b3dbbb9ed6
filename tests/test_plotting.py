"""Tests for course_utils/plotting.py."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import plotting  # noqa: E402
from course_utils.data import load_digits  # noqa: E402


def test_importing_changes_no_global_style():
    import importlib

    matplotlib.rcdefaults()
    before = dict(matplotlib.rcParams)
    importlib.reload(plotting)
    assert dict(matplotlib.rcParams) == before


def test_use_course_style_applies_and_can_be_undone():
    matplotlib.rcdefaults()
    plotting.use_course_style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    matplotlib.rcdefaults()
    assert matplotlib.rcParams["axes.spines.top"] is True


@pytest.mark.parametrize("shape", [(12, 784), (12, 28, 28), (12, 1, 28, 28)])
def test_plot_digits_accepts_every_documented_shape(shape):
    X = np.random.default_rng(0).random(shape)
    fig = plotting.plot_digits(X, labels=range(12), n=12, ncols=6)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    plt.close(fig)


def test_plot_digits_marks_wrong_predictions_in_red():
    X, y = load_digits("test", return_X_y=True)
    pred = y[:4].copy()
    pred[1] = (pred[1] + 1) % 10
    fig = plotting.plot_digits(X, y, pred, n=4)
    colours = [ax.title.get_color() for ax in fig.axes if ax.images]
    assert colours[1] == "tab:red" and colours[0] == "black"
    plt.close(fig)


def test_plot_digits_rejects_wrong_shapes_and_short_labels():
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_digits(np.zeros((3, 100)))
    with pytest.raises(ValueError, match="labels has 2 entries"):
        plotting.plot_digits(np.zeros((3, 784)), labels=[1, 2])


def test_plot_history_draws_each_curve_and_marks_the_best_epoch():
    history = {"train_loss": [1.0, 0.5, 0.2, 0.1], "val_loss": [1.1, 0.6, 0.4, 0.5]}
    ax = plotting.plot_history(history)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "train loss" in labels and "val loss" in labels
    assert any("epoch 3" in label for label in labels)
    assert ax.get_yscale() == "log"
    plt.close(ax.figure)


def test_plot_history_rejects_bad_input():
    with pytest.raises(TypeError, match="mapping"):
        plotting.plot_history([1.0, 2.0])
    with pytest.raises(ValueError, match="no curves"):
        plotting.plot_history({"train_loss": []})
