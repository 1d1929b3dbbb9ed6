"""Hyperparameter searches on a small regression problem.

Chapter 5 tunes the depth, width and learning rate of a multilayer perceptron
that fits the Lennard-Jones dimer curve.  This module holds the pieces that a
grid search, a random search, k-fold cross-validation and an Optuna study all
share:

* :func:`lj_tuning_data` builds the data set and its train / validation /
  test split, the same on every machine;
* :func:`train_full_batch` is a short, fast training loop (full-batch Adam on
  the mean squared error), and :func:`score_config` builds and trains the
  model that a dictionary of hyperparameters describes;
* :func:`grid_points`, :func:`random_points` and :func:`run_search` run grid
  and random searches; :func:`cross_validate` scores one configuration by
  k-fold cross-validation;
* Optuna studies that many workers share live in :mod:`course_utils.studies`.

Importing this module changes no global state.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.model_selection import KFold
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from course_utils.data import lennard_jones
from course_utils.nn_basics import make_mlp
from course_utils.training import progress_enabled

from ._validate import check_int

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    pass

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
# training


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run PyTorch on one thread inside the block, then restore the old setting.

    Tiny networks train faster on one thread: splitting a 30 x 64 matrix
    product between cores costs more than it saves.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_xy(name: str, data) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{name} must be a pair (X, y) of tensors, not {type(data).__name__}.")
    X, y = (torch.as_tensor(a, dtype=torch.float32) for a in data)
    if X.ndim != 2 or y.ndim != 2:
        raise ValueError(
            f"{name}: X and y must be 2-D, shape (n_samples, n_features); "
            f"got {tuple(X.shape)} and {tuple(y.shape)}. Use .reshape(-1, 1) for a column."
        )
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"{name}: X has {len(X)} rows and y has {len(y)}; need equal, > 0.")
    return X, y


def _adam(params, lr: float, weight_decay: float) -> torch.optim.Adam:
    # The fused implementation does the same update in one kernel per step,
    # about a fifth faster for tiny networks; older PyTorch builds lack it on CPU.
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def train_full_batch(
    model: torch.nn.Module,
    train_data,
    *,
    lr: float,
    epochs: int,
    weight_decay: float = 0.0,
    val_data=None,
    eval_every: int | None = None,
    report: Callable[[int, float], None] | None = None,
    patience: int | None = None,
) -> dict:
    """Train ``model`` with full-batch Adam on the mean squared error.

    Every epoch is one gradient step on all training points, the chapter-3
    blueprint without mini-batches.  The loop runs on one thread (see
    :func:`single_thread`) and computes the validation loss only every
    ``eval_every`` epochs, so that it is fast enough to train dozens of small
    networks in a few seconds.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    train_data : pair of tensors (X, y)
        Shapes (n, n_features) and (n, n_outputs).
    lr : float
        Learning rate of Adam, > 0.
    epochs : int
        Number of gradient steps, >= 1.
    weight_decay : float
        L2 penalty, as in ``torch.optim.Adam(weight_decay=...)``.
    val_data : pair of tensors (X, y), optional
        Validation set.
    eval_every : int, optional
        Record the losses every this many epochs (and after the last one);
        default: only after the last epoch.
    report : callable, optional
        Called as ``report(epoch, val_mse)`` at every evaluation; it may raise
        an exception (such as ``optuna.TrialPruned``) to stop training.
        Needs ``val_data``.
    patience : int, optional
        Early stopping: stop when the validation loss has not improved for this
        many epochs (checked at every evaluation), and put back the weights of
        the evaluation with the lowest validation loss.  Needs ``val_data``;
        ``epochs`` is then the most the run may take.

    Returns
    -------
    dict
        ``train_mse`` and ``val_mse`` (of the returned weights: after the last
        epoch, or with ``patience`` at the best evaluation; ``val_mse`` is None
        without validation data), ``epochs`` (steps taken), ``best_epoch``
        (the epoch of the returned weights), ``stopped_early`` (True when
        ``patience`` ended the run before ``epochs``) and ``history``, a dict of
        lists ``epoch``, ``train_mse``, ``val_mse``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
    epochs = check_int(epochs, "epochs", minimum=1)
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, not {lr!r}.")
    if eval_every is None:
        eval_every = int(epochs)
    if (
        isinstance(eval_every, bool)
        or not isinstance(eval_every, (int, np.integer))
        or eval_every < 1
    ):
        raise ValueError(f"eval_every must be a positive integer, not {eval_every!r}.")
    if report is not None and val_data is None:
        raise ValueError("report needs val_data: it is called with the validation loss.")
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
        if val_data is None:
            raise ValueError("early stopping (patience) needs val_data to watch.")
    X, y = _check_xy("train_data", train_data)
    val = _check_xy("val_data", val_data) if val_data is not None else None

    history: dict[str, list] = {"epoch": [], "train_mse": [], "val_mse": []}
    best = {"val_mse": math.inf, "epoch": 0, "train_mse": math.nan, "state": None}
    stopped_early = False
    with single_thread():
        optimizer = _adam(model.parameters(), float(lr), float(weight_decay))
        model.train()
        for epoch in range(1, int(epochs) + 1):
            optimizer.zero_grad()
            loss = torch.mean((model(X) - y) ** 2)
            loss.backward()
            optimizer.step()
            if epoch % eval_every == 0 or epoch == epochs:
                model.eval()
                with torch.no_grad():
                    train_mse = float(torch.mean((model(X) - y) ** 2))
                    val_mse = float(torch.mean((model(val[0]) - val[1]) ** 2)) if val else None
                model.train()
                history["epoch"].append(epoch)
                history["train_mse"].append(train_mse)
                history["val_mse"].append(val_mse)
                if report is not None:
                    report(epoch, val_mse)
                if patience is not None:
                    if val_mse < best["val_mse"]:
                        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                        best.update(val_mse=val_mse, epoch=epoch, train_mse=train_mse, state=state)
                    elif epoch - best["epoch"] >= patience and epoch < epochs:
                        stopped_early = True
                        break
        if best["state"] is not None:
            model.load_state_dict(best["state"])
        model.eval()
    if patience is not None:
        train_mse, val_mse, best_epoch = best["train_mse"], best["val_mse"], best["epoch"]
    else:
        train_mse, val_mse = history["train_mse"][-1], history["val_mse"][-1]
        best_epoch = history["epoch"][-1]
    return {
        "train_mse": train_mse,
        "val_mse": val_mse,
        "epochs": history["epoch"][-1],
        "best_epoch": best_epoch,
        "stopped_early": stopped_early,
        "history": history,
    }


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
    return {
        **dict(config),
        "train_rmse": math.sqrt(result["train_mse"]),
        "val_rmse": math.sqrt(result["val_mse"]) if result["val_mse"] is not None else None,
        "best_epoch": result["best_epoch"],
        "stopped_early": result["stopped_early"],
        "history": result["history"],
        "seconds": time.perf_counter() - start,
    }


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
    progress: bool | None = None,
    desc: str = "search",
) -> list[dict]:
    """Score every configuration with :func:`score_config`, in order.

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
    return [
        score_config(config, train_data, val_data, epochs=epochs, seed=seed)
        for config in tqdm(configs, desc=desc, disable=not show)
    ]


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
    scores = []
    folds = KFold(n_splits=int(n_splits), shuffle=True, random_state=int(seed))
    for train_idx, val_idx in folds.split(np.arange(len(X))):
        Xt, yt = X[train_idx], y[train_idx]
        if extra is not None:
            Xt, yt = torch.cat([extra[0], Xt]), torch.cat([extra[1], yt])
        result = score_config(config, (Xt, yt), (X[val_idx], y[val_idx]), epochs=epochs, seed=seed)
        scores.append(result["val_rmse"])
    return np.asarray(scores)
