"""Optuna studies of chapter 5's hyperparameters, shared by many workers.

:func:`make_objective`, :func:`make_storage` and :func:`create_study` set up an
Optuna study (TPE sampler, median pruner) in any Optuna storage (SQLite, a
journal file, PostgreSQL or MySQL), so that many worker processes, on one
machine or many, can share one study. The training itself is
:func:`course_utils.tuning.score_config`.

Run a worker of a shared study from the command line (see ``--help``)::

    python -m course_utils.studies --storage sqlite:///lj.db --study-name lj --n-trials 20

Importing this module changes no global state. Optuna is imported only by the
functions that need it.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from course_utils.fullbatch import _check_xy
from course_utils.tuning import SEARCH_SPACE, LogUniform, _check_space, lj_tuning_data, score_config

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import optuna

__all__ = ["create_study", "main", "make_objective", "make_storage", "suggest_config"]


def suggest_config(trial: optuna.Trial, space: Mapping[str, object] = SEARCH_SPACE) -> dict:
    """Ask an Optuna trial for one value per hyperparameter of ``space``."""
    _check_space(space)
    config = {}
    for name, spec in space.items():
        if isinstance(spec, LogUniform):
            if spec.integer:
                config[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=True)
            else:
                config[name] = trial.suggest_float(name, spec.low, spec.high, log=True)
        else:
            config[name] = trial.suggest_categorical(name, list(spec))
    return config


def make_objective(
    train_data,
    val_data,
    *,
    epochs: int,
    eval_every: int,
    seed: int = 0,
    space: Mapping[str, object] = SEARCH_SPACE,
) -> Callable[[optuna.Trial], float]:
    """An Optuna objective: validation RMSE of the configuration a trial suggests.

    Every ``eval_every`` epochs the objective reports the current validation
    RMSE to the trial (``trial.report``) and stops early if the study's pruner
    says so (``optuna.TrialPruned``).

    Parameters
    ----------
    train_data, val_data : pairs of tensors (X, y)
    epochs : int
        Maximum training steps per trial.
    eval_every : int
        Steps between reports to the pruner.
    seed : int
        Seed of the initial weights (the same for every trial).
    space : dict
        The search space (see :data:`SEARCH_SPACE`).

    Returns
    -------
    callable
        ``objective(trial) -> float``, to pass to ``study.optimize``.
    """
    import optuna

    _check_space(space)
    train_data = _check_xy("train_data", train_data)
    val_data = _check_xy("val_data", val_data)

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)

        def report(epoch: int, val_mse: float) -> None:
            trial.report(math.sqrt(val_mse), step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")

        result = score_config(
            config,
            train_data,
            val_data,
            epochs=epochs,
            seed=seed,
            eval_every=eval_every,
            report=report,
        )
        trial.set_user_attr("train_rmse", result["train_rmse"])
        return result["val_rmse"]

    return objective


def make_storage(url: str):
    """An Optuna storage from a URL that several processes can share.

    Parameters
    ----------
    url : str
        * ``sqlite:///path/to/file.db``: one file, for one machine; opened with
          a 60 s lock timeout so that concurrent workers wait instead of failing.
        * ``journal:///path/to/file.log``: Optuna's append-only journal file,
          the most robust choice for many processes on one machine (or on a
          shared file system that supports file locks).
        * ``postgresql://user:password@host:5432/db`` or
          ``mysql+pymysql://user:password@host/db``: a database server, for
          workers on many machines (needs the driver, ``psycopg2-binary`` or
          ``PyMySQL``).

    Returns
    -------
    optuna.storages.BaseStorage
    """
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a non-empty string, not {url!r}.")
    if url.startswith("journal:"):
        path = url[len("journal:") :]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ValueError("a journal URL needs a file path, e.g. journal:///tmp/study.log")
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    if "://" not in url:
        raise ValueError(
            f"{url!r} is not a storage URL; use sqlite:///file.db, journal:///file.log or "
            "postgresql://user:password@host/database."
        )
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})


def create_study(
    storage=None,
    *,
    study_name: str = "lj-mlp",
    seed: int | None = 0,
    n_startup_trials: int = 8,
    n_warmup_steps: int = 0,
    load_if_exists: bool = True,
) -> optuna.Study:
    """An Optuna study that minimises the validation RMSE, with TPE and pruning.

    Parameters
    ----------
    storage : str or optuna storage, optional
        A URL understood by :func:`make_storage` or a storage object; None keeps
        the study in memory (lost when the process ends).
    study_name : str
        The study's name in the storage; workers that use the same name and
        storage share one study.
    seed : int or None
        Seed of the TPE sampler.  Give every worker of a shared study a
        different seed (or None), or they propose the same first trials.
    n_startup_trials : int
        Random trials before TPE starts modelling; also the number of complete
        trials the median pruner waits for before it prunes anything.
    n_warmup_steps : int
        Epochs before the pruner may stop a trial.
    load_if_exists : bool
        Join the study if it already exists (what a worker wants).

    Returns
    -------
    optuna.Study
    """
    import optuna

    if isinstance(storage, str):
        storage = make_storage(storage)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps
    )
    return optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="minimize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=load_if_exists,
    )


def _parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.studies",
        description=(
            "Run one worker of a shared Optuna study that tunes depth, width and learning "
            "rate of an MLP on the Lennard-Jones data of chapter 5. Start as many workers "
            "as you like, on one machine or many, with the same --storage and --study-name."
        ),
    )
    parser.add_argument(
        "--storage",
        required=True,
        help="sqlite:///file.db, journal:///file.log or postgresql://user:pw@host/db",
    )
    parser.add_argument("--study-name", default="lj-mlp")
    parser.add_argument("--n-trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--epochs", type=int, default=300, help="training steps per trial")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between pruning checks")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="sampler seed; give each worker its own (default: random)",
    )
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    if args.n_trials < 1:
        parser.error("--n-trials must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run ``--n-trials`` trials of a shared study."""
    import optuna

    args = _parse_args(argv)
    if args.quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = lj_tuning_data()
    study = create_study(args.storage, study_name=args.study_name, seed=args.seed)
    objective = make_objective(data.train, data.val, epochs=args.epochs, eval_every=args.eval_every)
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def tagged(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)  # which process ran the trial
        return objective(trial)

    study.optimize(tagged, n_trials=args.n_trials)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses in the tests
    raise SystemExit(main())
