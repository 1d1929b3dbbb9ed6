"""Full-batch Adam for small networks: one at a time, or many at once.

:func:`train_full_batch` trains one model: every epoch is one Adam step on all
training points, with optional validation, reports (for pruning) and early
stopping.

Chapters 4 and 5 train dozens of tiny networks (several seeds, several
weight decays, a grid of learning rates).  One at a time, each gradient step
costs far more in Python and PyTorch overhead than in arithmetic.
:func:`train_stacked` stacks the weights of M networks into one tensor per
layer and trains all of them with batched matrix products
(:func:`torch.baddbmm`) and one Adam update, written out elementwise.  Adam
treats every weight on its own and the loss is the sum of the M networks'
separate losses, so each network takes exactly the steps it would take alone
with ``torch.optim.Adam`` (up to rounding), with its own learning rate, weight
decay, training set and early stopping.

Networks of the same depth but different widths are stacked too: the
narrower ones are padded with zero neurons.  A zero neuron gets zero input
weights, zero bias and zero output weights; its activation is 0 (every hidden
activation must map 0 to 0), so its gradients are exactly zero and it stays
zero: the padded network computes and learns exactly what the narrow one does.

Importing this module changes no global state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ._validate import check_int
from .training import single_thread

__all__ = ["train_full_batch", "train_stacked"]


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


def _layers(model: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """Split a model into its parameter-free prefix and its perceptron part."""
    flat: list[nn.Module] = []

    def walk(module: nn.Module) -> None:
        if isinstance(module, nn.Sequential):
            for child in module:
                walk(child)
        else:
            flat.append(module)

    walk(model)
    first = next((i for i, m in enumerate(flat) if isinstance(m, nn.Linear)), None)
    body = flat[first:] if first is not None else []
    if (
        first is None
        or any(list(m.parameters()) for m in flat[:first])
        or not isinstance(body[-1], nn.Linear)
        or any(list(m.parameters()) for m in body if not isinstance(m, nn.Linear))
        or any(isinstance(a, nn.Linear) == isinstance(b, nn.Linear) for a, b in zip(body, body[1:]))
    ):
        raise ValueError(
            "train_stacked needs nn.Sequential models: parameter-free modules (such as "
            "GaussianExpansion), then Linear layers with one activation between each; "
            f"got {model}. Train other models one by one with train_full_batch."
        )
    return flat[:first], body


def _per_model(value, name: str, m: int) -> torch.Tensor:
    values = [value] * m if isinstance(value, (int, float)) else list(value)
    if len(values) != m or not all(isinstance(v, (int, float)) and v >= 0 for v in values):
        raise ValueError(f"{name} must be a number >= 0 or a list of {m} of them, not {value!r}.")
    return torch.tensor(values, dtype=torch.float32)


def _stack_data(prefix, data, m: int, name: str):
    """Inputs through the fixed prefix, padded to one length: (M, n, d), (M, n, k), weights."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        data = [data] * m
    if not isinstance(data, (tuple, list)) or len(data) != m:
        raise ValueError(f"{name} must be one pair (X, y) or a list of {m} pairs, one per model.")
    feats, targets = [], []
    with torch.no_grad():
        for X, y in data:
            X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
            if X.ndim != 2 or y.ndim != 2 or len(X) != len(y) or len(X) == 0:
                raise ValueError(
                    f"{name}: X and y must be 2-D with equal, non-zero numbers of rows; "
                    f"got {tuple(X.shape)} and {tuple(y.shape)}. Use .reshape(-1, 1)."
                )
            for module in prefix:
                X = module(X)
            feats.append(X)
            targets.append(y)
    n = max(len(X) for X in feats)
    X = torch.zeros(m, n, feats[0].shape[1])
    y = torch.zeros(m, n, targets[0].shape[1])
    weight = torch.zeros(m, n, 1)
    for i, (Xi, yi) in enumerate(zip(feats, targets)):
        X[i, : len(Xi)], y[i, : len(yi)] = Xi, yi
        weight[i, : len(Xi)] = 1.0 / yi.numel()  # the mean over this model's own points
    return X, y, weight


def train_stacked(
    models: Sequence[nn.Module],
    train_data,
    *,
    lr,
    epochs: int,
    weight_decay=0.0,
    val_data=None,
    eval_every: int | None = None,
    patience: int | None = None,
) -> list[dict]:
    """Train M perceptrons side by side with full-batch Adam on the mean squared error.

    Each model ends with the weights that :func:`train_full_batch`
    would give it, trained alone with the same arguments (up to rounding).

    Parameters
    ----------
    models : sequence of torch.nn.Sequential
        Parameter-free modules first (they only transform the inputs), then
        ``Linear, activation, ..., Linear``; the same depth and activations
        for all, widths may differ.  Trained in place.
    train_data : pair (X, y) or list of M pairs
        One training set for all, or one per model (their sizes may differ);
        X of shape (n, n_features), y of shape (n, n_outputs).
    lr, weight_decay : float or list of M floats
        Adam's learning rate (> 0) and L2 penalty, as in ``torch.optim.Adam``.
    epochs : int
        Full-batch steps, >= 1 (the most, with ``patience``).
    val_data : pair (X, y) or list of M pairs, optional
        Validation data, needed for ``patience``.
    eval_every : int, optional
        Record the losses every this many steps (and after the last one).
    patience : int, optional
        Early stopping per model: a model stops (its weights freeze) when its
        validation loss has not improved for this many steps, and gets back
        the weights of its best evaluation.

    Returns
    -------
    list of dict
        One per model, the keys of ``train_full_batch``'s result: ``train_mse``,
        ``val_mse``, ``epochs``, ``best_epoch``, ``stopped_early``, ``history``.
    """
    with single_thread():
        return _train_stacked(
            list(models), train_data, lr, epochs, weight_decay, val_data, eval_every, patience
        )


def _train_stacked(
    models, train_data, lr, epochs, weight_decay, val_data, eval_every, patience
) -> list[dict]:
    m = len(models)
    if m == 0 or not all(isinstance(model, nn.Module) for model in models):
        raise ValueError("models must be a non-empty list of torch.nn.Module objects.")
    epochs = check_int(epochs, "epochs", minimum=1)
    eval_every = check_int(epochs if eval_every is None else eval_every, "eval_every", minimum=1)
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
        if val_data is None:
            raise ValueError("early stopping (patience) needs val_data to watch.")
    lrs = _per_model(lr, "lr", m)
    if not bool((lrs > 0).all()):
        raise ValueError(f"lr must be positive, not {lr!r}.")
    decay = _per_model(weight_decay, "weight_decay", m).view(m, 1, 1)
    split = [_layers(model) for model in models]
    kinds = [[type(mod) for mod in body] for _, body in split]
    if any(k != kinds[0] for k in kinds):
        raise ValueError("all models need the same depth and activations to be stacked.")
    linears = [[mod for mod in body if isinstance(mod, nn.Linear)] for _, body in split]
    acts = [mod for mod in split[0][1] if not isinstance(mod, nn.Linear)]
    sizes = [max(layers[k].out_features for layers in linears) for k in range(len(linears[0]))]
    padded = any(lin.out_features != sizes[k] for ls in linears for k, lin in enumerate(ls))
    if padded and any(float(act(torch.zeros(1))) != 0.0 for act in acts):
        raise ValueError(
            "an activation that maps 0 elsewhere cannot pad narrow networks; "
            "stack networks of one width only."
        )
    ins = [linears[0][0].in_features] + sizes[:-1]
    W = [torch.zeros(m, a, b) for a, b in zip(ins, sizes)]
    B = [torch.zeros(m, 1, b) for b in sizes]
    with torch.no_grad():
        for i, layers in enumerate(linears):
            for k, lin in enumerate(layers):
                W[k][i, : lin.in_features, : lin.out_features] = lin.weight.T
                B[k][i, 0, : lin.out_features] = lin.bias
    params = [p.requires_grad_() for p in W + B]
    X, y, weight = _stack_data(split[0][0], train_data, m, "train_data")
    val = _stack_data(split[0][0], val_data, m, "val_data") if val_data is not None else None

    def forward(h: torch.Tensor) -> torch.Tensor:
        for k, (w, b) in enumerate(zip(W, B)):
            h = torch.baddbmm(b, h, w)
            if k < len(acts):
                h = acts[k](h)
        return h

    def mse(data) -> torch.Tensor:
        with torch.no_grad():
            return (data[2] * (forward(data[0]) - data[1]) ** 2).sum(dim=(1, 2))

    beta1, beta2, eps = 0.9, 0.999, 1e-8
    moment1 = [torch.zeros_like(p) for p in params]
    moment2 = [torch.zeros_like(p) for p in params]
    active = torch.ones(m)
    history = [{"epoch": [], "train_mse": [], "val_mse": []} for _ in range(m)]
    best = [
        {"val_mse": math.inf, "epoch": 0, "train_mse": math.nan, "state": None} for _ in range(m)
    ]
    stopped = [False] * m
    for epoch in range(1, epochs + 1):
        loss = (weight * (forward(X) - y) ** 2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            grads = [g + decay * p for g, p in zip(grads, params)]  # Adam's L2 penalty
            torch._foreach_mul_(moment1, beta1)
            torch._foreach_add_(moment1, grads, alpha=1 - beta1)
            torch._foreach_mul_(moment2, beta2)
            torch._foreach_addcmul_(moment2, grads, grads, value=1 - beta2)
            denom = torch._foreach_sqrt(moment2)
            torch._foreach_div_(denom, math.sqrt(1 - beta2**epoch))
            torch._foreach_add_(denom, eps)
            step = (-lrs * active / (1 - beta1**epoch)).view(m, 1, 1)
            for p, m1, d in zip(params, moment1, denom):
                p.add_(step * m1 / d)
        if epoch % eval_every and epoch != epochs:
            continue
        train_mse = mse((X, y, weight)).tolist()
        val_mse = mse(val).tolist() if val is not None else [None] * m
        for i in range(m):
            if stopped[i]:
                continue
            history[i]["epoch"].append(epoch)
            history[i]["train_mse"].append(train_mse[i])
            history[i]["val_mse"].append(val_mse[i])
            if patience is None:
                continue
            if val_mse[i] < best[i]["val_mse"]:
                state = [p[i].detach().clone() for p in params]
                best[i].update(val_mse=val_mse[i], epoch=epoch, train_mse=train_mse[i], state=state)
            elif epoch - best[i]["epoch"] >= patience and epoch < epochs:
                stopped[i], active[i] = True, 0.0
        if all(stopped):
            break
    results = []
    with torch.no_grad():
        for i, layers in enumerate(linears):
            state = best[i]["state"] or [p[i] for p in params]
            for k, lin in enumerate(layers):
                lin.weight.copy_(state[k][: lin.in_features, : lin.out_features].T)
                lin.bias.copy_(state[len(W) + k][0, : lin.out_features])
            models[i].eval()
            h = history[i]
            if patience is not None:
                done = (best[i]["train_mse"], best[i]["val_mse"], best[i]["epoch"])
            else:
                done = (h["train_mse"][-1], h["val_mse"][-1], h["epoch"][-1])
            results.append(
                {
                    "train_mse": done[0],
                    "val_mse": done[1],
                    "epochs": h["epoch"][-1],
                    "best_epoch": done[2],
                    "stopped_early": stopped[i],
                    "history": h,
                }
            )
    return results
