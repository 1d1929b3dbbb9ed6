"""course_utils.explorers: precomputed, self-contained slider explorers."""

import base64
import itertools
import json
import re

import numpy as np
import pytest

from course_utils.explorers import MAX_STATES, Control, curve_explorer, network_explorer
from course_utils.nn_basics import LECTURE_HIDDEN_WEIGHTS, LECTURE_OUTPUT_WEIGHTS, forward


def _unpack(spec, key):
    raw = base64.b64decode(spec[key])
    q = np.frombuffer(raw, dtype="<u2" if spec["bits"] == 16 else "<u1").astype(float)
    lo, hi = spec["range"]
    return lo + (hi - lo) * q / (2 ** spec["bits"] - 1)


def _spec_from_html(explorer):
    text = explorer.html()
    data = re.search(r'<script type="application/json">(.*?)</script>', text, re.S).group(1)
    return json.loads(data.replace("<\\/", "</"))


X = np.linspace(-3, 3, 31)
CONTROLS = {
    "a": Control("slope a", [-1.0, 0.5, 2.0], default=0.5),
    "kind": Control("function", ["tanh", "sin"]),
}


def _curves(a, kind):
    f = np.tanh if kind == "tanh" else np.sin
    return {"curves": [f(X), f(a * X)], "vlines": [a, 99.0], "title": f"{kind} {a}"}


def test_control_kinds_and_defaults():
    slider = Control("w", np.linspace(0, 1, 11), default=0.33)
    assert not slider.is_choice and slider.to_json("w")["index"] == 3
    assert slider.values[3] == 0.3  # linspace noise rounded away
    choice = Control("f", ["a", "b"], default="b")
    assert choice.is_choice and choice.to_json("f")["index"] == 1
    with pytest.raises(ValueError, match="not one of"):
        Control("f", ["a", "b"], default="c")
    with pytest.raises(TypeError, match="all numbers"):
        Control("f", [1, "b"])
    with pytest.raises(ValueError, match="at least one"):
        Control("f", [])


def test_curve_explorer_stores_every_state_in_slider_order():
    explorer = curve_explorer(_curves, X, CONTROLS, ylim=(-1.5, 1.5), xlabel="x")
    assert explorer.n_states == 3 * 2
    spec = _spec_from_html(explorer)
    curves = _unpack(spec, "curves").reshape(-1, X.size)
    step = (spec["range"][1] - spec["range"][0]) / 65535
    for state, (a, kind) in zip(
        spec["states"], itertools.product([-1.0, 0.5, 2.0], ["tanh", "sin"])
    ):
        expected = _curves(a, kind)
        for index, y in zip(state["c"], expected["curves"]):
            np.testing.assert_allclose(curves[index], np.clip(y, -1.65, 1.65), atol=step)
        assert state["t"] == expected["title"]
        assert state["v"] == [a], "a marker outside the x range must be dropped"
    # 12 curves are drawn, but f(x) is the same in every state of one function: stored once
    assert len(curves) == 2 + 3 * 2


def test_curves_are_clipped_to_the_padded_y_range():
    explorer = curve_explorer(
        lambda a: {"curves": [a * X]}, X, {"a": Control("a", [10.0])}, ylim=(0, 1)
    )
    values = _unpack(_spec_from_html(explorer), "curves")
    assert values.min() == pytest.approx(-0.05) and values.max() == pytest.approx(1.05)


def test_curve_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="shape of x"):
        curve_explorer(lambda a: {"curves": [X[:-1]]}, X, {"a": Control("a", [1.0])}, ylim=(0, 1))
    with pytest.raises(ValueError, match="increasing"):
        curve_explorer(_curves, X[::-1], CONTROLS, ylim=(0, 1))
    with pytest.raises(ValueError, match="low < high"):
        curve_explorer(_curves, X, CONTROLS, ylim=(1, 0))
    with pytest.raises(TypeError, match="must return a dict"):
        curve_explorer(lambda a: [X], X, {"a": Control("a", [1.0])}, ylim=(0, 1))
    many = {k: Control(k, list(range(30))) for k in "abc"}
    assert 30**3 > MAX_STATES
    with pytest.raises(ValueError, match="too many"):
        curve_explorer(lambda a, b, c: {}, X, many, ylim=(0, 1))


def test_network_explorer_values_match_the_forward_pass():
    weights = [LECTURE_HIDDEN_WEIGHTS, LECTURE_OUTPUT_WEIGHTS]
    inputs = [-1.0, 0.5]

    def state(x1, bias):
        biases = [np.full(3, bias), np.zeros(2)]
        return {"activations": forward(np.array([x1, 0.9, -0.3]), weights, biases, return_all=True)}

    controls = {"x1": Control("input 1", inputs), "bias": Control("bias", [0.0, 0.1])}
    explorer = network_explorer(state, weights, controls)
    spec = _spec_from_html(explorer)
    values = _unpack(spec, "values").reshape(4, 3 + 3 + 2)
    for row, (x1, bias) in zip(values, itertools.product(inputs, [0.0, 0.1])):
        expected = np.concatenate(state(x1, bias)["activations"])
        np.testing.assert_allclose(row, expected, atol=1e-4)
    # the worked example (x1 = 0.5, no bias) reproduces the chapter's hidden values
    assert values[2][3:6].round(2).tolist() == [0.13, 0.96, 0.4]
    assert len(spec["edges"]) == 3 * 3 + 3 * 2 and len(spec["nodes"]) == 8


def test_network_explorer_checks_the_activation_sizes():
    weights = [LECTURE_HIDDEN_WEIGHTS, LECTURE_OUTPUT_WEIGHTS]
    with pytest.raises(ValueError, match="one value per neuron"):
        network_explorer(
            lambda a: {"activations": [np.zeros(3), np.zeros(2)]}, weights, {"a": Control("a", [0])}
        )


def test_html_is_self_contained():
    text = curve_explorer(_curves, X, CONTROLS, ylim=(-1, 1)).html()
    assert "<script>" in text and "courseExplorer(" in text
    urls = re.findall(r"https?://[^\s\"')]+", text)
    assert urls == ["http://www.w3.org/2000/svg"] * len(urls), f"external references: {urls}"
    assert "</script" not in text.split('<script type="application/json">')[1].split("</script>")[0]


def test_default_curve_colours_leave_orange_to_the_markers():
    explorer = curve_explorer(
        _curves, X, CONTROLS, ylim=(-1, 1), styles=[{"color": "grey", "label": "f(x)"}]
    )
    colours = [s["color"] for s in explorer.spec["styles"]]
    assert colours == ["grey", "#1f77b4"]
