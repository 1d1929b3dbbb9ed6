"""The numbers that chapters 2 and 3 print in their prose, read from the executed book.

The prose quotes these values through myst-nb's glue, so checking the glued
values checks the text a reader sees.
"""

import math

import numpy as np
import pytest
from conftest import chapter_values

CHAPTER_2 = "chapters/02_forward_propagation.ipynb"
CHAPTER_3 = "chapters/03_gradient_descent.ipynb"

pytestmark = pytest.mark.slow


chapter2 = chapter_values(CHAPTER_2)


chapter3 = chapter_values(CHAPTER_3)


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_chapter2_worked_example_matches_the_lecture(chapter2):
    hidden = [chapter2[f"h{i}"] for i in (1, 2, 3)]
    output = [chapter2[f"o{k}"] for k in (1, 2)]
    assert [round(h, 2) for h in hidden] == [0.13, 0.96, 0.40]
    assert [round(o, 2) for o in output] == [0.35, 0.85]
    assert [round(chapter2[f"z_h{i}"], 6) for i in (1, 2, 3)] == [-1.9, 3.1, -0.4]
    # internal consistency: each activation is the sigmoid of its glued pre-activation
    for i in (1, 2, 3):
        assert chapter2[f"h{i}"] == pytest.approx(_sigmoid(chapter2[f"z_h{i}"]), rel=1e-12)
    z_o = np.array([[-3.0, 1.0, -3.0], [0.0, 1.0, 2.0]]) @ np.array(hidden)
    np.testing.assert_allclose([chapter2["z_o1"], chapter2["z_o2"]], z_o, rtol=1e-12)


def test_chapter2_worked_example_with_bias(chapter2):
    biased = [chapter2[f"hb{i}"] for i in (1, 2, 3)]
    assert [round(chapter2[f"zb_h{i}"], 6) for i in (1, 2, 3)] == [-1.8, 3.2, -0.3]
    # The lecture slide prints (.14, .96, 0.4); its third value is a slip (the
    # unbiased H3 carried over): sigmoid(-0.3) = 0.4256.  The chapter says so.
    assert [round(h, 2) for h in biased[:2]] == [0.14, 0.96]
    assert round(biased[2], 2) == 0.43
    assert biased[2] == pytest.approx(_sigmoid(-0.3), rel=1e-12)


def test_chapter2_pytorch_agrees_with_numpy_to_single_precision(chapter2):
    assert chapter2["torch_max_diff"] < 1e-6
    assert chapter2["collapse_error"] < 1e-12


def test_chapter2_counts_13002_parameters(chapter2):
    assert chapter2["n_params"] == 13002
    assert chapter2["n_weights"] == 784 * 16 + 16 * 16 + 16 * 10
    assert chapter2["n_biases"] == 16 + 16 + 10


def test_chapter2_untrained_network_is_a_near_blind_guess(chapter2):
    assert 0 <= chapter2["digit_label"] <= 9
    assert 0.0 < chapter2["digit_p_min"] <= 0.1 <= chapter2["digit_p_max"] < 0.3


def test_chapter3_gradient_checks_agree(chapter3):
    assert chapter3["autograd_error"] < 1e-12
    assert chapter3["fd_error"] < 1e-8
    assert chapter3["largest_gradient"] > 1e-3  # the check compared non-trivial numbers
    assert chapter3["loss_after"] < chapter3["loss_before"]
    assert chapter3["loop_vs_fit"] < 1e-6  # fit is the blueprint loop


def test_chapter3_classifier_is_sensible(chapter3):
    assert chapter3["test_accuracy"] > 0.85
    assert chapter3["n_wrong"] == round(1000 * (1 - chapter3["test_accuracy"]))
    assert chapter3["test_accuracy_pct"] == pytest.approx(100 * chapter3["test_accuracy"])
    assert chapter3["ce_untrained"] == pytest.approx(math.log(10), abs=0.15)
    assert chapter3["final_train_loss"] < chapter3["final_test_loss"]
    # the prose says the test loss stops improving before the last epoch
    assert chapter3["best_epoch"] < 15
    assert chapter3["min_test_loss"] <= chapter3["final_test_loss"]
    assert chapter3["worst_true"] != chapter3["worst_pred"]


def test_chapter3_optimiser_claims_hold(chapter3):
    # learning rates: too small is slow, too large diverges, the limit is 2/b
    assert chapter3["lr_limit"] == pytest.approx(0.2)
    assert chapter3["f_good"] < chapter3["f_small"] < chapter3["f_large"]
    assert chapter3["f_large"] > 100
    # after 60 steps: momentum best, then Adam, then plain gradient descent
    assert chapter3["f60_momentum"] < chapter3["f60_adam"] < chapter3["f60_gd"]
    # Müller-Brown: gradient descent stuck in the shallow minimum, momentum deeper, not global
    assert chapter3["mb_gd"] == pytest.approx(-80.77, abs=0.05)
    assert chapter3["mb_adam"] == pytest.approx(-80.77, abs=0.05)
    assert chapter3["mb_global"] < chapter3["mb_momentum"] < chapter3["mb_gd"]
    # mini-batches: more steps per epoch reach a lower cost
    assert chapter3["cost_b1"] < chapter3["cost_b20"] < chapter3["cost_full"]
    assert chapter3["noise_ratio"] > 1


def test_chapter3_dataloader_epoch_is_one_pass_in_batches(chapter3):
    assert chapter3["dl_n_images"] == 4000
    assert chapter3["dl_steps"] == math.ceil(chapter3["dl_n_images"] / 32)


def test_chapter3_one_cycle_schedule_is_what_pytorch_sets():
    import torch

    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=1000)
    rates = []
    for _ in range(1000):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    # warm-up from max_lr / 25, peak at max_lr, end far below the start
    assert rates[0] == pytest.approx(1e-2 / 25)
    assert max(rates) == pytest.approx(1e-2)
    assert rates[-1] < rates[0] / 100


def test_chapter3_one_cycle_numbers_in_the_text(chapter3):
    assert chapter3["onecycle_start"] == pytest.approx(1e-2 / 25)
    assert chapter3["onecycle_max"] == pytest.approx(1e-2)
    assert chapter3["onecycle_end"] < chapter3["onecycle_start"] / 100
