"""Tests for course_utils/data.py."""

import numpy as np
import pytest
import torch

from course_utils.data import lennard_jones, lennard_jones_energy, load_digits


def test_digit_split_sizes_shapes_and_dtypes():
    X, y = load_digits("train", return_X_y=True)
    assert X.shape == (4000, 784) and X.dtype == np.float32
    assert y.shape == (4000,) and y.dtype == np.int64
    Xt, yt = load_digits("test", return_X_y=True)
    assert Xt.shape == (1000, 784) and yt.shape == (1000,)
    assert 0.0 <= X.min() and X.max() <= 1.0 and X.max() > 0.99


def test_digit_split_is_stratified_and_disjoint():
    X, y = load_digits("train", return_X_y=True)
    Xt, yt = load_digits("test", return_X_y=True)
    assert np.all(np.bincount(y) == 400) and np.all(np.bincount(yt) == 100)
    train_rows = {row.tobytes() for row in X}
    assert not any(row.tobytes() in train_rows for row in Xt)
    Xa, _ = load_digits("all", return_X_y=True)
    assert len(Xa) == 5000


def test_digit_split_is_deterministic_and_depends_on_seed():
    a = load_digits("test", seed=3, return_X_y=True)[0]
    b = load_digits("test", seed=3, return_X_y=True)[0]
    c = load_digits("test", seed=4, return_X_y=True)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_digit_images_and_tensors():
    X, y = load_digits("test", as_images=True, as_tensor=True, return_X_y=True)
    assert isinstance(X, torch.Tensor) and X.shape == (1000, 1, 28, 28)
    assert X.dtype == torch.float32 and y.dtype == torch.int64
    bunch = load_digits("test")
    assert bunch.images.shape == (1000, 28, 28)
    np.testing.assert_array_equal(bunch.images.reshape(1000, -1), bunch.data)
    assert list(bunch.target_names) == list(range(10)) and "MNIST" in bunch.DESCR


def test_returned_arrays_are_copies():
    X, _ = load_digits("all", return_X_y=True)
    X[:] = 0
    assert load_digits("all", return_X_y=True)[0].max() > 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"split": "validation"}, ValueError, "split must be"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"seed": "0"}, TypeError, "seed must be an integer"),
    ],
)
def test_load_digits_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_digits(**kwargs)


def test_lennard_jones_minimum_and_zero():
    r_min = 2 ** (1 / 6)
    assert lennard_jones_energy(r_min) == pytest.approx(-1.0)
    assert lennard_jones_energy(1.0) == pytest.approx(0.0, abs=1e-12)
    assert lennard_jones_energy(2.0 * r_min, epsilon=0.5, sigma=2.0) == pytest.approx(-0.5)
    # Far away the pair no longer interacts.
    assert abs(lennard_jones_energy(50.0)) < 1e-9


def test_lennard_jones_curve_shapes_noise_and_determinism():
    r, E = lennard_jones(12)
    assert r.shape == (12, 1) and E.shape == (12, 1) and r.dtype == np.float32
    assert r[0, 0] == pytest.approx(0.95) and r[-1, 0] == pytest.approx(2.5)
    np.testing.assert_allclose(E[:, 0], lennard_jones_energy(r[:, 0].astype(float)), rtol=1e-5)
    noisy = lennard_jones(200, noise=0.05, spacing="random", seed=1, return_X_y=False)
    residual = noisy.energy - noisy.energy_clean
    assert 0.03 < residual.std() < 0.07
    again = lennard_jones(200, noise=0.05, spacing="random", seed=1, return_X_y=False)
    np.testing.assert_array_equal(noisy.energy, again.energy)
    assert np.all(np.diff(noisy.r[:, 0]) >= 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"r_min": 2.0, "r_max": 1.0}, "r_min < r_max"),
        ({"r_min": 0.0}, "r_min < r_max"),
        ({"noise": -0.1}, "noise"),
        ({"spacing": "log"}, "spacing"),
        ({"epsilon": -1.0}, "positive"),
    ],
)
def test_lennard_jones_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lennard_jones(**kwargs)


def test_lennard_jones_energy_rejects_nonpositive_and_nan():
    with pytest.raises(ValueError, match="positive"):
        lennard_jones_energy([1.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        lennard_jones_energy([1.0, np.nan])
