"""Two-dimensional test surfaces and the paths optimisers take on them (chapter 3).

The surfaces use only arithmetic and ``exp``, so they accept NumPy arrays (for
contour plots) and torch tensors (for autograd) alike. :func:`optimizer_path`
runs a ``torch.optim`` optimiser on one of them from a starting point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ._validate import check_int
from .nn_basics import _as_float_array

__all__ = ["muller_brown", "optimizer_path", "quadratic_bowl", "rosenbrock"]

# The surfaces use only arithmetic and exp, so they accept NumPy arrays (for
# plotting on a grid) and PyTorch tensors (for automatic gradients) alike.


def _exp(z):
    return torch.exp(z) if isinstance(z, torch.Tensor) else np.exp(z)


def quadratic_bowl(x, y, a: float = 1.0, b: float = 10.0, angle: float = 0.0):
    r"""An elliptic bowl, :math:`f = \tfrac12(a u^2 + b v^2)` in axes turned by ``angle``.

    :math:`u = x\cos\theta + y\sin\theta` and :math:`v = -x\sin\theta +
    y\cos\theta` with :math:`\theta` = ``angle``.  The only minimum is
    :math:`f(0, 0) = 0`.  The curvatures ``a`` and ``b`` are the eigenvalues of
    the Hessian; with ``b > a`` the bowl is a narrow valley along ``u``.  Plain
    gradient descent with learning rate :math:`\eta` converges on it if and
    only if :math:`\eta < 2 / \max(a, b)`, and the valley floor is crossed in
    steps of relative size :math:`\eta\min(a, b)`.

    Parameters
    ----------
    x, y : float, numpy.ndarray or torch.Tensor
        Coordinates (broadcast against each other).
    a, b : float
        Curvatures along ``u`` and ``v``, both > 0.
    angle : float
        Angle of the ``u`` axis against the ``x`` axis, in degrees.
    """
    if not (a > 0 and b > 0):
        raise ValueError(f"the curvatures a and b must be positive, got a={a}, b={b}.")
    theta = np.radians(float(angle))
    c, s = float(np.cos(theta)), float(np.sin(theta))
    u = c * x + s * y
    v = -s * x + c * y
    return 0.5 * (a * u * u + b * v * v)


def rosenbrock(x, y, a: float = 1.0, b: float = 100.0):
    r"""Rosenbrock's banana valley :math:`f = (a - x)^2 + b (y - x^2)^2`.

    The minimum :math:`f(a, a^2) = 0` lies at the end of a long, curved,
    nearly flat valley: a classic stress test for optimisers.
    """
    if not b > 0:
        raise ValueError(f"b must be positive, got b={b}.")
    return (a - x) ** 2 + b * (y - x * x) ** 2


#: Parameters of the Müller-Brown potential: (A, a, b, c, x0, y0) for its four terms.
_MULLER_BROWN = (
    (-200.0, -1.0, 0.0, -10.0, 1.0, 0.0),
    (-100.0, -1.0, 0.0, -10.0, 0.0, 0.5),
    (-170.0, -6.5, 11.0, -6.5, -0.5, 1.5),
    (15.0, 0.7, 0.6, 0.7, -1.0, 1.0),
)


def muller_brown(x, y):
    r"""The Müller-Brown model potential energy surface.

    A sum of four Gaussians, :math:`V = \sum_k A_k \exp[a_k (x - x_k)^2 +
    b_k (x - x_k)(y - y_k) + c_k (y - y_k)^2]`, with the parameters of
    K. Müller and L. D. Brown, *Theor. Chim. Acta* **53**, 75 (1979).  It has
    three minima, near (-0.558, 1.442) with V = -146.7, (0.623, 0.028) with
    V = -108.2 and (-0.050, 0.467) with V = -80.8, joined by two saddle points:
    a two-dimensional stand-in for a reaction on a potential energy surface.
    Energies and coordinates are in arbitrary units; a sensible window is
    x in [-1.5, 1.2], y in [-0.5, 2.0].
    """
    total = 0.0
    for A, a, b, c, x0, y0 in _MULLER_BROWN:
        dx, dy = x - x0, y - y0
        total = total + A * _exp(a * dx * dx + b * dx * dy + c * dy * dy)
    return total


def optimizer_path(
    f: Callable,
    start: Sequence[float],
    *,
    optimizer: str = "sgd",
    lr: float = 0.1,
    steps: int = 100,
    bound: float = 1e6,
    **optimizer_kwargs,
) -> np.ndarray:
    r"""The points a PyTorch optimiser visits while minimising ``f(x, y)``.

    The loop is the one that trains a network, applied to two numbers:
    zero the gradient, evaluate ``f``, ``backward()``, ``optimizer.step()``.

    Parameters
    ----------
    f : callable
        ``f(x, y)`` returning a scalar, written with operations that work on
        PyTorch tensors (for instance :func:`quadratic_bowl`,
        :func:`rosenbrock`, :func:`muller_brown`, or a lambda wrapping them).
    start : pair of float
        Starting point ``(x, y)``.
    optimizer : {"sgd", "momentum", "adam"}
        Plain gradient descent (:class:`torch.optim.SGD`), gradient descent
        with momentum (``SGD`` with ``momentum=0.9`` unless given) or
        :class:`torch.optim.Adam`.
    lr : float
        Learning rate (step size), > 0.
    steps : int
        Number of updates, >= 1.
    bound : float
        Stop early, keeping the points so far, once ``|x|`` or ``|y|`` exceeds
        this or a value becomes non-finite: the optimiser has diverged.
    **optimizer_kwargs
        Passed on to the PyTorch optimiser, e.g. ``momentum=0.5`` or
        ``betas=(0.9, 0.99)``.

    Returns
    -------
    numpy.ndarray, shape (n_points, 2)
        The start and every point after it, ``n_points = steps + 1`` unless
        the run diverged.
    """
    if not callable(f):
        raise TypeError(f"f must be a function f(x, y), not {type(f).__name__}.")
    start_arr = _as_float_array(start)
    if start_arr.shape != (2,) or not np.all(np.isfinite(start_arr)):
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}.")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, not {lr!r}.")
    steps = check_int(steps, "steps", minimum=1)
    name = optimizer.strip().lower() if isinstance(optimizer, str) else optimizer
    point = torch.tensor(start_arr, dtype=torch.float64, requires_grad=True)
    if name == "sgd":
        opt = torch.optim.SGD([point], lr=lr, **optimizer_kwargs)
    elif name == "momentum":
        optimizer_kwargs.setdefault("momentum", 0.9)
        opt = torch.optim.SGD([point], lr=lr, **optimizer_kwargs)
    elif name == "adam":
        opt = torch.optim.Adam([point], lr=lr, **optimizer_kwargs)
    else:
        raise ValueError(f"optimizer must be 'sgd', 'momentum' or 'adam', not {optimizer!r}.")

    path = [start_arr.copy()]
    for _ in range(int(steps)):
        opt.zero_grad()
        value = f(point[0], point[1])
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError("f(x, y) must return a single number computed with tensor operations.")
        value.backward()
        opt.step()
        new = point.detach().numpy().copy()
        if not np.all(np.isfinite(new)) or np.max(np.abs(new)) > bound:
            break
        path.append(new)
    return np.array(path)
