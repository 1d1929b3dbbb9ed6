"""Tests for course_utils/training.py."""

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.training import (
    count_parameters,
    evaluate,
    fit,
    progress_enabled,
    seed_everything,
    single_thread,
)


def _line_data(n=64):
    x = torch.linspace(-1, 1, n).reshape(-1, 1)
    return x, 3.0 * x - 0.5


def test_seed_everything_makes_torch_and_numpy_repeatable():
    seed_everything(7)
    a = (torch.rand(3), np.random.rand(3))
    seed_everything(7)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert isinstance(seed_everything(7), np.random.Generator)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.0, TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seeds(seed, error):
    with pytest.raises(error):
        seed_everything(seed)


def test_fit_learns_a_line_and_reports_history():
    seed_everything(0)
    model = nn.Linear(1, 1)
    history = fit(
        model,
        _line_data(),
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=60,
        batch_size=16,
        seed=0,
        progress=False,
    )
    assert len(history["train_loss"]) == 60
    assert history["train_loss"][-1] < 1e-3 < history["train_loss"][0]
    assert model.weight.item() == pytest.approx(3.0, abs=0.05)


def test_fit_is_deterministic_with_a_seed():
    def run():
        seed_everything(1)
        model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
        fit(
            model,
            _line_data(),
            loss_fn=nn.MSELoss(),
            optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
            epochs=5,
            batch_size=8,
            seed=3,
            progress=False,
        )
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(run(), run())


def test_early_stopping_stops_and_restores_best_weights():
    seed_everything(0)
    X, y = _line_data()
    model = nn.Linear(1, 1)
    # A validation target the model cannot approach while it fits the training line.
    val = (X, -y)
    history = fit(
        model,
        (X, y),
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=200,
        batch_size=64,
        validation_data=val,
        patience=3,
        progress=False,
    )
    assert len(history["val_loss"]) < 200
    best = min(history["val_loss"])
    assert evaluate(model, nn.MSELoss(), val) == pytest.approx(best, rel=1e-6)


def test_fit_calls_back_after_every_epoch_with_the_history_so_far():
    X = torch.linspace(-1, 1, 16).reshape(-1, 1)
    y = 3 * X
    model = nn.Linear(1, 1)
    seen = []

    def watch(epoch, history):
        seen.append((epoch, len(history["train_loss"]), len(history["val_loss"])))

    history = fit(
        model,
        (X, y),
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=5,
        batch_size=8,
        validation_data=(X, y),
        callback=watch,
        progress=False,
    )
    assert seen == [(e, e, e) for e in range(1, 6)]
    assert len(history["train_loss"]) == 5
    with pytest.raises(TypeError, match="callback"):
        fit(
            model,
            (X, y),
            loss_fn=nn.MSELoss(),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            callback=3,
        )


def test_progress_is_quiet_under_nbgrader_and_book_build(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    assert progress_enabled()
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert not progress_enabled()
    monkeypatch.delenv("COURSE_PROGRESS")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert not progress_enabled()


def test_fit_prints_no_progress_bar_when_quiet(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    model = nn.Linear(1, 1)
    fit(
        model,
        _line_data(),
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
    )
    captured = capsys.readouterr()
    assert "training" not in captured.err + captured.out


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"patience": 2}, ValueError, "validation_data"),
        (
            {"train_data": (torch.zeros(3, 1), torch.zeros(4, 1))},
            ValueError,
            "3 samples but y has 4",
        ),
        ({"train_data": torch.zeros(3, 1)}, TypeError, "pair"),
        ({"model": "net"}, TypeError, "torch.nn.Module"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, error, match):
    model = nn.Linear(1, 1)
    args = dict(
        model=model,
        train_data=_line_data(),
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=1,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fit(args.pop("model"), args.pop("train_data"), **args)


def test_count_parameters_of_the_lecture_digit_network():
    net = nn.Sequential(
        nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10)
    )
    assert count_parameters(net) == 13002
    net[0].weight.requires_grad_(False)
    assert count_parameters(net) == 13002 - 784 * 16
    assert count_parameters(net, trainable_only=False) == 13002


def test_fit_trains_on_the_default_device_and_hands_the_model_back(monkeypatch):
    """fit() trains where default_device() says (the GPU when PyTorch sees one) and returns
    the model on the device it came on; on this CPU-only run we watch the device it uses."""
    import course_utils.training as training

    seen = []
    monkeypatch.setattr(training, "default_device", lambda: seen.append(1) or torch.device("cpu"))
    model = torch.nn.Linear(2, 1)
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    training.fit(model, (X, y), loss_fn=torch.nn.MSELoss(), optimizer=opt, epochs=2, progress=False)
    assert seen, "fit() did not ask default_device() where to train"
    assert next(model.parameters()).device.type == "cpu"
    assert training.default_device().type in {"cpu", "cuda"}


def test_fit_accepts_an_explicit_device():
    model = torch.nn.Linear(2, 1)
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, (X, y), loss_fn=torch.nn.MSELoss(), optimizer=opt, epochs=1, device="cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_single_thread_restores_setting_even_after_an_error():
    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with single_thread():
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
