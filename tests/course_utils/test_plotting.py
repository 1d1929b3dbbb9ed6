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


# --- plot_landscape and plot_network (added with chapters 2 and 3) ---------


def _bowl(x, y):
    return 0.5 * (x**2 + 10.0 * y**2)


def test_plot_landscape_draws_contours_paths_start_and_end_markers():
    path = np.array([[-2.0, 1.0], [-1.0, 0.5], [0.0, 0.0]])
    ax = plotting.plot_landscape(_bowl, (-3, 3), (-2, 2), paths={"gd": path}, minimum=(0, 0))
    assert ax.collections, "no contour drawn"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["gd"].get_xydata(), path)
    markers = [line.get_marker() for line in ax.get_lines()]
    assert "s" in markers and "*" in markers and "x" in markers
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-2, 2)
    assert len(ax.figure.axes) == 2  # plot and colour bar
    plt.close(ax.figure)


def test_plot_landscape_cuts_a_diverging_path_where_it_leaves_the_window():
    diverging = np.array([[1.0, 0.5], [-1.5, -0.9], [2.5, 1.6], [-4.0, -2.8], [7.0, 4.5]])
    ax = plotting.plot_landscape(
        _bowl, (-3, 3), (-2, 2), paths={"diverging": diverging}, colorbar=False
    )
    line = next(line for line in ax.get_lines() if line.get_label() == "diverging")
    np.testing.assert_array_equal(line.get_xydata(), diverging[:4])  # up to the first point outside
    assert "*" not in [line.get_marker() for line in ax.get_lines()]
    assert len(ax.figure.axes) == 1
    plt.close(ax.figure)


def test_plot_landscape_log_scale_and_clip_change_the_coloured_range():
    _, (ax1, ax2, ax3) = plt.subplots(1, 3)
    plotting.plot_landscape(_bowl, (-3, 3), (-2, 2), ax=ax1, colorbar=False)
    plotting.plot_landscape(_bowl, (-3, 3), (-2, 2), ax=ax2, log=True, colorbar=False)
    plotting.plot_landscape(_bowl, (-3, 3), (-2, 2), ax=ax3, clip=5.0, colorbar=False)
    top_linear = ax1.collections[0].levels.max()
    assert top_linear >= _bowl(3, 2)
    assert ax2.collections[0].levels.max() == pytest.approx(np.log10(_bowl(3, 2)), abs=0.3)
    assert ax3.collections[0].levels.max() <= 5.0 + 1e-9
    plt.close("all")


def test_plot_landscape_rejects_bad_input():
    with pytest.raises(TypeError, match="function"):
        plotting.plot_landscape("bowl", (-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="xlim"):
        plotting.plot_landscape(_bowl, (1, -1), (-1, 1))
    with pytest.raises(ValueError, match="element-wise"):
        plotting.plot_landscape(lambda x, y: 1.0, (-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="log=True needs f > 0"):
        plotting.plot_landscape(lambda x, y: -_bowl(x, y) - 1, (-1, 1), (-1, 1), log=True)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plotting.plot_landscape(_bowl, (-1, 1), (-1, 1), paths={"bad": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="levels"):
        plotting.plot_landscape(_bowl, (-1, 1), (-1, 1), levels=1)
    plt.close("all")


def test_plot_network_draws_one_circle_per_neuron_and_one_line_per_weight():
    from matplotlib.patches import Circle

    weights = [
        np.array([[1.0, -2.0, 2.0], [2.0, 1.0, -4.0], [1.0, -1.0, 0.0]]),
        np.array([[-3.0, 1.0, -3.0], [0.0, 1.0, 2.0]]),
    ]
    activations = [np.array([0.5, 0.9, -0.3]), np.array([0.13, 0.96, 0.40]), np.array([0.35, 0.85])]
    ax = plotting.plot_network(weights, activations=activations)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 3 + 3 + 2
    assert len(ax.get_lines()) == 9 + 6
    texts = [t.get_text() for t in ax.texts]
    assert "0.96" in texts and "0.85" in texts and "-4" in texts
    assert {"input", "hidden", "output"} <= set(texts)
    colours = {line.get_color() for line in ax.get_lines()}
    assert {"tab:blue", "tab:red", "lightgrey"} <= colours  # positive, negative and zero weights
    plt.close(ax.figure)


def test_plot_network_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match="layer 2"):
        plotting.plot_network([np.ones((3, 2)), np.ones((1, 4))])
    with pytest.raises(ValueError, match="one value per neuron"):
        plotting.plot_network([np.ones((3, 2))], activations=[np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="small networks"):
        plotting.plot_network([np.ones((16, 784))])
    with pytest.raises(TypeError, match="list"):
        plotting.plot_network(np.ones((3, 2)))
    plt.close("all")


def test_smallest_text_px_follows_the_style_and_dpi():
    # Matplotlib's default 10 pt text at 72 dpi is 10 px; at 144 dpi twice that
    assert plotting.smallest_text_px({"font.size": 10, "figure.dpi": 72}) == pytest.approx(10.0)
    assert plotting.smallest_text_px({"font.size": 10, "figure.dpi": 144}) == pytest.approx(20.0)
    # the smallest of the roles counts: "small" legends are 0.833 x the base size
    small = plotting.smallest_text_px(
        {"font.size": 12, "figure.dpi": 72, "legend.fontsize": "small"}
    )
    assert small == pytest.approx(10.0, rel=1e-3)
    # the course's own style: the figures' smallest text, drawn in the figure itself
    matplotlib.rcdefaults()
    before = dict(matplotlib.rcParams)
    expected = plotting.smallest_text_px()
    assert dict(matplotlib.rcParams) == before  # measuring changes no global state
    with matplotlib.rc_context(plotting.COURSE_STYLE):
        fig, ax = plt.subplots()
        label = ax.set_xlabel("Energy")
        fig.canvas.draw()
        height = label.get_fontsize() * fig.dpi / 72.0
        plt.close(fig)
    assert height == pytest.approx(expected)
