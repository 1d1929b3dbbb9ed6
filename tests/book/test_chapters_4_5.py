"""Chapters 4 (overfitting) and 5 (hyperparameters): the numbers in the prose.

The prose quotes glued values; these tests read them from the executed
chapters in the book's cache and check that they say what the text claims,
and that they agree with each other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import chapter_values

CH4 = "chapters/04_overfitting.ipynb"
CH5 = "chapters/05_hyperparameters.ipynb"


ch4 = chapter_values(CH4)


ch5 = chapter_values(CH5)


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
def test_ch4_disagreement_is_the_range_not_the_standard_deviation(ch4):
    # the largest range (highest minus lowest of the five) is at least twice the largest
    # standard deviation (Popoviciu's inequality), so quoting the latter understates it
    assert ch4["overfit_disagreement"] >= 2 * ch4["overfit_spread"] * (1 - 1e-6)
    assert 0.95 <= ch4["overfit_disagreement_r"] <= 2.5  # inside the sampled range


@pytest.mark.slow
def test_ch4_test_set_measures_the_model_the_validation_set_picks(ch4):
    names, val = ch4["cand_names"], ch4["cand_val"]
    assert len(names) == len(val) == 1 + len(ch4["wd_lambdas"])
    assert ch4["picked"] == names[int(np.argmin(val))]
    assert ch4["val_rmse_chosen"] == pytest.approx(min(val))
    # the early-stopped network is a candidate, with the validation error quoted earlier
    assert val[names.index("early stopping")] == pytest.approx(ch4["es_val_rmse_best"])
    assert ch4["val_rmse_wd_best_seed0"] in val
    assert ch4["test_rmse_chosen"] > 0 and math.isfinite(ch4["test_rmse_chosen"])


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


@pytest.mark.slow
def test_ch4_digit_remedies_as_measured(ch4):
    names, train, val = ch4["dig_names"], ch4["dig_train"], ch4["dig_val"]
    assert names == [
        "plain",
        "dropout 0.2 + weight decay 0.01",
        "shifted copies",
        "all three + one-cycle",
    ]
    for key, i in (("plain", 0), ("reg", 1), ("aug", 2), ("all", 3)):
        assert ch4[f"dig_{key}_train_pct"] == pytest.approx(100 * train[i])
        assert ch4[f"dig_{key}_val_pct"] == pytest.approx(100 * val[i])
    sigma = ch4["dig_val_sigma_pct"] / 100
    assert sigma == pytest.approx(math.sqrt(0.95 * 0.05 / 500))
    gap = np.subtract(train, val)
    assert gap[0] > 2 * sigma  # the plain network overfits
    assert abs(val[1] - val[0]) < 2 * sigma  # dropout + weight decay: within the uncertainty
    assert val[2] - val[0] > 2 * sigma  # shifted copies: a real gain ...
    assert gap[2] < sigma and train[2] < train[0]  # ... the gap is gone, training is harder
    assert val[3] > val[0] + 2 * sigma


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
    assert 0 < ch5["test_rmse"] < 3 * ch5["cv_chosen_mean"]


def _ch5_data():
    """The chapter's data split, rebuilt independently of the executed notebook."""
    from course_utils.tuning import lj_tuning_data

    data = lj_tuning_data(n=100, n_val=40, n_test=20, r_min=1.0, r_max=2.5, noise=0.02, seed=0)

    def r(x):
        return (x * data.x_std + data.x_mean).ravel().numpy()

    return data, r


def _split_rmse(total, n, part, n_part, rest):
    """RMSE of all points from the RMSEs of two disjoint parts."""
    return math.sqrt((part**2 * n_part + rest**2 * (n - n_part)) / n)


@pytest.mark.slow
def test_ch5_grid_winner_is_underfitted_and_fast_runs_fit_the_noise(ch5):
    val, train, noise = np.array(ch5["grid_val"]), np.array(ch5["grid_train"]), ch5["noise"]
    i = int(np.argmin(val))
    assert ch5["grid_best_train"] == pytest.approx(train[i])
    assert ch5["grid_best_train_over_noise"] == pytest.approx(train[i] / noise)
    # underfitted: its training error exceeds its validation error and is several times the noise
    assert train[i] > val[i] and train[i] > 3 * noise
    from course_utils.tuning import LECTURE_GRID, grid_points

    fitted = train < 2 * noise  # runs that fit their training points to the noise
    assert ch5["grid_fit_n"] == fitted.sum() >= 3
    lrs = sorted({p["lr"] for p, f in zip(grid_points(LECTURE_GRID), fitted) if f})
    assert ch5["grid_fit_lrs"] == lrs == sorted(LECTURE_GRID["lr"])[-2:]  # the two largest rates
    assert ch5["grid_fit_val_min"] == pytest.approx(val[fitted].min())
    assert ch5["grid_fit_val_max"] == pytest.approx(val[fitted].max())
    assert val[fitted].min() > val[i]  # every one is worse than the winner on new data


@pytest.mark.slow
def test_ch5_converged_runs_agree_so_the_grid_factor_is_the_budget(ch5):
    lrs, val, steps, done = ch5["es_lrs"], ch5["es_val"], ch5["es_best_epoch"], ch5["es_converged"]
    assert lrs == sorted(lrs) and len(lrs) == len(val) == len(steps) == 5
    conv = [v for v, d in zip(val, done) if d]
    assert ch5["es_n_converged"] == len(conv) >= 3
    assert ch5["es_val_min"] == pytest.approx(min(conv))
    assert ch5["es_val_max"] == pytest.approx(max(conv))
    assert max(conv) / min(conv) < 1.05  # converged, the learning rate barely matters ...
    assert min(conv) <= 1.01 * ch5["grid_best_val"]  # ... and is as good as the grid's winner
    # ... while with 300 steps the same architecture's five rates differed far more
    d, w = ch5["grid_best_depth"], ch5["grid_best_width"]
    from course_utils.tuning import LECTURE_GRID, grid_points

    row = [
        v
        for p, v in zip(grid_points(LECTURE_GRID), ch5["grid_val"])
        if (p["depth"], p["width"]) == (d, w)
    ]
    assert max(row) / min(row) > 1.2 * max(conv) / min(conv)
    assert ch5["grid_lr_factor"] < 10  # a factor of a few, not orders of magnitude
    # small rates need more than 300 steps, large ones have their best point before step 300
    assert steps == sorted(steps, reverse=True)
    assert steps[0] > 300 > steps[-1] == ch5["es_steps_fastest"]
    assert ch5["es_steps_slowest_converged"] > 300


@pytest.mark.slow
def test_ch5_validation_error_comes_from_the_gap_in_the_training_data(ch5):
    data, r = _ch5_data()
    r_train = np.sort(r(data.train[0]))
    assert ch5["gap_lo"] == pytest.approx(r_train[0]) and ch5["gap_hi"] == pytest.approx(r_train[1])
    n_gap = int((r(data.val[0]) < r_train[1]).sum())
    assert ch5["n_val_gap"] == n_gap and ch5["n_val"] == 40
    noise = ch5["noise"]
    for key in ("winner", "long"):
        total, gap, out = (ch5[f"wall_{key}_{part}"] for part in ("val", "gap", "out"))
        assert total == pytest.approx(_split_rmse(total, 40, gap, n_gap, out), rel=1e-4)
        assert gap > 5 * noise  # both miss the wall badly ...
        assert gap**2 * n_gap > out**2 * (40 - n_gap)  # ... and the gap dominates the error
    assert ch5["wall_long_out"] < ch5["wall_winner_out"] and ch5["wall_long_out"] < 1.5 * noise
    assert ch5["wall_long_train"] < ch5["wall_winner_train"]
    # "well past the early-stopping point": the long run at 1e-3 goes on > 3x its best step
    assert ch5["long_steps"] > 3 * ch5["es_best_epoch"][ch5["es_lrs"].index(1e-3)]


@pytest.mark.slow
def test_ch5_cross_validation_never_validates_the_end_points():
    data, _ = _ch5_data()
    # the chapter validates on dev[2:] and adds data.ends to every training fold
    assert torch.equal(data.dev[0][:2], data.ends[0])
    assert not any(torch.isin(data.ends[0].ravel(), data.dev[0][2:].ravel()))


@pytest.mark.slow
def test_ch5_test_error_gap_has_a_measured_cause(ch5):
    data, r = _ch5_data()
    well, noise = ch5["well_r"], ch5["noise"]
    n_test_well = int((r(data.test[0]) < well).sum())
    n_dev_well = int((r(data.dev[0]) < well).sum())
    assert (ch5["n_test_well"], ch5["n_test"]) == (n_test_well, 20)
    assert (ch5["n_dev_well"], ch5["n_dev"]) == (n_dev_well, 80)
    test = ch5["test_rmse"]
    assert test > ch5["cv_chosen_mean"]  # the gap the text explains exists
    assert ch5["test_over_cv"] == pytest.approx(test / ch5["cv_chosen_mean"])
    well_rmse, rest = ch5["test_rmse_well"], ch5["test_rmse_rest"]
    assert test == pytest.approx(_split_rmse(test, 20, well_rmse, n_test_well, rest), rel=1e-4)
    assert n_test_well / 20 > n_dev_well / 80  # the test set over-samples the well ...
    assert ch5["dev_rmse_well"] > 3 * ch5["dev_rmse_rest"]  # ... the model's worst region
    assert well_rmse > 3 * rest
    assert ch5["final_train_rmse"] > 2 * noise  # underfitted even on its own training points


@pytest.mark.slow
def test_ch5_selu_slope_jumps_at_zero(ch5):
    z = torch.tensor([-1e-4, 0.0, 1e-4], dtype=torch.float64)
    f = torch.nn.functional.selu(z)
    left, right = float((f[1] - f[0]) / 1e-4), float((f[2] - f[1]) / 1e-4)
    assert ch5["selu_slope_left"] == pytest.approx(left, rel=1e-3)
    assert ch5["selu_slope_right"] == pytest.approx(right, rel=1e-3)
    assert ch5["selu_slope_left"] == pytest.approx(1.758, abs=1e-3)
    assert ch5["selu_slope_right"] == pytest.approx(1.0507, abs=1e-4)
    assert left - right > 0.5  # not a continuous first derivative


@pytest.mark.slow
def test_ch5_linear_baselines(ch5):
    data, r = _ch5_data()
    # independent fits with NumPy: a line in r, and the two Lennard-Jones powers
    rt, Et = r(data.train[0]), data.train[1].numpy().ravel().astype(float)
    rv, Ev = r(data.val[0]), data.val[1].numpy().ravel().astype(float)
    line = np.polyfit(rt, Et, 1)
    line_val = math.sqrt(np.mean((np.polyval(line, rv) - Ev) ** 2))
    A = np.stack([rt**-12.0, rt**-6.0, np.ones_like(rt)], axis=1)
    w = np.linalg.lstsq(A, Et, rcond=None)[0]
    Av = np.stack([rv**-12.0, rv**-6.0, np.ones_like(rv)], axis=1)
    lj_val = math.sqrt(np.mean((Av @ w - Ev) ** 2))
    assert ch5["lin_line_val"] == pytest.approx(line_val, rel=1e-3)
    assert ch5["lin_ljfeat_val"] == pytest.approx(lj_val, rel=1e-3)
    assert ch5["lin_ljfeat_w"][:2] == pytest.approx([4.0, -4.0], rel=0.05)  # 4 eps, -4 eps
    # the networks beat the line, the right features beat the networks, at the noise level
    assert ch5["lin_line_val"] > ch5["grid_best_val"] > ch5["lin_ljfeat_val"]
    assert ch5["lin_ljfeat_val"] < 1.5 * ch5["noise"]
    assert ch5["lin_line_val"] < ch5["baseline_val"]


@pytest.mark.slow
def test_ch5_optuna_study(ch5):
    n = ch5["optuna_n_trials"]
    assert n == ch5["optuna_requested"] >= 2 * ch5["optuna_startup"]  # random, then as many TPE
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
    second = ch5["optuna_second_trials"]
    assert second >= 1
    assert ch5["optuna_total_trials"] == ch5["optuna_distinct_numbers"] == n + second
