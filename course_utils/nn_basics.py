"""The nuts and bolts of a neural network, written out in NumPy.

Chapters 2 and 3 build a network from its parts before handing the work to
PyTorch.  This module keeps those parts in one place so that the chapters,
the exercises and the tests all use the same definitions:

* activation functions and their derivatives (:data:`ACTIVATIONS`,
  :func:`get_activation`);
* the lecture's worked example, a 3-3-2 sigmoid network
  (:data:`LECTURE_INPUTS`, :data:`LECTURE_HIDDEN_WEIGHTS`,
  :data:`LECTURE_OUTPUT_WEIGHTS`, :data:`LECTURE_BIAS`,
  :func:`lecture_network`);
* a forward pass (:func:`forward`) and backpropagation for the mean squared
  error (:func:`backprop`) of a fully connected network;
* a central finite-difference gradient (:func:`numerical_gradient`) to check
  any analytic or automatic gradient;
* two-dimensional test surfaces (:func:`quadratic_bowl`,
  :func:`rosenbrock`, :func:`muller_brown`) and the path an optimiser takes
  on them (:func:`optimizer_path`);
* a builder for plain multilayer perceptrons in PyTorch (:func:`make_mlp`).

Conventions: a layer with ``n_in`` inputs and ``n_out`` neurons has a weight
matrix of shape ``(n_out, n_in)`` and a bias vector of shape ``(n_out,)``,
exactly like :class:`torch.nn.Linear`.  A single sample is a vector of shape
``(n_in,)``; a batch of ``N`` samples is a matrix of shape ``(N, n_in)``, one
sample per row.  Everything is dimensionless.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from scipy.special import erf, expit
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "LECTURE_INPUTS",
    "LECTURE_HIDDEN_WEIGHTS",
    "LECTURE_OUTPUT_WEIGHTS",
    "LECTURE_BIAS",
    "Gradients",
    "backprop",
    "forward",
    "get_activation",
    "gelu",
    "gelu_derivative",
    "identity",
    "identity_derivative",
    "lecture_network",
    "make_mlp",
    "numerical_gradient",
    "relu",
    "relu_derivative",
    "selu",
    "selu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "tanh",
    "tanh_derivative",
]

# --------------------------------------------------------------------------
# Activation functions
# --------------------------------------------------------------------------

#: Constants of SELU (Klambauer et al., 2017), the values PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _as_float_array(z) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    try:
        return np.asarray(z, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"expected numbers or an array of numbers, got {type(z).__name__}."
        ) from exc


def identity(z) -> np.ndarray:
    """The identity ``f(z) = z`` (a linear output neuron, as in regression)."""
    return _as_float_array(z).copy()


def identity_derivative(z) -> np.ndarray:
    """Derivative of :func:`identity`: 1 everywhere."""
    return np.ones_like(_as_float_array(z))


def sigmoid(z) -> np.ndarray:
    r"""The logistic sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`.

    Parameters
    ----------
    z : array_like
        Pre-activations (weighted sums), any shape.

    Returns
    -------
    numpy.ndarray
        Values in (0, 1), same shape as ``z``.  Computed without overflow for
        large ``|z|``.
    """
    return expit(_as_float_array(z))


def sigmoid_derivative(z) -> np.ndarray:
    r"""Derivative :math:`\sigma'(z) = \sigma(z)\,[1 - \sigma(z)]`, at most 1/4."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z) -> np.ndarray:
    """The hyperbolic tangent, values in (-1, 1); ``tanh(z) = 2 sigmoid(2z) - 1``."""
    return np.tanh(_as_float_array(z))


def tanh_derivative(z) -> np.ndarray:
    r"""Derivative :math:`1 - \tanh^2(z)`, at most 1 (at ``z = 0``)."""
    t = np.tanh(_as_float_array(z))
    return 1.0 - t * t


def relu(z) -> np.ndarray:
    """The rectified linear unit ``max(0, z)``."""
    return np.maximum(_as_float_array(z), 0.0)


def relu_derivative(z) -> np.ndarray:
    """Derivative of ReLU: 1 for ``z > 0``, else 0 (PyTorch's choice at 0)."""
    return (_as_float_array(z) > 0).astype(float)


def selu(z) -> np.ndarray:
    r"""Scaled exponential linear unit.

    :math:`\lambda z` for :math:`z > 0` and :math:`\lambda\alpha(e^z - 1)`
    otherwise, with :data:`SELU_SCALE` :math:`\lambda \approx 1.0507` and
    :data:`SELU_ALPHA` :math:`\alpha \approx 1.6733`.  Smooth except for a
    kink at 0; tends to :math:`-\lambda\alpha \approx -1.758` for large
    negative ``z``.
    """
    z = _as_float_array(z)
    return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def selu_derivative(z) -> np.ndarray:
    r"""Derivative of :func:`selu`.

    :math:`\lambda` for ``z > 0``, else :math:`\lambda\alpha e^z`.
    """
    z = _as_float_array(z)
    return SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0)))


def gelu(z) -> np.ndarray:
    r"""Gaussian error linear unit :math:`z\,\Phi(z)` (exact form, PyTorch's default).

    :math:`\Phi(z) = \tfrac12[1 + \operatorname{erf}(z/\sqrt2)]` is the
    cumulative distribution function of the standard normal distribution.
    """
    z = _as_float_array(z)
    return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))


def gelu_derivative(z) -> np.ndarray:
    r"""Derivative of :func:`gelu`: :math:`\Phi(z) + z\,\varphi(z)`.

    :math:`\varphi` is the density of the standard normal distribution.
    """
    z = _as_float_array(z)
    cdf = 0.5 * (1.0 + erf(z / np.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return cdf + z * pdf


#: Activation functions by name: ``name -> (function, derivative)``.
#: ``"linear"`` is an alias of ``"identity"``.
ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "identity": (identity, identity_derivative),
    "linear": (identity, identity_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "selu": (selu, selu_derivative),
    "gelu": (gelu, gelu_derivative),
}


def get_activation(name: str) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    """Look up an activation function and its derivative by name.

    Parameters
    ----------
    name : str
        One of the keys of :data:`ACTIVATIONS` (case-insensitive):
        ``"identity"``/``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"selu"``, ``"gelu"``.

    Returns
    -------
    (function, derivative) : tuple of callables
        Both take an array of pre-activations and return an array of the same
        shape.
    """
    if not isinstance(name, str):
        raise TypeError(f"an activation is named by a string, not {type(name).__name__}.")
    key = name.strip().lower()
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}."
        )
    return ACTIVATIONS[key]


# --------------------------------------------------------------------------
# The lecture's worked example: a 3-3-2 network with sigmoid activations
# --------------------------------------------------------------------------


def _frozen(values) -> np.ndarray:
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


#: Inputs of the worked example, shape (3,).
LECTURE_INPUTS = _frozen([0.5, 0.9, -0.3])
#: Hidden-layer weights, shape (3, 3): row ``j`` holds the weights of hidden neuron ``j``.
LECTURE_HIDDEN_WEIGHTS = _frozen([[1.0, -2.0, 2.0], [2.0, 1.0, -4.0], [1.0, -1.0, 0.0]])
#: Output-layer weights, shape (2, 3): row ``k`` holds the weights of output neuron ``k``.
LECTURE_OUTPUT_WEIGHTS = _frozen([[-3.0, 1.0, -3.0], [0.0, 1.0, 2.0]])
#: The bias the lecture adds to every hidden neuron in its second example.
LECTURE_BIAS = 0.1


def lecture_network(bias: float = 0.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and biases of the lecture's 3-3-2 network, as fresh copies.

    Parameters
    ----------
    bias : float
        Bias of every *hidden* neuron.  The lecture uses 0 and then
        :data:`LECTURE_BIAS` (0.1); the output neurons have no bias.

    Returns
    -------
    weights : list of numpy.ndarray
        ``[W1, W2]`` with shapes (3, 3) and (2, 3).
    biases : list of numpy.ndarray
        ``[b1, b2]`` with shapes (3,) and (2,); ``b2`` is zero.

    Examples
    --------
    >>> weights, biases = lecture_network()
    >>> hidden, output = forward(LECTURE_INPUTS, weights, biases, return_all=True)[1:]
    >>> np.round(output, 2)
    array([0.35, 0.85])
    """
    bias = float(bias)
    if not np.isfinite(bias):
        raise ValueError(f"bias must be a finite number, not {bias}.")
    weights = [LECTURE_HIDDEN_WEIGHTS.copy(), LECTURE_OUTPUT_WEIGHTS.copy()]
    biases = [np.full(3, bias), np.zeros(2)]
    return weights, biases


# --------------------------------------------------------------------------
# Forward pass and backpropagation
# --------------------------------------------------------------------------


def _layer_activations(activation, n_layers: int) -> list[str]:
    if isinstance(activation, str):
        names = [activation] * n_layers
    elif isinstance(activation, Sequence):
        names = list(activation)
        if len(names) != n_layers:
            raise ValueError(
                f"got {len(names)} activation names for {n_layers} layers; give one "
                "name for all layers or exactly one per layer."
            )
    else:
        raise TypeError(
            "activation must be a name such as 'sigmoid' or a list of names, one per "
            f"layer, not {type(activation).__name__}."
        )
    for name in names:
        get_activation(name)  # validates
    return [name.strip().lower() for name in names]


def _check_network(x, weights, biases) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    x = _as_float_array(x)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"x must be one sample of shape (n_in,) or a batch of shape (N, n_in); got {x.shape}."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values.")
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
        raise TypeError("weights must be a non-empty list of 2-D arrays, one per layer.")
    Ws = [_as_float_array(W) for W in weights]
    if biases is None:
        bs = [np.zeros(W.shape[0]) if W.ndim == 2 else None for W in Ws]
    else:
        if isinstance(biases, np.ndarray) or not isinstance(biases, Sequence):
            raise TypeError("biases must be a list of 1-D arrays, one per layer, or None.")
        if len(biases) != len(Ws):
            raise ValueError(f"got {len(Ws)} weight matrices but {len(biases)} bias vectors.")
        bs = [_as_float_array(b) for b in biases]
    n_in = x.shape[-1]
    for layer, (W, b) in enumerate(zip(Ws, bs), start=1):
        if W.ndim != 2:
            raise ValueError(f"the weights of layer {layer} must be a matrix; got shape {W.shape}.")
        if W.shape[1] != n_in:
            raise ValueError(
                f"layer {layer} expects {W.shape[1]} inputs but receives {n_in}: its weight "
                f"matrix must have shape (n_out, {n_in}), got {W.shape}."
            )
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"the bias of layer {layer} must have shape ({W.shape[0]},), got {b.shape}."
            )
        n_in = W.shape[0]
    return x, Ws, bs


def forward(
    x,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray] | None = None,
    activation: str | Sequence[str] = "sigmoid",
    *,
    return_all: bool = False,
) -> np.ndarray | list[np.ndarray]:
    r"""Forward pass of a fully connected network.

    Layer :math:`l` computes :math:`a^{(l)} = f_l(W^{(l)} a^{(l-1)} + b^{(l)})`,
    starting from :math:`a^{(0)} = x`.  For a batch, the same is done for every
    row at once: :math:`A^{(l)} = f_l(A^{(l-1)} W^{(l)\top} + b^{(l)})`.

    Parameters
    ----------
    x : array_like, shape (n_in,) or (N, n_in)
        One sample or a batch of ``N`` samples (one per row).
    weights : list of array_like
        Weight matrices, layer ``l`` of shape ``(n_l, n_{l-1})``.
    biases : list of array_like, optional
        Bias vectors, layer ``l`` of shape ``(n_l,)``; ``None`` means no biases.
    activation : str or list of str
        One activation for every layer (the lecture uses ``"sigmoid"``
        throughout) or one name per layer, e.g. ``["tanh", "identity"]`` for
        a regression network with a linear output.
    return_all : bool
        If True, return the activations of every layer, input included.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        The output, shape ``(n_L,)`` or ``(N, n_L)``; with ``return_all``, the
        list ``[a0, a1, ..., aL]``.
    """
    a, Ws, bs = _check_network(x, weights, biases)
    names = _layer_activations(activation, len(Ws))
    activations = [a]
    for W, b, name in zip(Ws, bs, names):
        f, _ = get_activation(name)
        a = f(a @ W.T + b)
        activations.append(a)
    return activations if return_all else activations[-1]


class Gradients(NamedTuple):
    """Result of :func:`backprop`: the loss and its gradients, layer by layer."""

    loss: float
    weights: list[np.ndarray]
    biases: list[np.ndarray]


def backprop(
    x,
    y,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray] | None = None,
    activation: str | Sequence[str] = "sigmoid",
) -> Gradients:
    r"""Mean squared error of a fully connected network and its gradients.

    The loss is the mean over samples and output neurons,
    :math:`\mathcal{L} = \frac{1}{N n_L}\sum_{k,i}(a^{(L)}_{k,i} - y_{k,i})^2`
    (what ``torch.nn.MSELoss()`` computes).  The gradients follow from the
    chain rule, going backwards through the layers:

    .. math::

        \delta^{(L)} = \frac{\partial\mathcal{L}}{\partial a^{(L)}} \odot f_L'(z^{(L)}),\quad
        \delta^{(l-1)} = \big(W^{(l)\top}\delta^{(l)}\big) \odot f_{l-1}'(z^{(l-1)}),

    with :math:`\partial\mathcal{L}/\partial W^{(l)} = \delta^{(l)} a^{(l-1)\top}` and
    :math:`\partial\mathcal{L}/\partial b^{(l)} = \delta^{(l)}` (summed over the batch).

    Parameters
    ----------
    x : array_like, shape (n_in,) or (N, n_in)
        Inputs.
    y : array_like, shape (n_L,) or (N, n_L)
        Targets, the shape of the network's output.
    weights, biases, activation
        As in :func:`forward`.  Missing biases count as zero, and their
        gradients are still returned.

    Returns
    -------
    Gradients
        ``loss`` (float), ``weights`` (list of arrays shaped like the weight
        matrices) and ``biases`` (list of arrays shaped like the biases).
    """
    x, Ws, bs = _check_network(x, weights, biases)
    names = _layer_activations(activation, len(Ws))
    y = _as_float_array(y)
    single = x.ndim == 1
    X = x[None, :] if single else x
    Y = y[None, ...] if single else y
    n_out = Ws[-1].shape[0]
    if Y.shape != (X.shape[0], n_out):
        expected = (n_out,) if single else (X.shape[0], n_out)
        raise ValueError(f"y must have the output's shape {expected}, got {y.shape}.")
    if not np.all(np.isfinite(Y)):
        raise ValueError("y contains NaN or infinite values.")

    # Forward pass, keeping every pre-activation z and activation a.
    a_list, z_list = [X], []
    for W, b, name in zip(Ws, bs, names):
        z = a_list[-1] @ W.T + b
        z_list.append(z)
        a_list.append(get_activation(name)[0](z))

    residual = a_list[-1] - Y
    loss = float(np.mean(residual**2))

    # Backward pass.
    grad_W: list[np.ndarray] = [np.empty(0)] * len(Ws)
    grad_b: list[np.ndarray] = [np.empty(0)] * len(Ws)
    dL_da = 2.0 * residual / residual.size
    for layer in reversed(range(len(Ws))):
        delta = dL_da * get_activation(names[layer])[1](z_list[layer])
        grad_W[layer] = delta.T @ a_list[layer]
        grad_b[layer] = delta.sum(axis=0)
        dL_da = delta @ Ws[layer]
    return Gradients(loss, grad_W, grad_b)


def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    r"""Gradient of a scalar function by central finite differences.

    Each component is :math:`\partial f/\partial x_i \approx
    [f(x + \varepsilon e_i) - f(x - \varepsilon e_i)] / (2\varepsilon)`, with an
    error of order :math:`\varepsilon^2`.  It needs two calls of ``f`` per
    component, which is why networks are trained with backpropagation instead;
    it is the standard check of a gradient computed any other way.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, taking an array shaped like ``x``.  It must not keep
        a reference to the array it is given (the array is reused).
    x : array_like
        Where to differentiate, any shape; converted to float64.
    eps : float
        Step, > 0.  About ``1e-6`` balances truncation and round-off error in
        double precision for functions of order one.

    Returns
    -------
    numpy.ndarray
        The gradient, same shape as ``x``.  ``x`` itself is not modified.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of an array, not {type(f).__name__}.")
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, not {eps}.")
    point = np.array(_as_float_array(x), dtype=float)  # a private copy
    if not np.all(np.isfinite(point)):
        raise ValueError("x contains NaN or infinite values.")
    grad = np.zeros_like(point)
    flat, flat_grad = point.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        f_plus = f(point)
        flat[i] = original - eps
        f_minus = f(point)
        flat[i] = original
        values = np.asarray(f_plus, dtype=float), np.asarray(f_minus, dtype=float)
        if values[0].size != 1 or values[1].size != 1:
            raise ValueError(
                f"f must return a single number, got an array of shape {values[0].shape}."
            )
        flat_grad[i] = (values[0].item() - values[1].item()) / (2.0 * eps)
    return grad


# --------------------------------------------------------------------------
# PyTorch networks
# --------------------------------------------------------------------------

_TORCH_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
}


def make_mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str | None = None,
) -> nn.Sequential:
    """A fully connected network (multilayer perceptron) in PyTorch.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first: ``(784, 16, 16, 10)`` is the digit
        network of chapter 2, with 784 inputs and 10 outputs.
    activation : str
        Activation after every hidden layer: ``"sigmoid"``, ``"tanh"``,
        ``"relu"``, ``"selu"`` or ``"gelu"``.
    output_activation : str, optional
        Activation after the last layer.  ``None`` (default) leaves the
        output linear, as regression and ``nn.CrossEntropyLoss`` expect.

    Returns
    -------
    torch.nn.Sequential
        ``Linear, activation, Linear, activation, ..., Linear[, output_activation]``.
        The weights are PyTorch's random defaults: seed first for
        reproducibility.
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of layer widths, not {type(sizes).__name__}.")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}.")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"every layer width must be a positive integer, got {list(sizes)}.")

    def make(name: str, role: str) -> nn.Module:
        if not isinstance(name, str) or name.strip().lower() not in _TORCH_ACTIVATIONS:
            raise ValueError(
                f"unknown {role} {name!r}; choose one of {', '.join(_TORCH_ACTIVATIONS)}."
            )
        return _TORCH_ACTIVATIONS[name.strip().lower()]()

    make(activation, "activation")  # validate even when there is no hidden layer
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(int(n_in), int(n_out)))
        if i < len(sizes) - 2:
            layers.append(make(activation, "activation"))
    if output_activation is not None:
        layers.append(make(output_activation, "output_activation"))
    return nn.Sequential(*layers)
