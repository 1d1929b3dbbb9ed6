"""Plotting helpers shared by the chapters and exercises.

Nothing here changes Matplotlib's global state on import.  Call
:func:`use_course_style` once at the top of a notebook to opt in to the
course's look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

COURSE_STYLE: dict[str, object] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def use_course_style() -> None:
    """Apply the course's Matplotlib style to the current session.

    Uses only fonts that ship with Matplotlib, so nothing is downloaded.
    To undo it, call ``matplotlib.rcdefaults()``.
    """
    mpl.rcParams.update(COURSE_STYLE)


def smallest_text_px(style: Mapping[str, object] | None = None) -> float:
    """Height in image pixels of the smallest standard text of a course figure.

    Tick labels, legends and axis labels take their size from the style, and the
    notebook's inline backend draws at ``figure.dpi``; so a figure shown at its
    natural size has text of this many pixels, and one shrunk by a factor ``s`` has
    ``s`` times as many. The website uses it to keep figure text legible (at least
    9 CSS px), and the browser test to check that it is.

    Parameters
    ----------
    style : mapping of str to object, optional
        Matplotlib rcParams; :data:`COURSE_STYLE` if omitted.

    Returns
    -------
    float
        Font size in pixels (points x dpi / 72).
    """
    from matplotlib.font_manager import FontProperties

    with mpl.rc_context(COURSE_STYLE if style is None else dict(style)):
        rc = mpl.rcParams
        roles = ["xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize"]
        points = min(FontProperties(size=rc[role]).get_size_in_points() for role in roles)
        return points * float(rc["figure.dpi"]) / 72.0


def _as_image_stack(X) -> np.ndarray:
    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=float)
    if X.ndim == 1 and X.size == 784:
        X = X.reshape(1, 784)
    if X.ndim == 2 and X.shape[1] == 784:
        return X.reshape(-1, 28, 28)
    if X.ndim == 3 and X.shape[1:] == (28, 28):
        return X
    if X.ndim == 4 and X.shape[1:] == (1, 28, 28):
        return X[:, 0]
    raise ValueError(
        f"digits must have shape (N, 784), (N, 28, 28) or (N, 1, 28, 28); got {X.shape}."
    )


def plot_digits(
    X,
    labels: Sequence[int] | None = None,
    predictions: Sequence[int] | None = None,
    *,
    n: int = 20,
    ncols: int = 10,
    title: str | None = None,
) -> plt.Figure:
    """Show a grid of digit images.

    Parameters
    ----------
    X : array_like or torch.Tensor
        Images, shape (N, 784), (N, 28, 28) or (N, 1, 28, 28).
    labels : sequence of int, optional
        True labels, shown above each image.
    predictions : sequence of int, optional
        Predicted labels; a wrong prediction is shown in red.
    n : int
        How many images to show at most (the first ``n``).
    ncols : int
        Images per row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = _as_image_stack(X)
    n = min(int(n), len(images))
    if n < 1:
        raise ValueError("there are no images to plot.")
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and len(seq) < n:
            raise ValueError(f"{name} has {len(seq)} entries but {n} images are shown.")
    ncols = max(1, min(int(ncols), n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.3 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=max(1.0, images[k].max()))
        parts, colour = [], "black"
        if labels is not None:
            parts.append(f"{int(labels[k])}")
        if predictions is not None:
            parts.append(f"pred {int(predictions[k])}")
            if labels is not None and int(labels[k]) != int(predictions[k]):
                colour = "tab:red"
        if parts:
            ax.set_title(" / ".join(parts), fontsize=10, color=colour)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]],
    *,
    ax: plt.Axes | None = None,
    log: bool = True,
    best: str | None = "val_loss",
    ylabel: str = "loss",
) -> plt.Axes:
    """Plot training and validation curves against the epoch.

    Parameters
    ----------
    history : mapping of str to sequence of float
        For example the dict returned by :func:`course_utils.training.fit`,
        with keys such as ``"train_loss"`` and ``"val_loss"``; every key whose
        values are a non-empty sequence of numbers is drawn.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    log : bool
        Logarithmic y axis (losses often span decades).
    best : str or None
        Mark the minimum of this curve (e.g. where early stopping would stop).
    ylabel : str
        Label of the y axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(history, Mapping):
        raise TypeError(
            "history must be a mapping such as {'train_loss': [...], 'val_loss': [...]}, "
            f"not {type(history).__name__}."
        )
    curves = {
        k: np.asarray(v, dtype=float)
        for k, v in history.items()
        if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) and len(v) > 0
    }
    if not curves:
        raise ValueError("history holds no curves to plot (all entries are empty).")
    if ax is None:
        _, ax = plt.subplots()
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name.replace("_", " "))
    if best is not None and best in curves:
        i = int(np.nanargmin(curves[best]))
        ax.plot(
            i + 1,
            curves[best][i],
            "o",
            color="black",
            ms=5,
            label=f"best {best.replace('_', ' ')} (epoch {i + 1})",
        )
    if log and all(np.all(v[np.isfinite(v)] > 0) for v in curves.values()):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_landscape(
    f,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    paths: Mapping[str, object] | None = None,
    ax: plt.Axes | None = None,
    levels: int = 30,
    log: bool = False,
    n_grid: int = 150,
    minimum: tuple[float, float] | None = None,
    clip: float | None = None,
    colorbar: bool = True,
    xlabel: str = "$x$",
    ylabel: str = "$y$",
    zlabel: str = "f",
) -> plt.Axes:
    """Contour plot of a function of two variables, with optimiser paths on top.

    Parameters
    ----------
    f : callable
        ``f(X, Y)`` evaluated on a grid: it receives two 2-D arrays of the
        same shape and must return an array of that shape (NumPy
        broadcasting).  Wrap a scalar-only function in ``numpy.vectorize``.
    xlim, ylim : pair of float
        Plot window; the grid spans it.
    paths : mapping of str to array_like of shape (n, 2), optional
        Labelled sequences of points ``(x, y)``, for example from
        :func:`course_utils.surfaces.optimizer_path`.  Each is drawn as a line
        with dots; a square marks its start and a star its last point.  A path
        that ends outside the window is drawn only until it leaves for good,
        so a diverging path visibly leaves the plot (and has no star).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    levels : int
        Number of contour levels, >= 2.
    log : bool
        Colour by :math:`\\log_{10} f`, for functions that are positive and span
        decades (costs).  Values <= 0 are shown in the lowest level.
    n_grid : int
        Grid points along each axis, >= 10.
    minimum : pair of float, optional
        Mark this point (e.g. the known minimum) with a white cross.
    clip : float, optional
        Show values above ``clip`` as ``clip``, so that a steep wall does not
        use up all the colours (useful for potential energy surfaces).
    colorbar : bool
        Add a colour bar for the function's values.
    xlabel, ylabel : str
        Axis labels.
    zlabel : str
        Name of the function's value for the colour bar, as LaTeX math
        without dollars (e.g. ``"C"`` or ``"V"``); with ``log`` it becomes
        :math:`\\log_{10}` of it.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not callable(f):
        raise TypeError(f"f must be a function f(X, Y), not {type(f).__name__}.")
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not float(lim[0]) < float(lim[1]):
            raise ValueError(f"{name} must be a pair (low, high) with low < high, got {lim!r}.")
    if isinstance(levels, bool) or int(levels) != levels or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, not {levels!r}.")
    if isinstance(n_grid, bool) or int(n_grid) != n_grid or n_grid < 10:
        raise ValueError(f"n_grid must be an integer >= 10, not {n_grid!r}.")
    gx = np.linspace(float(xlim[0]), float(xlim[1]), int(n_grid))
    gy = np.linspace(float(ylim[0]), float(ylim[1]), int(n_grid))
    XX, YY = np.meshgrid(gx, gy)
    Z = np.asarray(f(XX, YY), dtype=float)
    if Z.shape != XX.shape:
        raise ValueError(
            f"f(X, Y) returned shape {Z.shape} on a grid of shape {XX.shape}; make f work "
            "element-wise on arrays, e.g. with numpy.vectorize."
        )
    if clip is not None:
        Z = np.minimum(Z, float(clip))
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("f is not finite anywhere in the window.")
    bar_label = f"${zlabel}$"
    if log:
        positive = finite[finite > 0]
        if positive.size == 0:
            raise ValueError("log=True needs f > 0 somewhere in the window.")
        Z = np.log10(np.where(np.isfinite(Z), np.maximum(Z, positive.min()), np.nan))
        bar_label = f"$\\log_{{10}} {zlabel}$"
    if ax is None:
        _, ax = plt.subplots()
    filled = ax.contourf(XX, YY, Z, levels=int(levels), cmap="viridis")
    ax.contour(XX, YY, Z, levels=filled.levels, colors="white", linewidths=0.3, alpha=0.5)
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, label=bar_label)
    for label, points in (paths or {}).items():
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
            raise ValueError(f"path {label!r} must have shape (n, 2), got {pts.shape}.")
        outside = ~(
            (pts[:, 0] >= xlim[0])
            & (pts[:, 0] <= xlim[1])
            & (pts[:, 1] >= ylim[0])
            & (pts[:, 1] <= ylim[1])
        )
        last_inside = int(np.flatnonzero(~outside)[-1]) if (~outside).any() else 0
        leaves = last_inside < len(pts) - 1
        shown = pts[: last_inside + 2]
        (line,) = ax.plot(shown[:, 0], shown[:, 1], ".-", ms=3, lw=1.2, label=label)
        ax.plot(pts[0, 0], pts[0, 1], "s", color=line.get_color(), ms=6)
        if not leaves:
            ax.plot(
                pts[-1, 0], pts[-1, 1], "*", color=line.get_color(), ms=11, mec="black", mew=0.5
            )
    if minimum is not None:
        ax.plot(*minimum, "x", color="white", ms=9, mew=2)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    if paths:
        ax.legend(loc="best", frameon=True)
    return ax


def plot_network(
    weights,
    *,
    activations=None,
    ax: plt.Axes | None = None,
    layer_names: Sequence[str] | None = None,
    edge_labels: bool | None = None,
    label_position: float = 0.72,
) -> plt.Axes:
    """Draw a small fully connected network, its weights and, optionally, its activations.

    Parameters
    ----------
    weights : list of array_like
        Weight matrices, layer ``l`` of shape ``(n_l, n_{l-1})`` (the
        convention of :class:`torch.nn.Linear` and
        :func:`course_utils.nn_basics.forward`).  An edge's colour shows the
        weight's sign (blue positive, red negative), its width the magnitude.
    activations : list of array_like, optional
        Values of every layer, input included (``[a0, a1, ..., aL]``, as
        returned by ``forward(..., return_all=True)`` for one sample).  They
        are written into the nodes and set their shading.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    layer_names : sequence of str, optional
        One caption per layer, input included; defaults to "input",
        "hidden 1", ..., "output".
    edge_labels : bool, optional
        Write each weight next to its edge.  By default only for networks
        with at most 40 edges.
    label_position : float
        Where along each edge (0 = start, 1 = end) its label sits, in (0, 1).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
        raise TypeError("weights must be a non-empty list of 2-D arrays, one per layer.")
    Ws = [np.asarray(W.detach().cpu() if hasattr(W, "detach") else W, dtype=float) for W in weights]
    for layer, W in enumerate(Ws, start=1):
        if W.ndim != 2:
            raise ValueError(f"the weights of layer {layer} must be a matrix, got shape {W.shape}.")
    sizes = [Ws[0].shape[1]]
    for layer, W in enumerate(Ws, start=1):
        if W.shape[1] != sizes[-1]:
            raise ValueError(
                f"layer {layer} must have a weight matrix of shape (n_out, {sizes[-1]}), "
                f"got {W.shape}."
            )
        sizes.append(W.shape[0])
    if max(sizes) > 30:
        raise ValueError(
            f"plot_network draws small networks (<= 30 neurons per layer); got {sizes}."
        )
    if activations is not None:
        acts = [np.asarray(a, dtype=float).reshape(-1) for a in activations]
        if [a.size for a in acts] != sizes:
            raise ValueError(
                f"activations must give one value per neuron, layer sizes {sizes}; "
                f"got sizes {[a.size for a in acts]}."
            )
    if layer_names is None:
        hidden = (
            ["hidden"] if len(sizes) == 3 else [f"hidden {i}" for i in range(1, len(sizes) - 1)]
        )
        layer_names = ["input", *hidden, "output"]
    elif len(layer_names) != len(sizes):
        raise ValueError(f"give {len(sizes)} layer names, got {len(layer_names)}.")
    if not 0 < label_position < 1:
        raise ValueError(f"label_position must lie between 0 and 1, not {label_position}.")
    n_edges = sum(W.size for W in Ws)
    if edge_labels is None:
        edge_labels = n_edges <= 40

    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * len(sizes), 0.8 * max(sizes) + 1.0))

    def ys(n: int) -> np.ndarray:
        return (np.arange(n) - (n - 1) / 2.0)[::-1]

    dx = 2.5  # horizontal distance between layers, in units of the vertical one
    pos = [np.column_stack([np.full(n, dx * l), ys(n)]) for l, n in enumerate(sizes)]
    w_max = max(float(np.abs(W).max()) for W in Ws) or 1.0
    for l, W in enumerate(Ws):
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                (x0, y0), (x1, y1) = pos[l][k], pos[l + 1][j]
                w = W[j, k]
                colour = "tab:blue" if w > 0 else ("tab:red" if w < 0 else "lightgrey")
                ax.plot(
                    [x0, x1],
                    [y0, y1],
                    color=colour,
                    lw=0.5 + 3.0 * abs(w) / w_max,
                    alpha=0.75,
                    zorder=1,
                )
                if edge_labels:
                    t = label_position
                    ax.text(
                        x0 + t * (x1 - x0),
                        y0 + t * (y1 - y0),
                        f"{w:g}",
                        fontsize=9,
                        ha="center",
                        va="center",
                        color=colour,
                        zorder=3,
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
                    )
    cmap = plt.get_cmap("Greens")
    for l, n in enumerate(sizes):
        for j in range(n):
            value = acts[l][j] if activations is not None else None
            shade = 0.15 if value is None else 0.1 + 0.6 * float(np.clip(value, 0.0, 1.0))
            ax.add_patch(
                mpl.patches.Circle(
                    pos[l][j], 0.28, facecolor=cmap(shade), edgecolor="black", lw=1.0, zorder=2
                )
            )
            if value is not None:
                ax.text(*pos[l][j], f"{value:.2f}", ha="center", va="center", fontsize=9, zorder=4)
        ax.text(
            dx * l, ys(max(sizes))[-1] - 0.45, layer_names[l], ha="center", va="top", fontsize=10
        )
    ax.set_xlim(-0.5, dx * (len(sizes) - 1) + 0.5)
    ax.set_ylim(ys(max(sizes))[-1] - 0.9, ys(max(sizes))[0] + 0.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax
