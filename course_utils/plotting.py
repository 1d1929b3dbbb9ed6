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
        "digits must have shape (N, 784), (N, 28, 28) or (N, 1, 28, 28); "
        f"got {X.shape}."
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
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.1 * ncols, 1.3 * nrows), squeeze=False
    )
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
            ax.set_title(" / ".join(parts), fontsize=8, color=colour)
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
        ax.plot(i + 1, curves[best][i], "o", color="black", ms=5,
                label=f"best {best.replace('_', ' ')} (epoch {i + 1})")
    if log and all(np.all(v[np.isfinite(v)] > 0) for v in curves.values()):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
