"""Chapters 4 (overfitting) and 5 (hyperparameters): the numbers in the prose.

The prose quotes glued values; these tests read them from the executed
chapters in the book's cache and check that they say what the text claims,
and that they agree with each other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

CH4 = "chapters/04_overfitting.ipynb"
CH5 = "chapters/05_hyperparameters.ipynb"


@pytest.fixture(scope="module")
def ch4(glued):
    return glued(CH4)


@pytest.fixture(scope="module")
def ch5(glued):
    return glued(CH5)


# ------------------------------------------------------------------ chapter 4


@pytest.mark.slow
def test_ch4_network_is_the_lectures(ch4):
    assert ch4["n_params"] == 6601
    assert ch4["params_per_point"] == pytest.approx(660.1)


@pytest.mark.slow
def test_ch4_overfit_model_memorises_but_does_not_generalise(ch4):
    train, interp, extrap = (
        ch4[k] for k in ("overfit_train_rmse_max", "overfit_interp_rmse", "overfit_extrap_rmse")
    )
    assert train < 1e-3  # "reproduce their training data perfectly"
    assert interp > 0.05 and interp > 100 * train  # "many orders of magnitude larger"
    assert extrap > interp  # "outside the sampled range it gets worse still"
    assert ch4["overfit_spread"] > 0.05  # the seeds disagree


@pytest.mark.slow
def test_ch4_early_stopping(ch4):
    best, stop, max_epochs = ch4["es_best_epoch"], ch4["es_stop_epoch"], ch4["es_max_epochs"]
    assert 1 <= best < stop < max_epochs
    assert stop == best + ch4["es_patience"]  # stopped after `patience` epochs without progress
    assert ch4["es_val_rmse_best"] < ch4["es_val_rmse_full"]  # better on new data
    assert ch4["es_train_rmse_best"] > ch4["es_train_rmse_full"]  # worse on the training data


@pytest.mark.slow
def test_ch4_weight_decay_lowers_validation_error(ch4):
    lambdas, val, train, far = ch4["wd_lambdas"], ch4["wd_val"], ch4["wd_train"], ch4["wd_far"]
    assert lambdas[0] == 0 and len(val) == len(train) == len(far) == len(lambdas)
    best = int(np.argmin(val))
    assert ch4["wd_best"] == lambdas[best] != 0  # some regularisation beats none
    assert ch4["wd_val_best"] == pytest.approx(val[best]) and ch4["wd_val_none"] == pytest.approx(
        val[0]
    )
    assert ch4["wd_val_best"] < ch4["wd_val_none"]
    assert ch4["wd_train_best"] > ch4["wd_train_none"]  # paid for with training accuracy
    assert ch4["wd_far_best"] < ch4["wd_far_none"]
    assert val[-1] > val[best]  # the largest lambda overdoes it
    assert ch4["test_rmse_chosen"] > 0 and math.isfinite(ch4["test_rmse_chosen"])


@pytest.mark.slow
def test_ch4_learning_curves_converge(ch4):
    sizes, train, val = ch4["lc_sizes"], ch4["lc_train"], ch4["lc_val"]
    assert len(sizes) == len(train) == len(val) and sizes == sorted(sizes)
    assert train[-1] > train[0]  # training error rises with data
    assert val[-1] < val[0]  # validation error falls
    assert val[-1] - train[-1] < 0.1 * (val[0] - train[0])  # the gap closes
    noise = ch4["noise"]
    assert noise / 2 < train[-1] < 2 * noise and noise / 2 < val[-1] < 2 * noise
    assert ch4["lc_val_first"] == val[0] and ch4["lc_train_last"] == train[-1]


@pytest.mark.slow
def test_ch4_bias_variance_optimum_grows_with_data(ch4):
    for n in (15, 60):
        sizes, b2, var = ch4[f"bv_sizes_{n}"], ch4[f"bv_bias2_{n}"], ch4[f"bv_var_{n}"]
        total = np.add(b2, var)
        assert ch4[f"bv_best_p_{n}"] == sizes[int(np.argmin(total))]
        assert b2[0] > b2[sizes.index(ch4[f"bv_best_p_{n}"])]  # bias falls with size
        assert var[-1] > 10 * min(var)  # variance explodes for the largest models
    assert ch4["bv_best_p_60"] > ch4["bv_best_p_15"]


@pytest.mark.slow
def test_ch4_checklist_memorises_three_points(ch4):
    assert ch4["memorise_rmse"] < 1e-3


# ------------------------------------------------------------------ chapter 5


@pytest.mark.slow
def test_ch5_grid_has_45_results_and_a_consistent_best(ch5):
    from course_utils.tuning import LECTURE_GRID, grid_points

    val = ch5["grid_val"]
    assert ch5["grid_n"] == len(val) == 45
    assert all(v > 0 and math.isfinite(v) for v in val)
    i = int(np.argmin(val))
    assert ch5["grid_best_val"] == pytest.approx(val[i])
    assert ch5["grid_worst_val"] == pytest.approx(max(val))
    point = grid_points(LECTURE_GRID)[i]
    assert (ch5["grid_best_depth"], ch5["grid_best_width"], ch5["grid_best_lr"]) == (
        point["depth"],
        point["width"],
        point["lr"],
    )
    edge = point["lr"] in (min(LECTURE_GRID["lr"]), max(LECTURE_GRID["lr"]))
    assert ch5["grid_lr_position"] == ("at the edge of" if edge else "inside")


@pytest.mark.slow
def test_ch5_learning_rate_matters_most(ch5):
    cube = np.array(ch5["grid_val"]).reshape(3, 3, 5)
    assert ch5["grid_lr_factor"] == pytest.approx((cube.max(2) / cube.min(2)).max())
    assert ch5["grid_arch_factor"] == pytest.approx(cube.min(2).max() / cube.min(2).min())
    assert ch5["grid_lr_factor"] > ch5["grid_arch_factor"]


@pytest.mark.slow
def test_ch5_random_search_same_budget_more_learning_rates(ch5):
    val = ch5["random_val"]
    assert ch5["random_n"] == len(val) == ch5["grid_n"]
    assert ch5["random_best_val"] == pytest.approx(min(val))
    assert 1e-5 <= ch5["random_best_lr"] <= 1e-3
    assert ch5["n_lr_grid"] == 5 and ch5["n_lr_random"] == 45


@pytest.mark.slow
def test_ch5_cross_validation_and_test_set(ch5):
    from course_utils.tuning import LECTURE_GRID, grid_points

    finalists, scores, means = ch5["cv_finalists"], ch5["cv_scores"], ch5["cv_means"]
    top3 = [grid_points(LECTURE_GRID)[i] for i in np.argsort(ch5["grid_val"])[:3]]
    assert finalists == top3
    assert len(scores) == len(means) == 3 and all(len(s) == 5 for s in scores)
    assert means == pytest.approx([np.mean(s) for s in scores])
    assert ch5["cv_chosen"] == finalists[int(np.argmin(means))]
    assert ch5["cv_chosen_mean"] == pytest.approx(min(means))
    assert ch5["cv_spread_max"] == pytest.approx(max(max(s) / min(s) for s in scores))
    # one honest measurement, in the same range as the estimate it is compared with
    assert 0 < ch5["test_rmse"] < 3 * ch5["cv_chosen_mean"]


@pytest.mark.slow
def test_ch5_optuna_study(ch5):
    n = ch5["optuna_n_trials"]
    assert n == 24
    assert ch5["optuna_n_complete"] + ch5["optuna_n_pruned"] == n
    assert ch5["optuna_n_pruned"] >= 1  # the pruner did stop trials
    assert len(ch5["optuna_values"]) == ch5["optuna_n_complete"]
    assert ch5["optuna_best_val"] == pytest.approx(min(ch5["optuna_values"]))
    assert ch5["optuna_n_complete"] * 300 <= ch5["optuna_steps_run"] < n * 300
    params = ch5["optuna_best_params"]
    assert set(params) == {"depth", "width", "lr"}
    assert (
        params["depth"] in (2, 3, 4)
        and 32 <= params["width"] <= 128
        and 1e-5 <= params["lr"] <= 1e-3
    )
    # the second worker joined the same study: one numbering, no duplicates
    assert ch5["optuna_total_trials"] == ch5["optuna_distinct_numbers"] == n + 8
