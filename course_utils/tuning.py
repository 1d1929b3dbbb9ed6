"""Hyperparameter searches on a small regression problem.

Chapter 5 tunes the depth, width and learning rate of a multilayer perceptron
that fits the Lennard-Jones dimer curve.  This module holds the pieces that a
grid search, a random search, k-fold cross-validation and an Optuna study all
share:

* :func:`lj_tuning_data` builds the data set and its train / validation /
  test split, the same on every machine;
* :func:`score_config` builds and trains (with
  :func:`course_utils.fullbatch.train_full_batch`, full-batch Adam on the mean
  squared error, re-exported here) the model that a dictionary of
  hyperparameters describes;
* :func:`grid_points`, :func:`random_points` and :func:`run_search` run grid
  and random searches; :func:`cross_validate` scores one configuration by
  k-fold cross-validation (both train many networks side by side with
  :func:`course_utils.fullbatch.train_stacked`);
* Optuna studies that many workers share live in :mod:`course_utils.studies`.

Importing this module changes no global state.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import KFold
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from course_utils.data import lennard_jones
from course_utils.fullbatch import _check_xy, train_full_batch, train_stacked
from course_utils.nn_basics import make_mlp
from course_utils.training import progress_enabled

from ._validate import check_int

LECTURE_GRID: dict[str, tuple] = {
    "depth": (2, 3, 4),
    "width": (32, 64, 128),
    "lr": (1e-5, 5e-5, 1e-4, 5e-4, 1e-3),
}
"""The lecture's grid: 3 depths x 3 widths x 5 learning rates = 45 points."""


@dataclass(frozen=True)
class LogUniform:
    """A range sampled uniformly in its logarithm, for random search and Optuna.

    Parameters
    ----------
    low, high : float
        Bounds, ``0 < low < high``.
    integer : bool
        Round to integers (for a width, say); both bounds are then included.
    """

    low: float
    high: float
    integer: bool = False

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ValueError(
                f"LogUniform needs 0 < low < high, got low={self.low}, high={self.high}."
            )

    def sample(self, rng: np.random.Generator) -> float | int:
        if self.integer:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            value = int(round(math.exp(rng.uniform(lo, hi))))
            return min(max(value, int(self.low)), int(self.high))
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


SEARCH_SPACE: dict[str, object] = {
    "depth": (2, 3, 4),
    "width": LogUniform(32, 128, integer=True),
    "lr": LogUniform(1e-5, 1e-3),
}
"""The box around the lecture's grid, for random search and Optuna: depth from
the same three values, width any integer from 32 to 128 and learning rate any
value from 1e-5 to 1e-3 (both log-uniform)."""

_REQUIRED_KEYS = ("depth", "width", "lr")


# ----------------------------------------------------------------------------
# data


def lj_tuning_data(
    n: int = 100,
    *,
    n_val: int = 40,
    n_test: int = 20,
    r_min: float = 1.0,
    r_max: float = 2.5,
    noise: float = 0.02,
    seed: int = 0,
) -> Bunch:
    """The Lennard-Jones regression problem of chapter 5, split three ways.

    ``n`` separations are drawn uniformly from [``r_min``, ``r_max``] (in units
    of sigma; by default the bound region, where E <= 0) and their energies get
    Gaussian noise of standard deviation ``noise`` (in units of
    epsilon), like small convergence errors of a quantum-chemistry code.  The
    shortest and the longest separation always go into the training set, so
    validation and test points never lie outside the range the model was
    trained on; the other points are shuffled into test (``n_test``),
    validation (``n_val``) and training (the rest).

    The inputs are standardised with the mean and standard deviation of the
    *training* separations: ``x = (r - x_mean) / x_std``.

    Parameters
    ----------
    n : int
        Number of points in all, >= n_val + n_test + 4.
    n_val, n_test : int
        Sizes of the validation and test sets, >= 1.
    r_min, r_max : float
        Range of the separations, ``0 < r_min < r_max``.
    noise : float
        Standard deviation of the noise on the energies, >= 0.
    seed : int
        Fixes the separations, the noise and the split.

    Returns
    -------
    sklearn.utils.Bunch
        ``train``, ``val``, ``test``: pairs ``(x, E)`` of float32 tensors of
        shape (m, 1); ``dev``: training and validation together (for k-fold
        cross-validation); ``ends``: the two end points, which every training
        fold keeps; ``x_mean``, ``x_std``: the scaling (to go back,
        ``r = x * x_std + x_mean``); ``noise``.
    """
    check_int(n, "n", error=TypeError)
    for name, value in (("n_val", n_val), ("n_test", n_test)):
        check_int(value, name, minimum=1)
    if n < n_val + n_test + 4:
        raise ValueError(
            f"n={n} leaves fewer than 4 training points after {n_val} validation and "
            f"{n_test} test points; raise n or lower n_val / n_test."
        )
    r, energy = lennard_jones(n, r_min=r_min, r_max=r_max, spacing="random", noise=noise, seed=seed)
    order = np.argsort(r[:, 0], kind="stable")
    r, energy = r[order], energy[order]
    inner = np.random.default_rng(seed).permutation(np.arange(1, n - 1))
    ends = np.array([0, n - 1])
    test, val = inner[:n_test], inner[n_test : n_test + n_val]
    train = np.concatenate([ends, inner[n_test + n_val :]])
    x_mean = float(r[train].mean())
    x_std = float(r[train].std())
    x = ((r - x_mean) / x_std).astype(np.float32)

    def pair(idx):
        return torch.from_numpy(x[idx].copy()), torch.from_numpy(energy[idx].copy())

    return Bunch(
        train=pair(train),
        val=pair(val),
        test=pair(test),
        dev=pair(np.concatenate([train, val])),
        ends=pair(ends),
        x_mean=x_mean,
        x_std=x_std,
        noise=float(noise),
    )


# ----------------------------------------------------------------------------
# models (trained by course_utils.fullbatch: train_full_batch, train_stacked)


def _check_config(config: Mapping) -> None:
    if not isinstance(config, Mapping):
        raise TypeError(f"a configuration must be a dict, not {type(config).__name__}.")
    missing = [k for k in _REQUIRED_KEYS if k not in config]
    if missing:
        raise ValueError(
            f"configuration {dict(config)} lacks {missing}; it needs depth, width and lr."
        )


def build_model(
    config: Mapping, *, n_in: int = 1, n_out: int = 1, seed: int = 0
) -> torch.nn.Module:
    """The MLP a configuration describes, with reproducible initial weights.

    Parameters
    ----------
    config : dict
        ``depth`` and ``width`` (ints), optionally ``activation`` (default
        ``"selu"``); other keys (such as ``lr``) are ignored here.
    n_in, n_out : int
        Input and output sizes.
    seed : int
        Seed of the initial weights.  PyTorch's global random state is left
        as it was.

    Returns
    -------
    torch.nn.Sequential
        ``n_in`` -> ``depth`` hidden layers of ``width`` -> ``n_out``, built with
        :func:`course_utils.nn_basics.make_mlp`.
    """
    _check_config(config)
    sizes = [int(n_in)] + [int(config["width"])] * int(config["depth"]) + [int(n_out)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return make_mlp(sizes, activation=config.get("activation", "selu"))


def _scored(config: Mapping, result: dict, seconds: float) -> dict:
    """score_config's result from a train_full_batch (or train_stacked) result."""
    return {
        **dict(config),
        "train_rmse": math.sqrt(result["train_mse"]),
        "val_rmse": math.sqrt(result["val_mse"]) if result["val_mse"] is not None else None,
        "best_epoch": result["best_epoch"],
        "stopped_early": result["stopped_early"],
        "history": result["history"],
        "seconds": seconds,
    }


def score_config(
    config: Mapping,
    train_data,
    val_data,
    *,
    epochs: int,
    seed: int = 0,
    eval_every: int | None = None,
    report: Callable[[int, float], None] | None = None,
    patience: int | None = None,
) -> dict:
    """Build, train and validate the model of one configuration.

    Parameters
    ----------
    config : dict
        ``depth``, ``width``, ``lr``; optionally ``activation`` and
        ``weight_decay``.
    train_data, val_data : pairs of tensors (X, y)
    epochs : int
        Full-batch Adam steps.
    seed : int
        Seed of the initial weights: every configuration starts from the same
        random stream, so that differences come from the hyperparameters.
    eval_every, report
        Passed to :func:`train_full_batch` (for pruning).
    patience : int, optional
        Early stopping, passed to :func:`train_full_batch`: ``epochs`` becomes
        the maximum, and the errors are those of the best evaluation.

    Returns
    -------
    dict
        The configuration plus ``train_rmse``, ``val_rmse`` (root mean squared
        errors, in the unit of the targets), ``best_epoch`` and
        ``stopped_early`` (see :func:`train_full_batch`), ``history`` (its
        recorded losses) and ``seconds`` (wall time).
    """
    _check_config(config)
    X, y = _check_xy("train_data", train_data)
    start = time.perf_counter()
    model = build_model(config, n_in=X.shape[1], n_out=y.shape[1], seed=seed)
    result = train_full_batch(
        model,
        (X, y),
        lr=float(config["lr"]),
        epochs=epochs,
        weight_decay=float(config.get("weight_decay", 0.0)),
        val_data=val_data,
        eval_every=eval_every,
        report=report,
        patience=patience,
    )
    return _scored(config, result, time.perf_counter() - start)


# ----------------------------------------------------------------------------
# grid and random search


def grid_points(grid: Mapping[str, Sequence] = LECTURE_GRID) -> list[dict]:
    """Every combination of the values in ``grid``, as a list of dicts.

    The first key varies slowest, as in nested for-loops written in the
    order of the keys.

    Examples
    --------
    >>> len(grid_points())
    45
    >>> grid_points({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid must be a non-empty dict of name -> list of values.")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, not {values!r}.")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]


def random_points(
    n: int, space: Mapping[str, object] = SEARCH_SPACE, *, seed: int = 0
) -> list[dict]:
    """``n`` configurations drawn at random from ``space``.

    Parameters
    ----------
    n : int
        Number of configurations, >= 1.
    space : dict
        Name -> a list or tuple of values (one is picked uniformly) or a
        :class:`LogUniform` range.
    seed : int
        Seed of the draws.

    Returns
    -------
    list of dict
    """
    n = check_int(n, "n", minimum=1)
    _check_space(space)
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(int(n)):
        point = {}
        for name, spec in space.items():
            if isinstance(spec, LogUniform):
                point[name] = spec.sample(rng)
            else:
                value = spec[int(rng.integers(len(spec)))]
                point[name] = value.item() if isinstance(value, np.generic) else value
        points.append(point)
    return points


def _check_space(space: Mapping[str, object]) -> None:
    if not isinstance(space, Mapping) or not space:
        raise ValueError("space must be a non-empty dict of name -> list of values or LogUniform.")
    for name, spec in space.items():
        if isinstance(spec, LogUniform):
            continue
        if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or not spec:
            raise ValueError(
                f"space[{name!r}] must be a non-empty list of values or a LogUniform range, "
                f"not {spec!r}."
            )


def run_search(
    configs: Sequence[Mapping],
    train_data,
    val_data,
    *,
    epochs: int,
    seed: int = 0,
    eval_every: int | None = None,
    patience: int | None = None,
    progress: bool | None = None,
    desc: str = "search",
) -> list[dict]:
    """Score every configuration as :func:`score_config` would, in order.

    Configurations of one depth (and activation) and similar widths (the
    same next power of two) train side by side with
    :func:`course_utils.fullbatch.train_stacked`; each gets the training
    :func:`score_config` would give it alone.  ``seconds`` is then the group's
    time divided by its size.  ``eval_every`` and ``patience`` (early stopping,
    per configuration) are passed on.

    Returns
    -------
    list of dict
        One result per configuration (see :func:`score_config`), in the order
        given.  Pick the best with ``min(results, key=lambda r: r["val_rmse"])``.
    """
    if val_data is None:
        raise ValueError("a search needs val_data: configurations are compared on it.")
    configs = list(configs)
    if not configs:
        raise ValueError("configs is empty: nothing to search.")
    for config in configs:
        _check_config(config)
    show = progress_enabled() if progress is None else bool(progress)
    groups: dict[tuple, list[int]] = {}
    for i, config in enumerate(configs):
        # one depth and activation; widths padded at most to the next power of two
        bucket = 2 ** math.ceil(math.log2(int(config["width"])))
        key = (int(config["depth"]), config.get("activation", "selu"), bucket)
        groups.setdefault(key, []).append(i)
    X, y = _check_xy("train_data", train_data)
    results: list[dict] = [{} for _ in configs]
    for members in tqdm(groups.values(), desc=desc, disable=not show):
        start = time.perf_counter()
        group = [configs[i] for i in members]
        models = [build_model(c, n_in=X.shape[1], n_out=y.shape[1], seed=seed) for c in group]
        runs = train_stacked(
            models,
            (X, y),
            lr=[float(c["lr"]) for c in group],
            weight_decay=[float(c.get("weight_decay", 0.0)) for c in group],
            epochs=epochs,
            val_data=val_data,
            eval_every=eval_every,
            patience=patience,
        )
        seconds = (time.perf_counter() - start) / len(group)
        for i, run in zip(members, runs):
            results[i] = _scored(configs[i], run, seconds)
    return results


def cross_validate(
    config: Mapping,
    X,
    y,
    *,
    n_splits: int = 5,
    epochs: int,
    seed: int = 0,
    always_train=None,
) -> np.ndarray:
    """Validation RMSE of one configuration in each fold of k-fold cross-validation.

    The samples are shuffled and cut into ``n_splits`` folds
    (:class:`sklearn.model_selection.KFold`); each fold is held out once while
    a fresh model trains on the others.

    Parameters
    ----------
    config : dict
        ``depth``, ``width``, ``lr`` (see :func:`score_config`).
    X, y : tensors or arrays, shapes (n, n_features) and (n, n_outputs)
        The development data (training plus validation; never the test set).
    n_splits : int
        Number of folds k, 2 <= k <= n.
    epochs : int
        Training steps per fold.
    seed : int
        Seed of the shuffling and of the initial weights.
    always_train : pair (X, y), optional
        Points added to the training part of every fold and never validated
        on (for example the ends of the range, so no fold extrapolates).

    Returns
    -------
    numpy.ndarray, shape (n_splits,)
        Validation RMSE of each fold; ``.mean()`` is the cross-validated score.
    """
    X, y = _check_xy("(X, y)", (X, y))
    check_int(n_splits, "n_splits", error=TypeError)
    if not 2 <= n_splits <= len(X):
        raise ValueError(f"n_splits must lie between 2 and the {len(X)} samples, not {n_splits}.")
    extra = _check_xy("always_train", always_train) if always_train is not None else None
    folds = KFold(n_splits=int(n_splits), shuffle=True, random_state=int(seed))
    train_sets, val_sets = [], []
    for train_idx, val_idx in folds.split(np.arange(len(X))):
        Xt, yt = X[train_idx], y[train_idx]
        if extra is not None:
            Xt, yt = torch.cat([extra[0], Xt]), torch.cat([extra[1], yt])
        train_sets.append((Xt, yt))
        val_sets.append((X[val_idx], y[val_idx]))
    # the folds train side by side, each exactly as score_config would train it alone
    models = [build_model(config, n_in=X.shape[1], n_out=y.shape[1], seed=seed) for _ in val_sets]
    lr, decay = float(config["lr"]), float(config.get("weight_decay", 0.0))
    runs = train_stacked(
        models, train_sets, lr=lr, weight_decay=decay, epochs=epochs, val_data=val_sets
    )
    return np.sqrt([run["val_mse"] for run in runs])
