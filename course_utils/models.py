"""The Lennard-Jones models of the chapters on training well.

* :class:`GaussianExpansion` turns a distance into a vector of Gaussian
  features, the simple descriptor of the lecture's Lennard-Jones scripts.
* :func:`gaussian_mlp` puts that descriptor in front of a multilayer
  perceptron (built with :func:`course_utils.nn_basics.make_mlp`); with its
  defaults it is the lecture's 6,601-parameter network.

Both are ordinary :class:`torch.nn.Module` objects: print them, count their
parameters and train them like any other model.
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils._validate import check_int
from course_utils.nn_basics import make_mlp


def _int_at_least(name: str, value, minimum: int) -> int:
    return check_int(value, name, minimum=minimum, error=TypeError)


class GaussianExpansion(nn.Module):
    r"""Expand a distance in Gaussian functions placed on a regular grid.

    Feature :math:`k` of a distance :math:`r` is
    :math:`\phi_k(r) = \exp[-(r - \mu_k)^2 / (2 s^2)]`, with ``n`` centres
    :math:`\mu_k` evenly spaced from ``start`` to ``stop`` and a common width
    :math:`s` (by default the spacing of the centres).  Far outside
    [``start``, ``stop``] every feature is zero, so a model built on them cannot
    tell such distances apart: a descriptor sets where a model can extrapolate.

    Parameters
    ----------
    start, stop : float
        First and last centre, in the unit of the distances; ``start < stop``.
    n : int
        Number of centres (output features), >= 2.
    width : float, optional
        Standard deviation :math:`s` of each Gaussian, > 0; defaults to the
        spacing ``(stop - start) / (n - 1)``.

    Notes
    -----
    Input shape (N, 1) or (N,); output shape (N, n).  The centres are a
    buffer, not parameters: they are not trained.
    """

    centres: torch.Tensor

    def __init__(self, start: float, stop: float, n: int, width: float | None = None):
        super().__init__()
        n = _int_at_least("n", n, 2)
        if not start < stop:
            raise ValueError(f"need start < stop, got start={start}, stop={stop}.")
        spacing = (stop - start) / (n - 1)
        width = spacing if width is None else float(width)
        if not width > 0:
            raise ValueError(f"width must be positive, not {width}.")
        self.width = width
        self.register_buffer("centres", torch.linspace(float(start), float(stop), n))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        if r.ndim == 1:
            r = r.unsqueeze(1)
        elif not (r.ndim == 2 and r.shape[1] == 1):
            raise ValueError(
                "GaussianExpansion expects distances of shape (N, 1) or (N,), "
                f"got {tuple(r.shape)}."
            )
        return torch.exp(-0.5 * ((r - self.centres) / self.width) ** 2)

    def extra_repr(self) -> str:
        c = self.centres
        return f"start={float(c[0]):g}, stop={float(c[-1]):g}, n={len(c)}, width={self.width:g}"


def gaussian_mlp(
    width: int = 60,
    depth: int = 2,
    *,
    n_features: int = 47,
    start: float = 0.8,
    stop: float = 3.0,
    activation: str = "gelu",
    seed: int | None = None,
) -> nn.Sequential:
    """A distance -> energy model: Gaussian features, then a perceptron.

    ``nn.Sequential(GaussianExpansion(start, stop, n_features),
    make_mlp([n_features] + [width] * depth + [1], activation))``.  The defaults
    give 47 features and two hidden layers of 60 GELU neurons: 6,601
    parameters, the size of the network in the lecture's overfitting example.

    Parameters
    ----------
    width : int
        Neurons per hidden layer, >= 1.
    depth : int
        Number of hidden layers, >= 1.
    n_features : int
        Number of Gaussian features, >= 2.
    start, stop : float
        Range of the Gaussian centres (units of sigma).
    activation : str
        Activation of the hidden layers (see :func:`course_utils.nn_basics.make_mlp`).
    seed : int, optional
        Seed of the initial weights; PyTorch's global random state is left as
        it was.  None draws from the global state.

    Returns
    -------
    torch.nn.Sequential
        Maps distances of shape (N, 1) to energies of shape (N, 1).
    """
    width = _int_at_least("width", width, 1)
    depth = _int_at_least("depth", depth, 1)
    n_features = _int_at_least("n_features", n_features, 2)

    def build() -> nn.Sequential:
        return nn.Sequential(
            GaussianExpansion(start, stop, n_features),
            make_mlp([n_features] + [width] * depth + [1], activation=activation),
        )

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()
