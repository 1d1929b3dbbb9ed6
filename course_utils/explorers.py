"""Interactive explorers that work on the static website, offline, without a kernel.

An explorer is a few sliders (or drop-down lists) and a plot. Python computes the plot
for **every** combination of slider positions when the notebook runs; the result is a
small, self-contained HTML snippet (inline SVG and about a hundred lines of plain
JavaScript, no libraries, nothing downloaded) in which moving a slider only looks up the
precomputed state and redraws it. It therefore works the same in the Jupyter Book
website, in JupyterLab, in Colab and in an HTML file opened from disk.

Two views exist:

:func:`curve_explorer`
    Line plots ``y(x)`` (for example a neuron's output as a function of its input).
:func:`network_explorer`
    A small fully connected network with the value of every neuron (the drawing
    follows :func:`course_utils.plotting.plot_network`).

Example::

    from course_utils.explorers import Control, curve_explorer
    explorer = curve_explorer(
        lambda a: {"curves": [np.sin(a * x)], "title": f"a = {a:g}"},
        x,
        {"a": Control("frequency a", np.linspace(0.5, 3, 11), default=1.0)},
    )
    explorer          # the last expression of a cell displays it

The number of states is the product of the controls' lengths; it is limited to
:data:`MAX_STATES` so that a page stays small (values are stored as 8- or 16-bit
integers, scaled to the plot's range).
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Control", "Explorer", "curve_explorer", "network_explorer", "MAX_STATES"]

MAX_STATES = 20_000
"""Largest number of precomputed states (slider combinations) one explorer may hold."""

# Matplotlib's tab10 colours, so that explorers look like the course's other figures.
TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
MARKER = "#ff7f0e"  # vertical marker lines


@dataclass
class Control:
    """One slider (numeric values) or drop-down list (strings) of an explorer.

    Parameters
    ----------
    label : str
        What the reader sees next to the control.
    values : sequence of float or sequence of str
        The positions the control can take, in order. Numbers give a slider,
        strings a drop-down list.
    default : float or str, optional
        The starting position (the nearest value for numbers); the first value if omitted.
    """

    label: str
    values: Sequence
    default: object = None
    _index: int = field(init=False, repr=False, default=0)

    def __post_init__(self):
        values = list(self.values)
        if not values:
            raise ValueError(f"control {self.label!r} needs at least one value.")
        self.is_choice = all(isinstance(v, str) for v in values)
        if not self.is_choice:
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise TypeError(
                    f"control {self.label!r}: values must be all numbers (a slider) or all "
                    f"strings (a drop-down list); got {values[:3]!r}..."
                ) from None
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"control {self.label!r}: values must be finite numbers.")
            # Round away floating-point noise such as 0.30000000000000004 from linspace.
            values = [float(np.round(v, 10)) for v in arr]
        self.values = values
        if self.default is None:
            self._index = 0
        elif self.is_choice:
            if self.default not in values:
                raise ValueError(
                    f"control {self.label!r}: default {self.default!r} is not one of {values}."
                )
            self._index = values.index(self.default)
        else:
            self._index = int(np.argmin(np.abs(np.asarray(values) - float(self.default))))

    def to_json(self, name: str) -> dict:
        shown = self.values if self.is_choice else [f"{v:g}" for v in self.values]
        return {
            "name": name,
            "label": self.label,
            "choice": self.is_choice,
            "shown": shown,
            "index": self._index,
        }


def _pack(values: np.ndarray, lo: float, hi: float, bits: int) -> str:
    """Quantise ``values`` to ``bits``-bit integers over [lo, hi], little-endian, base64."""
    top = 2**bits - 1
    scaled = np.round((np.clip(values, lo, hi) - lo) / (hi - lo) * top)
    dtype = "<u1" if bits == 8 else "<u2"
    return base64.b64encode(scaled.astype(dtype).tobytes()).decode("ascii")


def _states(controls: Mapping[str, Control], compute: Callable[..., dict]) -> list[dict]:
    if not controls:
        raise ValueError("an explorer needs at least one Control.")
    for name, control in controls.items():
        if not isinstance(control, Control):
            raise TypeError(f"controls[{name!r}] must be a Control, got {type(control).__name__}.")
    n_states = int(np.prod([len(c.values) for c in controls.values()]))
    if n_states > MAX_STATES:
        raise ValueError(
            f"{n_states} slider combinations is too many for one page (at most {MAX_STATES}); "
            "give the controls fewer values."
        )
    names = list(controls)
    states = []
    for combo in itertools.product(*(controls[n].values for n in names)):
        result = compute(**dict(zip(names, combo)))
        if not isinstance(result, Mapping):
            raise TypeError(
                f"compute must return a dict (keys such as 'curves', 'title'); "
                f"got {type(result).__name__} for {dict(zip(names, combo))}."
            )
        states.append(result)
    return states


def _nice_ticks(lo: float, hi: float) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=6).tick_values(lo, hi)
    return [float(np.round(t, 10)) for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]


class Explorer:
    """A precomputed explorer; displays itself as HTML in notebooks and in the book.

    Built by :func:`curve_explorer` or :func:`network_explorer`. ``html()`` returns the
    snippet; ``n_states`` is the number of precomputed slider combinations.
    """

    def __init__(self, spec: dict, n_states: int, alt: str):
        self.spec = spec
        self.n_states = n_states
        self.alt = alt

    def html(self) -> str:
        uid = "explorer-" + uuid.uuid4().hex[:12]
        data = json.dumps(self.spec, separators=(",", ":")).replace("</", "<\\/")
        return (
            f'<div class="course-explorer" id="{uid}" role="group" '
            f'aria-label="{html.escape(self.alt)}">'
            f'<div class="course-explorer-controls"></div>'
            f'<svg class="course-explorer-plot" role="img" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{html.escape(self.alt)}</title></svg>"
            f'<script type="application/json">{data}</script>'
            f"<noscript>This explorer needs JavaScript.</noscript></div>"
            f"<style>{_CSS}</style><script>{_JS}\ncourseExplorer(document.getElementById('{uid}'));</script>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"<{self.spec['view']} explorer: {self.alt} ({self.n_states} precomputed states)>"


def curve_explorer(
    compute: Callable[..., dict],
    x,
    controls: Mapping[str, Control],
    *,
    xlabel: str = "",
    ylabel: str = "",
    ylim: tuple[float, float],
    styles: Sequence[Mapping] | None = None,
    alt: str = "interactive line plot",
    bits: int = 16,
    title: str = "",
) -> Explorer:
    """An explorer of line plots, one plot per combination of the controls.

    Parameters
    ----------
    compute : callable
        ``compute(**values)`` is called once per combination of control values (keyword
        names are the keys of ``controls``) and returns a dict with

        - ``"curves"``: list of arrays of shape ``x.shape``, the y values to draw;
        - ``"vlines"`` (optional): list of x positions of vertical marker lines;
        - ``"title"`` (optional): text shown above the plot.
    x : array_like, shape (n,)
        The common x values of all curves.
    controls : dict of str to Control
        The sliders and drop-down lists, in display order.
    xlabel, ylabel : str
        Axis labels (plain text).
    ylim : (float, float)
        The y range shown; curves are clipped to it.
    styles : list of dict, optional
        Per curve position: ``color``, ``dash`` (SVG dash array, e.g. ``"4 3"``),
        ``width`` (px) and ``label`` (legend text). Defaults to solid tab10 colours.
    alt : str
        A description of the explorer for screen readers.
    bits : {8, 16}
        Precision of the stored curves: 8 bits resolve 1/255 of the y range (about a
        pixel), 16 bits 1/65535 at twice the size.
    title : str
        Title shown when ``compute`` gives none; ``{name}`` is replaced by the shown
        value of control ``name``, e.g. ``"a = {activation}({w} x + {b})"``.
    """
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, not {bits!r}.")
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
        raise ValueError("x must be an increasing 1-D array of at least 2 values.")
    lo, hi = (float(v) for v in ylim)
    if not hi > lo:
        raise ValueError(f"ylim must be (low, high) with low < high; got {ylim}.")
    states = _states(controls, compute)
    table: dict[bytes, int] = {}  # identical curves are stored once
    curves: list[np.ndarray] = []
    per_state = []
    pad = 0.05 * (hi - lo)
    for state in states:
        indices = []
        for y in state.get("curves", []):
            y = np.asarray(y, dtype=float)
            if y.shape != x.shape:
                raise ValueError(f"each curve must have the shape of x, {x.shape}; got {y.shape}.")
            y = np.clip(
                np.nan_to_num(y, nan=hi + pad, posinf=hi + pad, neginf=lo - pad), lo - pad, hi + pad
            )
            key = np.round(y, 6).tobytes()
            if key not in table:
                table[key] = len(curves)
                curves.append(y)
            indices.append(table[key])
        vlines = [round(float(v), 4) for v in state.get("vlines", []) if x[0] <= v <= x[-1]]
        entry = {"c": indices, "v": vlines}
        if state.get("title"):
            entry["t"] = str(state["title"])
        per_state.append(entry)
    n_series = max((len(s["c"]) for s in per_state), default=0)
    styles = list(styles or [])
    styles += [{}] * (n_series - len(styles))
    # Curves without a colour take tab10's in turn, skipping orange (the marker lines').
    palette = iter([c for c in TAB10 if c != MARKER] * 4)
    styles = [
        {
            "color": s.get("color") or next(palette),
            "dash": s.get("dash", ""),
            "width": float(s.get("width", 2.0)),
            "label": s.get("label", ""),
        }
        for s in styles
    ]
    spec = {
        "view": "lines",
        "controls": [c.to_json(n) for n, c in controls.items()],
        "x": [float(v) for v in x],
        "xlim": [float(x[0]), float(x[-1])],
        "ylim": [lo, hi],
        "xticks": _nice_ticks(x[0], x[-1]),
        "yticks": _nice_ticks(lo, hi),
        "xlabel": xlabel,
        "ylabel": ylabel,
        "title": title,
        "styles": styles,
        "bits": bits,
        "range": [lo - pad, hi + pad],
        "curves": _pack(
            np.concatenate(curves) if curves else np.zeros(0), lo - pad, hi + pad, bits
        ),
        "states": per_state,
    }
    return Explorer(spec, len(states), alt)


def network_explorer(
    compute: Callable[..., dict],
    weights: Sequence,
    controls: Mapping[str, Control],
    *,
    layer_names: Sequence[str] | None = None,
    alt: str = "interactive network diagram",
) -> Explorer:
    """An explorer of a small network's neuron values, one diagram per control combination.

    Parameters
    ----------
    compute : callable
        ``compute(**values)`` returns a dict with ``"activations"``: the values of every
        layer, input included, as returned by
        ``course_utils.nn_basics.forward(..., return_all=True)`` for one sample, and
        optionally ``"title"``.
    weights : list of array_like
        The (fixed) weight matrices, layer ``l`` of shape ``(n_l, n_{l-1})``; edges are
        coloured by sign (blue positive, red negative) and sized by magnitude.
    controls : dict of str to Control
        The sliders and drop-down lists, in display order.
    layer_names : list of str, optional
        One caption per layer; "input", "hidden", ..., "output" by default.
    alt : str
        A description of the explorer for screen readers.
    """
    Ws = [np.asarray(W, dtype=float) for W in weights]
    if not Ws or any(W.ndim != 2 for W in Ws):
        raise ValueError("weights must be a non-empty list of 2-D arrays, one per layer.")
    sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
    for layer, W in enumerate(Ws, start=1):
        if W.shape[1] != sizes[layer - 1]:
            raise ValueError(
                f"layer {layer} must have weights of shape (n_out, {sizes[layer - 1]}), "
                f"got {W.shape}."
            )
    if layer_names is None:
        hidden = (
            ["hidden"] if len(sizes) == 3 else [f"hidden {i}" for i in range(1, len(sizes) - 1)]
        )
        layer_names = ["input", *hidden, "output"]
    if len(layer_names) != len(sizes):
        raise ValueError(f"give {len(sizes)} layer names, got {len(layer_names)}.")
    # Layout of plot_network: layers 2.5 units apart, neurons 1 unit apart, centred.
    nodes, first = [], []
    for l, n in enumerate(sizes):
        first.append(len(nodes))
        nodes += [[2.5 * l, (n - 1) / 2.0 - j] for j in range(n)]
    w_max = max(float(np.abs(W).max()) for W in Ws) or 1.0
    edges = []
    for l, W in enumerate(Ws):
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                w = float(W[j, k])
                colour = TAB10[0] if w > 0 else (TAB10[3] if w < 0 else "#d3d3d3")
                edges.append(
                    [
                        first[l] + k,
                        first[l + 1] + j,
                        colour,
                        round(0.5 + 3.0 * abs(w) / w_max, 3),
                        f"{w:g}",
                    ]
                )
    states = _states(controls, compute)
    values, titles = [], []
    for state in states:
        acts = [np.asarray(a, dtype=float).reshape(-1) for a in state["activations"]]
        if [a.size for a in acts] != sizes:
            raise ValueError(
                f"activations must give one value per neuron, layer sizes {sizes}; "
                f"got {[a.size for a in acts]}."
            )
        values.append(np.concatenate(acts))
        titles.append(str(state.get("title", "")))
    values = np.array(values)
    lo, hi = float(values.min()), float(values.max())
    if hi == lo:
        hi = lo + 1.0
    spec = {
        "view": "network",
        "controls": [c.to_json(n) for n, c in controls.items()],
        "nodes": nodes,
        "edges": edges,
        "layers": [[2.5 * l, name] for l, name in enumerate(layer_names)],
        "height": max(sizes),
        "bits": 16,
        "range": [lo, hi],
        "values": _pack(values.ravel(), lo, hi, 16),
        "titles": titles,
    }
    return Explorer(spec, len(states), alt)


_CSS = (
    ".course-explorer{max-width:40rem;margin:.5em 0 1em}"
    ".course-explorer label{display:flex;align-items:center;gap:.6em;margin:.15em 0}"
    ".course-explorer label span{min-width:7.5em}"
    ".course-explorer input[type=range]{flex:1;min-width:6em}"
    ".course-explorer output{min-width:3em;font-variant-numeric:tabular-nums}"
    ".course-explorer svg{width:100%;height:auto;display:block}"
)

_JS = r"""
function courseExplorer(root) {
  if (root.dataset.ready) return;
  root.dataset.ready = "1";
  const spec = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  const NS = "http://www.w3.org/2000/svg";
  const svg = root.querySelector("svg");
  function unpack(b64) {
    const bin = atob(b64), wide = spec.bits === 16, n = wide ? bin.length / 2 : bin.length;
    const out = new Float64Array(n), [lo, hi] = spec.range, top = wide ? 65535 : 255;
    for (let i = 0; i < n; i++) {
      const q = wide ? bin.charCodeAt(2 * i) + 256 * bin.charCodeAt(2 * i + 1) : bin.charCodeAt(i);
      out[i] = lo + (hi - lo) * q / top;
    }
    return out;
  }
  function el(name, attrs, parent, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    (parent || svg).appendChild(e);
    return e;
  }
  const index = spec.controls.map(c => c.index);
  const box = root.querySelector(".course-explorer-controls");
  spec.controls.forEach((c, k) => {
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.textContent = c.label;
    label.appendChild(name);
    let input;
    const shown = document.createElement("output");
    if (c.choice) {
      input = document.createElement("select");
      c.shown.forEach((v, i) => {
        const o = document.createElement("option");
        o.value = i; o.textContent = v; input.appendChild(o);
      });
      input.value = c.index;
    } else {
      input = document.createElement("input");
      input.type = "range"; input.min = 0; input.max = c.shown.length - 1; input.step = 1;
      input.value = c.index;
      shown.textContent = c.shown[c.index];
    }
    input.name = c.name;
    input.setAttribute("aria-label", c.label);
    input.addEventListener("input", () => {
      index[k] = +input.value;
      if (!c.choice) shown.textContent = c.shown[index[k]];
      draw();
    });
    label.appendChild(input);
    if (!c.choice) label.appendChild(shown);
    box.appendChild(label);
  });
  function stateIndex() {
    let s = 0;
    spec.controls.forEach((c, k) => { s = s * c.shown.length + index[k]; });
    return s;
  }
  function template(text) {
    return (text || "").replace(/\{(\w+)\}/g, (m, name) => {
      const k = spec.controls.findIndex(c => c.name === name);
      return k < 0 ? m : spec.controls[k].shown[index[k]];
    });
  }
  function clear() {
    while (svg.lastChild && svg.lastChild.nodeName !== "title") svg.removeChild(svg.lastChild);
  }
  let draw;
  if (spec.view === "lines") {
    const curves = unpack(spec.curves), nx = spec.x.length;
    const W = 520, H = 330, L = 56, R = 12, T = 34, B = 48;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const X = v => L + (v - spec.xlim[0]) / (spec.xlim[1] - spec.xlim[0]) * (W - L - R);
    const Y = v => T + (spec.ylim[1] - v) / (spec.ylim[1] - spec.ylim[0]) * (H - T - B);
    const cid = root.id + "-clip";
    draw = function () {
      clear();
      const st = spec.states[stateIndex()];
      const defs = el("defs", {});
      const cp = el("clipPath", {id: cid}, defs);
      el("rect", {x: L, y: T, width: W - L - R, height: H - T - B}, cp);
      const g = el("g", {"font-size": 15, "font-family": "sans-serif", fill: "#222"});
      spec.xticks.forEach(t => {
        el("line", {x1: X(t), x2: X(t), y1: T, y2: H - B, stroke: "#ddd"}, g);
        el("text", {x: X(t), y: H - B + 19, "text-anchor": "middle"}, g, String(t));
      });
      spec.yticks.forEach(t => {
        el("line", {x1: L, x2: W - R, y1: Y(t), y2: Y(t), stroke: "#ddd"}, g);
        el("text", {x: L - 6, y: Y(t) + 4, "text-anchor": "end"}, g, String(t));
      });
      el("line", {x1: L, x2: L, y1: T, y2: H - B, stroke: "#444"}, g);
      el("line", {x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#444"}, g);
      el("text", {x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle"}, g, spec.xlabel);
      el("text", {x: 16, y: (T + H - B) / 2, "text-anchor": "middle",
                  transform: `rotate(-90 16 ${(T + H - B) / 2})`}, g, spec.ylabel);
      el("text", {x: (L + W - R) / 2, y: 20, "text-anchor": "middle", class: "title"},
         g, st.t !== undefined ? st.t : template(spec.title));
      const plot = el("g", {"clip-path": `url(#${cid})`});
      st.v.forEach(v => el("line", {x1: X(v), x2: X(v), y1: T, y2: H - B,
                                    stroke: "#ff7f0e", "stroke-width": 1.2}, plot));
      st.c.forEach((ci, s) => {
        const style = spec.styles[s];
        let d = "";
        for (let i = 0; i < nx; i++) {
          d += (i ? "L" : "M") + X(spec.x[i]).toFixed(1) + "," + Y(curves[ci * nx + i]).toFixed(1);
        }
        el("path", {d: d, fill: "none", stroke: style.color, "stroke-width": style.width,
                    "stroke-dasharray": style.dash}, plot);
      });
      let ly = T + 8;
      spec.styles.forEach(style => {
        if (!style.label) return;
        el("line", {x1: L + 10, x2: L + 34, y1: ly, y2: ly, stroke: style.color,
                    "stroke-width": style.width, "stroke-dasharray": style.dash}, g);
        el("text", {x: L + 40, y: ly + 4}, g, style.label);
        ly += 20;
      });
    };
  } else {
    const values = unpack(spec.values), n = spec.nodes.length;
    const xs = spec.nodes.map(p => p[0]), ys = spec.nodes.map(p => p[1]);
    const x0 = Math.min(...xs) - 0.6, x1 = Math.max(...xs) + 0.6;
    const half = spec.height / 2, y0 = -half - 0.5, y1 = half + 0.3;
    const S = 80, W = (x1 - x0) * S, H = (y1 - y0) * S + 34;
    svg.setAttribute("viewBox", `0 0 ${W.toFixed(0)} ${H.toFixed(0)}`);
    const X = v => (v - x0) * S, Y = v => 34 + (y1 - v) * S;
    draw = function () {
      clear();
      const s = stateIndex();
      const g = el("g", {"font-family": "sans-serif", fill: "#222"});
      el("text", {x: W / 2, y: 22, "text-anchor": "middle", "font-size": 17, class: "title"},
         g, spec.titles[s]);
      spec.edges.forEach(e => {
        const [a, b, colour, width, label] = e;
        el("line", {x1: X(xs[a]), y1: Y(ys[a]), x2: X(xs[b]), y2: Y(ys[b]), stroke: colour,
                    "stroke-width": width * 1.4, "stroke-opacity": 0.75}, g);
        const tx = xs[a] + 0.72 * (xs[b] - xs[a]), ty = ys[a] + 0.72 * (ys[b] - ys[a]);
        el("text", {x: X(tx), y: Y(ty) + 4, "text-anchor": "middle", "font-size": 13,
                    fill: colour, stroke: "white", "stroke-width": 3, "paint-order": "stroke"},
           g, label);
      });
      for (let i = 0; i < n; i++) {
        const v = values[s * n + i];
        const shade = 0.1 + 0.6 * Math.min(1, Math.max(0, v));
        // Matplotlib's "Greens" from light to dark, as in plot_network.
        const r = Math.round(247 - shade * 212), gr = Math.round(252 - shade * 113),
              b = Math.round(245 - shade * 176);
        el("circle", {cx: X(xs[i]), cy: Y(ys[i]), r: 0.28 * S,
                      fill: `rgb(${r},${gr},${b})`, stroke: "black"}, g);
        el("text", {x: X(xs[i]), y: Y(ys[i]) + 5, "text-anchor": "middle", "font-size": 16,
                    class: "value"}, g, v.toFixed(2));
      }
      spec.layers.forEach(([lx, name]) => el("text", {x: X(lx), y: Y(-half - 0.1),
        "text-anchor": "middle", "font-size": 16}, g, name));
    };
  }
  draw();
}
"""
