"""Tests for course_utils/surfaces.py: the 2D test surfaces and optimiser paths."""

import numpy as np
import pytest
import torch

from course_utils import nn_basics as nb
from course_utils import surfaces


def _hessian(f, point):
    p = torch.tensor(point, dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda q: f(q[0], q[1]), p).numpy()


def test_quadratic_bowl_has_the_documented_minimum_and_curvatures():
    f = lambda x, y: surfaces.quadratic_bowl(x, y, a=0.2, b=10.0, angle=30.0)  # noqa: E731
    assert f(0.0, 0.0) == 0.0
    eigenvalues = np.linalg.eigvalsh(_hessian(f, [0.7, -0.4]))
    np.testing.assert_allclose(eigenvalues, [0.2, 10.0], rtol=1e-12)
    # the valley floor runs along the direction at 30 degrees
    direction = np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])
    assert f(*(2 * direction)) == pytest.approx(0.5 * 0.2 * 4)
    with pytest.raises(ValueError, match="positive"):
        surfaces.quadratic_bowl(1.0, 1.0, a=0.0)


def test_rosenbrock_minimum():
    assert surfaces.rosenbrock(1.0, 1.0) == 0.0
    assert surfaces.rosenbrock(2.0, 4.0, a=2.0) == 0.0
    assert surfaces.rosenbrock(0.0, 0.0) == 1.0
    with pytest.raises(ValueError):
        surfaces.rosenbrock(0.0, 0.0, b=-1.0)


@pytest.mark.parametrize(
    "point, energy", [((-0.558, 1.442), -146.7), ((0.623, 0.028), -108.2), ((-0.050, 0.467), -80.8)]
)
def test_muller_brown_minima_are_where_the_docstring_says(point, energy):
    assert surfaces.muller_brown(*point) == pytest.approx(energy, abs=0.05)
    grad = nb.numerical_gradient(lambda p: surfaces.muller_brown(p[0], p[1]), np.array(point))
    assert np.max(np.abs(grad)) < 1.0  # the gradient is of order 1000 elsewhere
    assert np.all(np.linalg.eigvalsh(_hessian(surfaces.muller_brown, point)) > 0)


def test_surfaces_give_the_same_values_for_numpy_and_torch():
    x, y = np.linspace(-1.2, 1.0, 7), np.linspace(-0.3, 1.8, 7)
    for f in (surfaces.quadratic_bowl, surfaces.rosenbrock, surfaces.muller_brown):
        np.testing.assert_allclose(f(torch.from_numpy(x), torch.from_numpy(y)).numpy(), f(x, y))


def test_optimizer_path_sgd_is_plain_gradient_descent():
    a, b, angle, lr = 0.2, 10.0, 30.0, 0.15
    f = lambda x, y: surfaces.quadratic_bowl(x, y, a, b, angle)  # noqa: E731
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag([a, b]) @ R.T
    point, expected = np.array([-4.5, -1.0]), [np.array([-4.5, -1.0])]
    for _ in range(25):
        point = point - lr * H @ point
        expected.append(point)
    path = surfaces.optimizer_path(f, (-4.5, -1.0), optimizer="sgd", lr=lr, steps=25)
    assert path.shape == (26, 2)
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-14)


def test_gradient_descent_converges_below_two_over_curvature_and_diverges_above():
    f = lambda x, y: surfaces.quadratic_bowl(x, y, a=1.0, b=10.0)  # noqa: E731
    stable = surfaces.optimizer_path(f, (1.0, 1.0), lr=0.19, steps=400)
    assert len(stable) == 401 and np.max(np.abs(stable[-1])) < 1e-6
    unstable = surfaces.optimizer_path(f, (1.0, 1.0), lr=0.21, steps=400, bound=1e3)
    assert len(unstable) < 401  # stopped early, once the path left |x|, |y| <= bound
    assert np.max(np.abs(unstable)) <= 1e3
    assert np.linalg.norm(unstable[-1]) > 100 * np.linalg.norm(unstable[0])


@pytest.mark.parametrize(
    "optimizer, lr, kwargs",
    [("momentum", 0.1, {"momentum": 0.8}), ("momentum", 0.02, {}), ("adam", 0.5, {})],
)
def test_momentum_and_adam_reach_the_minimum_of_a_valley(optimizer, lr, kwargs):
    f = lambda x, y: surfaces.quadratic_bowl(x, y, a=0.2, b=10.0, angle=30.0)  # noqa: E731
    path = surfaces.optimizer_path(f, (-4.5, -1.0), optimizer=optimizer, lr=lr, steps=300, **kwargs)
    assert f(*path[-1]) < 1e-3 * f(*path[0])


def test_momentum_escapes_the_shallow_muller_brown_minimum_where_gradient_descent_stays():
    plain = surfaces.optimizer_path(
        surfaces.muller_brown, (0.2, 1.0), optimizer="sgd", lr=1e-4, steps=300
    )
    heavy = surfaces.optimizer_path(
        surfaces.muller_brown, (0.2, 1.0), optimizer="momentum", lr=1e-4, steps=300
    )
    np.testing.assert_allclose(plain[-1], [-0.050, 0.467], atol=0.01)
    np.testing.assert_allclose(heavy[-1], [0.623, 0.028], atol=0.01)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(optimizer="lbfgs"), ValueError, "'sgd', 'momentum' or 'adam'"),
        (dict(lr=0.0), ValueError, "lr must be a positive"),
        (dict(lr=float("nan")), ValueError, "lr must be a positive"),
        (dict(steps=0), ValueError, "steps must be a positive"),
        (dict(steps=2.5), ValueError, "steps must be a positive"),
        (dict(start=(1.0, 2.0, 3.0)), ValueError, "two finite numbers"),
        (dict(start=(np.nan, 0.0)), ValueError, "two finite numbers"),
    ],
)
def test_optimizer_path_rejects_bad_input(kwargs, error, message):
    args = dict(start=(1.0, 1.0), lr=0.1, steps=5)
    args.update(kwargs)
    start = args.pop("start")
    with pytest.raises(error, match=message):
        surfaces.optimizer_path(surfaces.rosenbrock, start, **args)


def test_optimizer_path_needs_a_function_of_tensors():
    with pytest.raises(TypeError, match="function"):
        surfaces.optimizer_path("rosenbrock", (0.0, 0.0))
    with pytest.raises(TypeError, match="tensor operations"):
        surfaces.optimizer_path(
            lambda x, y: x.detach().numpy() ** 2 + y.detach().numpy() ** 2, (1.0, 1.0)
        )
