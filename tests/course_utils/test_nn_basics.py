"""Tests for course_utils/nn_basics.py."""

import numpy as np
import pytest
import torch
from torch import nn

from course_utils import nn_basics as nb

ACTIVATION_NAMES = ["identity", "sigmoid", "tanh", "relu", "selu", "gelu"]
TORCH_FUNCTIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "selu": nn.functional.selu,
    "gelu": nn.functional.gelu,
}


def _random_network(rng, sizes):
    weights = [rng.normal(size=(n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n_out) for n_out in sizes[1:]]
    return weights, biases


# --------------------------------------------------------------------------
# Activation functions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_derivative_matches_finite_differences(name):
    f, df = nb.get_activation(name)
    z = np.linspace(-5, 5, 201)
    z = z[np.abs(z) > 1e-3]  # ReLU and SELU have a kink at 0
    eps = 1e-6
    numeric = (f(z + eps) - f(z - eps)) / (2 * eps)
    np.testing.assert_allclose(df(z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_and_derivative_match_pytorch(name):
    f, df = nb.get_activation(name)
    z = torch.linspace(-6, 6, 241, dtype=torch.float64)
    z = z[torch.abs(z) > 1e-3].requires_grad_(True)
    out = TORCH_FUNCTIONS[name](z)
    (grad,) = torch.autograd.grad(out.sum(), z)
    np.testing.assert_allclose(f(z.detach().numpy()), out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(df(z.detach().numpy()), grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activation_identities_and_limits():
    z = np.linspace(-8, 8, 161)
    assert nb.sigmoid(0.0) == 0.5
    np.testing.assert_allclose(nb.sigmoid(-z), 1 - nb.sigmoid(z), atol=1e-15)
    np.testing.assert_allclose(nb.tanh(z), 2 * nb.sigmoid(2 * z) - 1, atol=1e-14)
    assert np.max(nb.sigmoid_derivative(z)) == pytest.approx(0.25)
    # GELU and SELU approach ReLU-like behaviour far from the origin.
    np.testing.assert_allclose(nb.gelu(np.array([-10.0, 10.0])), [0.0, 10.0], atol=1e-12)
    assert nb.selu(-50.0) == pytest.approx(-nb.SELU_SCALE * nb.SELU_ALPHA)
    assert nb.relu_derivative(0.0) == 0.0


def test_sigmoid_does_not_overflow():
    with np.errstate(all="raise"):
        values = nb.sigmoid(np.array([-1000.0, 1000.0]))
        derivs = nb.sigmoid_derivative(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 1.0])
    np.testing.assert_array_equal(derivs, [0.0, 0.0])


def test_activations_accept_scalars_lists_and_tensors_and_keep_shape():
    assert nb.relu(-2) == 0.0
    assert nb.tanh([0.0, 1.0]).shape == (2,)
    assert nb.gelu(torch.zeros(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="numbers"):
        nb.sigmoid("not a number")


def test_get_activation_is_case_insensitive_and_rejects_unknown_names():
    assert nb.get_activation(" SeLU ")[0] is nb.selu
    assert nb.get_activation("linear")[0] is nb.identity
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        nb.get_activation("swish")
    with pytest.raises(TypeError, match="string"):
        nb.get_activation(nb.sigmoid)


# --------------------------------------------------------------------------
# The lecture's worked example
# --------------------------------------------------------------------------


def test_worked_example_reproduces_the_lecture():
    weights, biases = nb.lecture_network()
    _, hidden, output = nb.forward(nb.LECTURE_INPUTS, weights, biases, return_all=True)
    np.testing.assert_allclose(nb.LECTURE_HIDDEN_WEIGHTS @ nb.LECTURE_INPUTS, [-1.9, 3.1, -0.4])
    np.testing.assert_array_equal(np.round(hidden, 2), [0.13, 0.96, 0.40])
    np.testing.assert_array_equal(np.round(output, 2), [0.35, 0.85])


def test_worked_example_with_bias():
    weights, biases = nb.lecture_network(bias=nb.LECTURE_BIAS)
    z = weights[0] @ nb.LECTURE_INPUTS + biases[0]
    np.testing.assert_allclose(z, [-1.8, 3.2, -0.3])
    hidden = nb.forward(nb.LECTURE_INPUTS, weights[:1], biases[:1])
    # The slide prints (.14, .96, 0.4); the third value is a slip on the slide:
    # sigmoid(-0.3) = 0.4256, which rounds to 0.43.
    np.testing.assert_array_equal(np.round(hidden, 2), [0.14, 0.96, 0.43])
    assert hidden[2] == pytest.approx(1 / (1 + np.exp(0.3)))


def test_lecture_constants_are_read_only_and_lecture_network_returns_copies():
    with pytest.raises(ValueError):
        nb.LECTURE_HIDDEN_WEIGHTS[0, 0] = 5.0
    weights, biases = nb.lecture_network()
    weights[0][0, 0] = 99.0
    biases[0][:] = 1.0
    assert nb.LECTURE_HIDDEN_WEIGHTS[0, 0] == 1.0
    assert [W.shape for W in weights] == [(3, 3), (2, 3)]
    np.testing.assert_array_equal(nb.lecture_network()[1][1], [0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        nb.lecture_network(bias=np.nan)


def test_worked_example_matches_torch_linear_layers():
    weights, biases = nb.lecture_network(bias=0.1)
    hidden, output = nn.Linear(3, 3).double(), nn.Linear(3, 2).double()
    with torch.no_grad():
        for layer, W, b in zip((hidden, output), weights, biases):
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b))
        expected = torch.sigmoid(output(torch.sigmoid(hidden(torch.tensor(nb.LECTURE_INPUTS)))))
    np.testing.assert_allclose(
        nb.forward(nb.LECTURE_INPUTS, weights, biases), expected.numpy(), rtol=1e-12
    )


# --------------------------------------------------------------------------
# Forward pass
# --------------------------------------------------------------------------


def test_forward_on_a_batch_equals_forward_on_each_sample():
    rng = np.random.default_rng(1)
    weights, biases = _random_network(rng, [4, 5, 3, 2])
    X = rng.normal(size=(7, 4))
    batch = nb.forward(X, weights, biases, activation="tanh")
    single = np.array([nb.forward(x, weights, biases, activation="tanh") for x in X])
    assert batch.shape == (7, 2)
    np.testing.assert_allclose(batch, single, rtol=1e-13)


def test_forward_return_all_gives_every_layer_and_per_layer_activations():
    rng = np.random.default_rng(2)
    weights, biases = _random_network(rng, [3, 4, 1])
    x = rng.normal(size=3)
    layers = nb.forward(x, weights, biases, activation=["relu", "identity"], return_all=True)
    assert [a.shape for a in layers] == [(3,), (4,), (1,)]
    np.testing.assert_allclose(layers[1], np.maximum(weights[0] @ x + biases[0], 0))
    np.testing.assert_allclose(layers[2], weights[1] @ layers[1] + biases[1])


def test_a_stack_of_linear_layers_collapses_to_one_linear_map():
    rng = np.random.default_rng(3)
    weights, biases = _random_network(rng, [3, 6, 5, 2])
    X = rng.normal(size=(10, 3))
    W = weights[2] @ weights[1] @ weights[0]
    b = weights[2] @ (weights[1] @ biases[0] + biases[1]) + biases[2]
    np.testing.assert_allclose(nb.forward(X, weights, biases, activation="identity"), X @ W.T + b)


def test_forward_without_biases_equals_zero_biases():
    rng = np.random.default_rng(4)
    weights, _ = _random_network(rng, [2, 3, 2])
    x = rng.normal(size=2)
    zeros = [np.zeros(3), np.zeros(2)]
    np.testing.assert_array_equal(nb.forward(x, weights), nb.forward(x, weights, zeros))


@pytest.mark.parametrize(
    "x, weights, biases, activation, error, message",
    [
        (
            np.ones(4),
            [np.ones((3, 3))],
            None,
            "sigmoid",
            ValueError,
            "expects 3 inputs but receives 4",
        ),
        (
            np.ones(3),
            [np.ones((3, 3)), np.ones((2, 4))],
            None,
            "sigmoid",
            ValueError,
            "layer 2 expects 4",
        ),
        (np.ones(3), [np.ones((3, 3))], [np.ones(2)], "sigmoid", ValueError, r"shape \(3,\)"),
        (
            np.ones(3),
            [np.ones((3, 3))],
            [np.ones(3), np.ones(3)],
            "sigmoid",
            ValueError,
            "1 weight",
        ),
        (np.ones((2, 2, 3)), [np.ones((3, 3))], None, "sigmoid", ValueError, "batch of shape"),
        (np.array([np.nan, 1, 1]), [np.ones((3, 3))], None, "sigmoid", ValueError, "NaN"),
        (np.ones(3), [np.ones(3)], None, "sigmoid", ValueError, "must be a matrix"),
        (np.ones(3), np.ones((3, 3)), None, "sigmoid", TypeError, "list of 2-D arrays"),
        (
            np.ones(3),
            [np.ones((3, 3))],
            None,
            ["relu", "relu"],
            ValueError,
            "2 activation names for 1",
        ),
        (np.ones(3), [np.ones((3, 3))], None, 3, TypeError, "activation must be"),
        (np.ones(3), [np.ones((3, 3))], None, "softmax", ValueError, "unknown activation"),
    ],
)
def test_forward_rejects_bad_input_with_helpful_messages(
    x, weights, biases, activation, error, message
):
    with pytest.raises(error, match=message):
        nb.forward(x, weights, biases, activation=activation)


# --------------------------------------------------------------------------
# Backpropagation and numerical gradients
# --------------------------------------------------------------------------


def _autograd_gradients(X, Y, weights, biases, activations):
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    a = torch.tensor(X)
    for W, b, name in zip(Ws, bs, activations):
        a = TORCH_FUNCTIONS[name](a @ W.T + b)
    loss = nn.MSELoss()(a, torch.tensor(Y))
    loss.backward()
    return loss.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


@pytest.mark.parametrize(
    "activations",
    [["sigmoid", "sigmoid", "sigmoid"], ["tanh", "gelu", "identity"], ["selu", "relu", "tanh"]],
)
def test_backprop_matches_autograd(activations):
    rng = np.random.default_rng(5)
    weights, biases = _random_network(rng, [4, 6, 5, 3])
    X, Y = rng.normal(size=(8, 4)), rng.normal(size=(8, 3))
    result = nb.backprop(X, Y, weights, biases, activation=activations)
    loss, grad_W, grad_b = _autograd_gradients(X, Y, weights, biases, activations)
    assert result.loss == pytest.approx(loss, rel=1e-12)
    for ours, theirs in zip(result.weights + result.biases, grad_W + grad_b):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


def test_backprop_matches_finite_differences_on_the_lecture_network():
    weights, biases = nb.lecture_network(bias=0.1)
    x, y = nb.LECTURE_INPUTS, np.array([0.0, 1.0])
    result = nb.backprop(x, y, weights, biases)

    def loss_with(layer, kind):
        def f(value):
            W = [w.copy() for w in weights]
            b = [c.copy() for c in biases]
            (W if kind == "W" else b)[layer] = value
            return np.mean((nb.forward(x, W, b) - y) ** 2)

        return f

    for layer in range(2):
        fd_W = nb.numerical_gradient(loss_with(layer, "W"), weights[layer])
        fd_b = nb.numerical_gradient(loss_with(layer, "b"), biases[layer])
        np.testing.assert_allclose(result.weights[layer], fd_W, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(result.biases[layer], fd_b, rtol=1e-6, atol=1e-10)
    assert result.loss == pytest.approx(np.mean((nb.forward(x, weights, biases) - y) ** 2))


def test_backprop_gradient_step_lowers_the_loss_and_vanishes_at_a_perfect_fit():
    weights, biases = nb.lecture_network()
    X = np.random.default_rng(6).uniform(-1, 1, size=(20, 3))
    Y = nb.forward(X, weights, biases)
    at_minimum = nb.backprop(X, Y, weights, biases)
    assert at_minimum.loss == 0.0
    assert all(np.all(g == 0) for g in at_minimum.weights + at_minimum.biases)

    shifted = [weights[0] + 0.5, weights[1]]
    before = nb.backprop(X, Y, shifted, biases)
    stepped = [W - 5.0 * g for W, g in zip(shifted, before.weights)]
    assert nb.backprop(X, Y, stepped, biases).loss < before.loss


def test_backprop_rejects_targets_of_the_wrong_shape():
    weights, biases = nb.lecture_network()
    with pytest.raises(ValueError, match=r"output's shape \(2,\)"):
        nb.backprop(nb.LECTURE_INPUTS, np.zeros(3), weights, biases)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        nb.backprop(np.zeros((5, 3)), np.zeros((4, 2)), weights, biases)
    with pytest.raises(ValueError, match="NaN"):
        nb.backprop(nb.LECTURE_INPUTS, np.array([np.nan, 0.0]), weights, biases)


def test_numerical_gradient_of_a_known_function_and_input_left_untouched():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([[0.3, -1.2]])
    x_before = x.copy()
    grad = nb.numerical_gradient(lambda v: (v @ A @ v.T).item(), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 2 * x @ A, rtol=1e-8)
    np.testing.assert_array_equal(x, x_before)


def test_numerical_gradient_rejects_bad_input():
    with pytest.raises(TypeError, match="function"):
        nb.numerical_gradient(3.0, np.zeros(2))
    with pytest.raises(ValueError, match="eps"):
        nb.numerical_gradient(np.sum, np.zeros(2), eps=0)
    with pytest.raises(ValueError, match="single number"):
        nb.numerical_gradient(lambda v: v * 2, np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        nb.numerical_gradient(np.sum, np.array([np.inf]))


# --------------------------------------------------------------------------
# Test surfaces and optimiser paths
# --------------------------------------------------------------------------


def _hessian(f, point):
    p = torch.tensor(point, dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda q: f(q[0], q[1]), p).numpy()


# --------------------------------------------------------------------------
# make_mlp
# --------------------------------------------------------------------------


def test_make_mlp_builds_the_digit_network_with_13002_parameters():
    model = nb.make_mlp([784, 16, 16, 10], activation="sigmoid")
    assert sum(p.numel() for p in model.parameters()) == 13002
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert model(torch.zeros(5, 784)).shape == (5, 10)


def test_make_mlp_output_activation_and_numpy_agreement():
    torch.manual_seed(0)
    model = nb.make_mlp((3, 4, 2), activation="tanh", output_activation="sigmoid").double()
    weights = [m.weight.detach().numpy() for m in model if isinstance(m, nn.Linear)]
    biases = [m.bias.detach().numpy() for m in model if isinstance(m, nn.Linear)]
    X = np.random.default_rng(7).normal(size=(6, 3))
    with torch.no_grad():
        ours = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(
        ours, nb.forward(X, weights, biases, ["tanh", "sigmoid"]), rtol=1e-12
    )


@pytest.mark.parametrize(
    "sizes, activation, output_activation, error",
    [
        ([784], "relu", None, ValueError),
        ([784, 0, 10], "relu", None, ValueError),
        ([3, 2.5, 1], "relu", None, ValueError),
        ("784-16-10", "relu", None, TypeError),
        ([3, 1], "swish", None, ValueError),
        ([3, 4, 1], "relu", "softmax", ValueError),
    ],
)
def test_make_mlp_rejects_bad_input(sizes, activation, output_activation, error):
    with pytest.raises(error):
        nb.make_mlp(sizes, activation=activation, output_activation=output_activation)


def test_importing_nn_basics_changes_no_global_state():
    import importlib

    import matplotlib

    before_rc = dict(matplotlib.rcParams)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    importlib.reload(nb)
    assert torch.equal(torch.rand(3), expected)
    assert dict(matplotlib.rcParams) == before_rc
