"""Tests of course_utils.tuning and course_utils.studies.

Data split, trainer, grid and random search, k-fold, Optuna.

The tests marked slow start several worker processes that share one Optuna
study, through sqlite, a journal file and (when the server binaries and a
driver are installed) a throw-away PostgreSQL server.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import studies, tuning
from course_utils.fullbatch import train_stacked
from course_utils.models import gaussian_mlp
from course_utils.tuning import (
    LECTURE_GRID,
    LogUniform,
    build_model,
    cross_validate,
    grid_points,
    lj_tuning_data,
    random_points,
    run_search,
    score_config,
    train_full_batch,
)

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[2]


def line_data(n=12):
    """y = 2x - 1 on [-1, 1]: a problem any configuration can learn."""
    x = torch.linspace(-1, 1, n).reshape(-1, 1)
    return x, 2 * x - 1


# ---------------------------------------------------------------- grid and random


def test_lecture_grid_has_45_distinct_points():
    points = grid_points()
    assert len(points) == 45 == 3 * 3 * 5
    assert len({tuple(sorted(p.items())) for p in points}) == 45
    for name, values in LECTURE_GRID.items():
        assert {p[name] for p in points} == set(values)
    assert LECTURE_GRID["lr"] == (1e-5, 5e-5, 1e-4, 5e-4, 1e-3)
    # first key slowest, last fastest, like nested loops
    assert [p["lr"] for p in points[:5]] == list(LECTURE_GRID["lr"])
    assert {p["depth"] for p in points[:15]} == {2}


@pytest.mark.parametrize("grid", [{}, {"a": []}, {"a": "abc"}, [1, 2]])
def test_grid_points_rejects_bad_grids(grid):
    with pytest.raises(ValueError):
        grid_points(grid)


def test_random_points_respect_the_space_and_seed():
    points = random_points(300, seed=3)
    assert points == random_points(300, seed=3)
    assert points != random_points(300, seed=4)
    widths = [p["width"] for p in points]
    lrs = np.array([p["lr"] for p in points])
    assert all(isinstance(w, int) and 32 <= w <= 128 for w in widths)
    assert {p["depth"] for p in points} == {2, 3, 4}
    assert lrs.min() >= 1e-5 and lrs.max() <= 1e-3
    # random search tries (almost) a new learning rate every time, a grid only 5
    assert len(set(lrs)) == 300
    assert min(widths) == 32 and max(widths) == 128  # integer range includes both ends


def test_log_uniform_is_uniform_in_the_logarithm():
    rng = np.random.default_rng(0)
    samples = np.log10([LogUniform(1e-5, 1e-3).sample(rng) for _ in range(4000)])
    # each decade gets half of the samples
    assert abs(np.mean(samples < -4) - 0.5) < 0.03
    assert abs(np.median(samples) + 4) < 0.05


@pytest.mark.parametrize("low, high", [(0, 1), (-1, 1), (2, 1), (1, 1)])
def test_log_uniform_bad_bounds(low, high):
    with pytest.raises(ValueError):
        LogUniform(low, high)


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_random_points_bad_n(n):
    with pytest.raises(ValueError):
        random_points(n)


def test_random_points_bad_space():
    with pytest.raises(ValueError):
        random_points(2, {"lr": (1e-5, 1e-3)[0]})


# ---------------------------------------------------------------- data


def test_lj_tuning_data_split():
    data = lj_tuning_data(100, n_val=40, n_test=20, seed=0)
    sizes = {k: len(data[k][0]) for k in ("train", "val", "test", "dev")}
    assert sizes == {"train": 40, "val": 40, "test": 20, "dev": 80}
    r = {k: data[k][0].numpy().ravel() * data.x_std + data.x_mean for k in ("train", "val", "test")}
    everything = np.concatenate(list(r.values()))
    assert len(np.unique(everything.round(6))) == 100  # disjoint sets
    # the two ends of the range are training points: nothing else extrapolates
    assert r["train"].min() == pytest.approx(everything.min(), abs=1e-6)
    assert r["train"].max() == pytest.approx(everything.max(), abs=1e-6)
    assert everything.min() >= 1.0 - 1e-6 and everything.max() <= 2.5 + 1e-6
    wide = lj_tuning_data(100, r_min=0.9, r_max=3.0, seed=0)
    r_wide = wide.train[0].numpy() * wide.x_std + wide.x_mean
    assert r_wide.min() < 1.0 and r_wide.max() > 2.5
    # standardised with the training statistics
    assert data.train[0].mean().item() == pytest.approx(0.0, abs=1e-5)
    assert data.train[0].std(unbiased=False).item() == pytest.approx(1.0, abs=1e-4)
    assert torch.equal(data.dev[0][:40], data.train[0])
    assert torch.equal(data.ends[0], data.train[0][:2])
    for x, e in (data.train, data.val, data.test):
        assert x.dtype == e.dtype == torch.float32 and x.shape == e.shape == (len(x), 1)


def test_lj_tuning_data_is_reproducible_and_noisy_as_asked():
    a, b = lj_tuning_data(seed=1), lj_tuning_data(seed=1)
    assert torch.equal(a.val[1], b.val[1])
    assert not torch.equal(a.val[1], lj_tuning_data(seed=2).val[1])
    clean = lj_tuning_data(200, n_val=50, n_test=50, noise=0.0, seed=5)
    noisy = lj_tuning_data(200, n_val=50, n_test=50, noise=0.05, seed=5)
    residual = (noisy.dev[1] - clean.dev[1]).numpy()
    assert np.std(residual) == pytest.approx(0.05, rel=0.2)


@pytest.mark.parametrize("kwargs", [dict(n=20, n_val=10, n_test=8), dict(n_val=0), dict(n_test=-1)])
def test_lj_tuning_data_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        lj_tuning_data(**kwargs)


# ---------------------------------------------------------------- training


def test_train_full_batch_is_the_plain_adam_loop():
    X, y = line_data()
    a = build_model({"depth": 2, "width": 8, "lr": 1e-2}, seed=1)
    b = build_model({"depth": 2, "width": 8, "lr": 1e-2}, seed=1)
    result = train_full_batch(a, (X, y), lr=1e-2, epochs=30)
    optimizer = torch.optim.Adam(b.parameters(), lr=1e-2)
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.mean((b(X) - y) ** 2)
        loss.backward()
        optimizer.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-5)
    with torch.no_grad():
        assert result["train_mse"] == pytest.approx(float(torch.mean((b(X) - y) ** 2)), rel=1e-4)
    assert result["val_mse"] is None and result["epochs"] == 30


def test_train_full_batch_learns_and_records_history():
    X, y = line_data()
    model = build_model({"depth": 2, "width": 16, "lr": 1e-2})
    with torch.no_grad():
        before = float(torch.mean((model(X) - y) ** 2))
    result = train_full_batch(model, (X, y), lr=1e-2, epochs=205, val_data=(X, y), eval_every=50)
    assert result["history"]["epoch"] == [50, 100, 150, 200, 205]
    assert result["train_mse"] < before / 20
    assert result["val_mse"] == pytest.approx(result["train_mse"])  # same data
    assert not model.training  # left in evaluation mode


def test_report_can_stop_training():
    X, y = line_data()
    seen = []

    def report(epoch, val_mse):
        seen.append((epoch, val_mse))
        if epoch >= 20:
            raise StopIteration

    with pytest.raises(StopIteration):
        train_full_batch(
            build_model({"depth": 1, "width": 4, "lr": 1e-2}),
            (X, y),
            lr=1e-2,
            epochs=1000,
            val_data=(X, y),
            eval_every=10,
            report=report,
        )
    assert [e for e, _ in seen] == [10, 20]
    assert all(v > 0 for _, v in seen)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(epochs=0), ValueError),
        (dict(lr=0.0), ValueError),
        (dict(lr=float("nan")), ValueError),
        (dict(eval_every=0), ValueError),
        (dict(report=lambda e, v: None), ValueError),  # report without validation data
    ],
)
def test_train_full_batch_bad_arguments(kwargs, error):
    args = dict(lr=1e-3, epochs=5)
    args.update(kwargs)
    with pytest.raises(error):
        train_full_batch(build_model({"depth": 1, "width": 2, "lr": 1}), line_data(), **args)


def test_train_full_batch_rejects_flat_targets():
    X, y = line_data()
    with pytest.raises(ValueError, match="reshape"):
        train_full_batch(
            build_model({"depth": 1, "width": 2, "lr": 1}), (X, y.ravel()), lr=1e-3, epochs=2
        )


def test_early_stopping_returns_the_best_evaluation():
    # Validation data the model cannot fit: its loss falls at first, then rises.
    X, y = line_data()
    Xv, yv = X[::3], torch.zeros_like(y[::3])
    config = {"depth": 2, "width": 16, "lr": 1e-2}
    model = build_model(config, seed=0)
    result = train_full_batch(
        model, (X, y), lr=1e-2, epochs=2000, val_data=(Xv, yv), eval_every=5, patience=50
    )
    history = result["history"]
    best = int(np.argmin(history["val_mse"]))
    assert result["stopped_early"] and result["epochs"] < 2000
    assert result["best_epoch"] == history["epoch"][best]
    assert result["epochs"] - result["best_epoch"] >= 50  # waited `patience` epochs
    assert result["val_mse"] == pytest.approx(history["val_mse"][best])
    with torch.no_grad():  # the weights of the best evaluation are back
        assert float(torch.mean((model(Xv) - yv) ** 2)) == pytest.approx(
            history["val_mse"][best], rel=1e-5
        )
        assert float(torch.mean((model(X) - y) ** 2)) == pytest.approx(
            result["train_mse"], rel=1e-5
        )


def test_early_stopping_that_never_triggers_runs_all_epochs():
    X, y = line_data()
    result = score_config(
        {"depth": 2, "width": 16, "lr": 1e-2},
        (X, y),
        (X, y),
        epochs=100,
        eval_every=10,
        patience=500,
    )
    assert not result["stopped_early"] and result["history"]["epoch"][-1] == 100
    assert result["best_epoch"] == 100  # the fit keeps improving on its own training data


def test_early_stopping_needs_validation_data():
    with pytest.raises(ValueError, match="val_data"):
        train_full_batch(
            build_model({"depth": 1, "width": 2, "lr": 1}),
            line_data(),
            lr=1e-3,
            epochs=5,
            patience=3,
        )


def _max_weight_difference(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_train_stacked_matches_one_at_a_time_with_padding_and_early_stopping():
    data = lj_tuning_data()
    configs = [{"depth": 2, "width": w, "lr": lr} for w, lr in ((8, 1e-2), (16, 1e-3), (5, 3e-3))]
    alone = [build_model(c, seed=i) for i, c in enumerate(configs)]
    stacked = [build_model(c, seed=i) for i, c in enumerate(configs)]
    kwargs = dict(epochs=400, val_data=data.val, eval_every=10, patience=40)
    expected = [
        train_full_batch(m, data.train, lr=c["lr"], **kwargs) for m, c in zip(alone, configs)
    ]
    got = train_stacked(stacked, data.train, lr=[c["lr"] for c in configs], **kwargs)
    assert any(r["stopped_early"] for r in expected)  # the stopping logic is exercised
    for a, b, ma, mb in zip(expected, got, alone, stacked):
        assert (a["best_epoch"], a["epochs"], a["stopped_early"]) == (
            b["best_epoch"],
            b["epochs"],
            b["stopped_early"],
        )
        assert b["val_mse"] == pytest.approx(a["val_mse"], rel=1e-4)
        assert b["history"]["epoch"] == a["history"]["epoch"]
        assert _max_weight_difference(ma, mb) < 1e-4  # the narrow models were padded exactly
        assert [p.shape for p in ma.parameters()] == [p.shape for p in mb.parameters()]


def test_train_stacked_own_training_sets_and_weight_decays():
    X, y = line_data(20)
    sets = [(X[:k], y[:k]) for k in (6, 13, 20)]  # three sizes: padded rows must not count
    decays = [0.0, 1e-2, 1e-1]
    alone = [gaussian_mlp(width=6, seed=s) for s in range(3)]
    stacked = [gaussian_mlp(width=6, seed=s) for s in range(3)]
    for m, data, wd in zip(alone, sets, decays):
        train_full_batch(m, data, lr=1e-2, epochs=60, weight_decay=wd)
    got = train_stacked(stacked, sets, lr=1e-2, epochs=60, weight_decay=decays)
    for ma, mb, data, run in zip(alone, stacked, sets, got):
        assert _max_weight_difference(ma, mb) < 1e-5
        with torch.no_grad():
            assert run["train_mse"] == pytest.approx(float(((mb(data[0]) - data[1]) ** 2).mean()))


@pytest.mark.parametrize(
    "models, kwargs",
    [
        ([], {}),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(1, 3), torch.nn.LayerNorm(3), torch.nn.Linear(3, 1)
                )
            ],
            {},
        ),
        ([build_model({"depth": 1, "width": 3, "lr": 1})] * 2, {"lr": [1e-3]}),  # one lr for two
        ([build_model({"depth": 1, "width": 3, "lr": 1})], {"lr": 0.0}),
        ([build_model({"depth": 1, "width": 3, "lr": 1})], {"patience": 5}),  # no val_data
        (
            [build_model({"depth": d, "width": 3, "lr": 1}) for d in (1, 2)],  # two depths
            {},
        ),
        (
            [
                build_model({"depth": 1, "width": w, "lr": 1, "activation": "sigmoid"})
                for w in (2, 3)
            ],
            {},  # sigmoid(0) != 0: narrow networks cannot be padded
        ),
    ],
)
def test_train_stacked_rejects_what_it_cannot_stack(models, kwargs):
    args = {"lr": 1e-3, "epochs": 3, **kwargs}
    with pytest.raises((ValueError, TypeError)):
        train_stacked(models, line_data(), **args)


def test_build_model_is_reproducible_and_leaves_global_rng_alone():
    config = {"depth": 3, "width": 32, "lr": 1e-3}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a, b, c = build_model(config, seed=7), build_model(config, seed=7), build_model(config, seed=8)
    assert torch.equal(torch.rand(3), expected_next)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    assert isinstance(build_model({**config, "activation": "tanh"})[1], torch.nn.Tanh)


def test_bad_configuration():
    with pytest.raises(ValueError, match="lacks"):
        build_model({"depth": 2, "lr": 1e-3})
    with pytest.raises(TypeError):
        build_model([2, 32, 1e-3])


def test_score_config_matches_a_manual_run():
    X, y = line_data()
    Xv, yv = X[::2] + 0.05, y[::2] + 0.1
    config = {"depth": 2, "width": 8, "lr": 5e-3}
    result = score_config(config, (X, y), (Xv, yv), epochs=40, seed=2)
    model = build_model(config, seed=2)
    train_full_batch(model, (X, y), lr=5e-3, epochs=40)
    with torch.no_grad():
        assert result["val_rmse"] == pytest.approx(
            math.sqrt(float(torch.mean((model(Xv) - yv) ** 2))), rel=1e-4
        )
        assert result["train_rmse"] == pytest.approx(
            math.sqrt(float(torch.mean((model(X) - y) ** 2))), rel=1e-4
        )
    assert {k: result[k] for k in config} == config and result["seconds"] > 0
    assert (
        score_config(config, (X, y), (Xv, yv), epochs=40, seed=2)["val_rmse"] == result["val_rmse"]
    )


def test_run_search_keeps_order_and_ranks_learning_rates():
    X, y = line_data()
    configs = [{"depth": 2, "width": 16, "lr": lr} for lr in (1e-6, 1e-2)]
    results = run_search(configs, (X, y), (X, y), epochs=150, progress=False)
    assert [r["lr"] for r in results] == [1e-6, 1e-2]
    # a learning rate 10,000 times larger gets much further in 150 steps
    assert results[1]["val_rmse"] < results[0]["val_rmse"] / 5
    with pytest.raises(ValueError):
        run_search([], (X, y), (X, y), epochs=1)
    with pytest.raises(ValueError):
        run_search(configs, (X, y), None, epochs=1)


def test_cross_validate_uses_each_point_once_for_validation(monkeypatch):
    X = torch.arange(20, dtype=torch.float32).reshape(-1, 1)
    y = X.clone()
    ends = (torch.tensor([[-1.0], [99.0]]), torch.tensor([[-1.0], [99.0]]))
    calls = []

    def fake_stacked(models, train_sets, *, lr, weight_decay, epochs, val_data):
        assert len(models) == len(train_sets) == len(val_data)  # one model per fold
        for train, val in zip(train_sets, val_data):
            calls.append((train[0].ravel().tolist(), val[0].ravel().tolist()))
        return [{"val_mse": float(i + 1) ** 2} for i in range(len(train_sets))]

    monkeypatch.setattr(tuning, "train_stacked", fake_stacked)
    scores = cross_validate(
        {"depth": 1, "width": 2, "lr": 1e-3}, X, y, n_splits=4, epochs=1, always_train=ends
    )
    assert list(scores) == [1.0, 2.0, 3.0, 4.0]
    validated = sorted(v for _, val in calls for v in val)
    assert validated == list(range(20))  # a partition of the data
    for train, val in calls:
        assert -1.0 in train and 99.0 in train  # the fixed points train in every fold
        assert not set(train) & set(val)
        assert len(train) == 2 + 15 and len(val) == 5


def test_cross_validate_folds_score_as_if_trained_one_by_one():
    from sklearn.model_selection import KFold

    X, y = line_data(15)
    config = {"depth": 2, "width": 6, "lr": 1e-2}
    scores = cross_validate(config, X, y, n_splits=3, epochs=50, seed=2)
    folds = KFold(n_splits=3, shuffle=True, random_state=2).split(np.arange(15))
    alone = [
        score_config(config, (X[t], y[t]), (X[v], y[v]), epochs=50, seed=2)["val_rmse"]
        for t, v in folds
    ]
    assert scores == pytest.approx(alone, rel=1e-4)


def test_cross_validate_real_run_and_bad_folds():
    X, y = line_data(10)
    scores = cross_validate({"depth": 1, "width": 8, "lr": 1e-2}, X, y, n_splits=5, epochs=50)
    assert scores.shape == (5,) and np.all(scores > 0)
    for bad in (1, 11):
        with pytest.raises(ValueError):
            cross_validate({"depth": 1, "width": 8, "lr": 1e-2}, X, y, n_splits=bad, epochs=5)


# ---------------------------------------------------------------- Optuna, in process


def quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_objective_runs_a_study_in_memory():
    quiet_optuna()
    X, y = line_data()
    study = studies.create_study(None, seed=0, n_startup_trials=3)
    study.optimize(studies.make_objective((X, y), (X, y), epochs=40, eval_every=10), n_trials=5)
    trials = study.trials
    assert len(trials) == 5
    for t in trials:
        assert set(t.params) == {"depth", "width", "lr"}
        assert 1e-5 <= t.params["lr"] <= 1e-3 and 32 <= t.params["width"] <= 128
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(t.value > 0 and "train_rmse" in t.user_attrs for t in complete)
    assert study.best_value == min(t.value for t in complete)
    # the same seed proposes the same first trials
    again = studies.create_study(None, seed=0, n_startup_trials=3)
    again.optimize(studies.make_objective((X, y), (X, y), epochs=40, eval_every=10), n_trials=2)
    assert [t.params for t in again.trials] == [t.params for t in trials[:2]]


def test_pruned_trials_stop_at_the_first_report():
    quiet_optuna()
    X, y = line_data()
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))  # prunes any loss
    study.optimize(studies.make_objective((X, y), (X, y), epochs=1000, eval_every=25), n_trials=3)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.PRUNED
        assert list(t.intermediate_values) == [25]


def test_make_storage_kinds(tmp_path):
    from optuna.storages import JournalStorage, RDBStorage

    assert isinstance(studies.make_storage(f"sqlite:///{tmp_path / 'a.db'}"), RDBStorage)
    assert isinstance(studies.make_storage(f"journal://{tmp_path / 'a.log'}"), JournalStorage)
    for bad, error in (
        ("a.db", ValueError),
        ("", TypeError),
        (None, TypeError),
        ("journal:", ValueError),
    ):
        with pytest.raises(error):
            studies.make_storage(bad)


def test_two_handles_on_one_storage_share_the_study(tmp_path):
    quiet_optuna()
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    X, y = line_data()
    objective = studies.make_objective((X, y), (X, y), epochs=20, eval_every=10)
    studies.create_study(url, study_name="s", seed=1).optimize(objective, n_trials=2)
    studies.create_study(url, study_name="s", seed=2).optimize(objective, n_trials=3)
    study = optuna.load_study(study_name="s", storage=url)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3, 4]


def test_cli_worker(tmp_path):
    quiet_optuna()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert (
        studies.main(
            [
                "--storage",
                url,
                "--study-name",
                "cli",
                "--n-trials",
                "2",
                "--epochs",
                "20",
                "--eval-every",
                "10",
                "--seed",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    study = optuna.load_study(study_name="cli", storage=url)
    assert len(study.trials) == 2
    assert all("worker" in t.user_attrs for t in study.trials)
    with pytest.raises(SystemExit):
        studies.main(["--storage", url, "--n-trials", "0"])


# ---------------------------------------------------------------- many worker processes


def run_workers(url: str, *, n_workers: int = 3, trials_each: int = 3, study_name="lj-mlp-shared"):
    """Start ``n_workers`` processes of the CLI on one study and check the result."""
    quiet_optuna()
    storage = studies.make_storage(url)
    studies.create_study(storage, study_name=study_name, seed=0)  # create once, as the docs say
    env = dict(os.environ, COURSE_PROGRESS="0")
    command = [
        sys.executable,
        "-m",
        "course_utils.studies",
        "--storage",
        url,
        "--study-name",
        study_name,
        "--n-trials",
        str(trials_each),
        "--epochs",
        "40",
        "--eval-every",
        "10",
        "--quiet",
    ]
    procs = [
        subprocess.Popen(
            command + ["--seed", str(100 + i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(n_workers)
    ]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=300)
            outputs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]

    assert optuna.get_all_study_names(storage) == [study_name]  # one study, not three
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    total = n_workers * trials_each
    assert len(trials) == total
    assert sorted(t.number for t in trials) == list(range(total))  # distinct numbers
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert all(t.state in finished for t in trials)
    by_worker = {}
    for t in trials:
        by_worker[t.user_attrs["worker"]] = by_worker.get(t.user_attrs["worker"], 0) + 1
    assert sorted(by_worker.values()) == [trials_each] * n_workers  # every process took part
    return study


@pytest.mark.slow
def test_workers_share_a_sqlite_study(tmp_path):
    run_workers(f"sqlite:///{tmp_path / 'study.db'}")


@pytest.mark.slow
def test_workers_share_a_journal_file_study(tmp_path):
    run_workers(f"journal://{tmp_path / 'study.log'}")


@pytest.mark.slow
def test_workers_share_a_postgresql_study(postgres_url):
    study = run_workers(postgres_url, n_workers=3, trials_each=3)
    assert study.best_value > 0
