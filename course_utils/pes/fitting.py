"""Training a potential module on energies, or on energies and forces.

The loss for a batch of B configurations with reference energies E and forces F is

.. math::

    L = \\frac{1}{B} \\sum_b \\Big(\\frac{E_\\theta(b) - E(b)}{s_E}\\Big)^2
        + \\frac{w_F}{6B} \\sum_{b, i} \\Big(\\frac{F_{\\theta,i}(b) - F_i(b)}{s_E}\\Big)^2,

with :math:`F_\\theta = -\\partial E_\\theta / \\partial \\mathbf{r}` and :math:`s_E`
the energy scale of the module (``y_std``, in eV; forces then in units of
:math:`s_E`/Å).  One configuration carries one energy but six force
components, so forces add a lot of information per reference calculation.

Speed: the inputs of :class:`~course_utils.pes.networks.AtomCentredPotential` and
:class:`~course_utils.pes.networks.SymmetryCoordinatePotential` have no
parameters, so :func:`fit_potential` computes them and their Jacobian
:math:`\\partial \\mathbf{f} / \\partial \\mathbf{r}` once.  During training the
forces are then the chain rule, :math:`-(\\partial E/\\partial \\mathbf{f})
\\cdot (\\partial \\mathbf{f}/\\partial \\mathbf{r})`, and only the small network
is differentiated twice.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validate import check_int, check_real, rmse
from ..training import progress_enabled
from .networks import _ScaledNetwork

__all__ = ["fit_potential", "input_jacobian", "learning_curve", "train_o2_potential"]


def input_jacobian(potential: _ScaledNetwork, positions: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised inputs and their derivatives with respect to the positions.

    Parameters
    ----------
    potential : AtomCentredPotential or SymmetryCoordinatePotential
    positions : array_like, shape (N, 2, 3)
        Positions in Å.

    Returns
    -------
    x : torch.Tensor, shape (N, n_features), float64
        ``potential.scaled_features(positions)``.
    jacobian : torch.Tensor, shape (N, n_features, 6), float64
        d x / d (atom 0 xyz, atom 1 xyz), in 1/Å.
    """
    p = torch.as_tensor(np.asarray(positions, dtype=np.float64)).clone().requires_grad_(True)
    x = potential.scaled_features(p)
    rows = []
    for k in range(x.shape[1]):
        (g,) = torch.autograd.grad(x[:, k].sum(), p, retain_graph=k + 1 < x.shape[1])
        rows.append(g.reshape(len(p), 6))
    return x.detach(), torch.stack(rows, 1)


def fit_potential(
    potential: _ScaledNetwork,
    positions: Any,
    energies: Any,
    forces: Any = None,
    *,
    force_weight: float = 1.0,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 3e-3,
    seed: int = 0,
    validation: tuple[Any, Any] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train a potential on energies (and forces) with Adam and a cosine learning rate.

    The standardisation of the inputs and the energy scale are set from the
    training data first (:meth:`fit_scaling`), so the trained module maps
    positions to energies on its own.

    Parameters
    ----------
    potential : AtomCentredPotential or SymmetryCoordinatePotential
        The module to train (changed in place; left in eval mode).
    positions : array_like, shape (N, 2, 3)
        Training positions in Å.
    energies : array_like, shape (N,)
        Reference energies in eV.
    forces : array_like, shape (N, 2, 3), optional
        Reference forces in eV/Å.  Without them (or with ``force_weight=0``) the
        fit uses energies only.
    force_weight : float, default 1.0
        Weight w_F of the force term (see the module docstring).
    epochs : int, default 100
        Passes over the training data.  The learning rate falls from ``lr`` to
        almost zero along a cosine over all epochs.
    batch_size : int, default 128
    lr : float, default 3e-3
        Peak learning rate of Adam.
    seed : int, default 0
        Seeds the weights' initialisation (if fresh) and the mini-batch order.
    validation : (positions, energies), optional
        If given, the validation energy RMSE (meV) is recorded every epoch.
    progress : bool, optional
        Show a progress bar (default: :func:`course_utils.training.progress_enabled`).

    Returns
    -------
    dict
        ``train_loss`` (per epoch), ``val_rmse_meV`` (per epoch, if validation),
        ``seconds`` (wall time) and ``cpu_seconds`` (CPU time of this process).
    """
    if not isinstance(potential, _ScaledNetwork):
        raise TypeError(
            "fit_potential trains an AtomCentredPotential or a SymmetryCoordinatePotential; "
            f"got {type(potential).__name__}."
        )
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_real(lr, "lr", positive=True)
    force_weight = check_real(force_weight, "force_weight")
    if force_weight < 0:
        raise ValueError(f"force_weight must be >= 0, got {force_weight}.")
    p = np.asarray(positions, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (2, 3):
        raise ValueError(
            f"positions should have shape (N, 2, 3), but it has shape {p.shape}; "
            "convert 6D coordinates with course_utils.pes.to_cartesian."
        )
    if e.shape != (len(p),):
        raise ValueError(f"energies should have shape ({len(p)},), but it has shape {e.shape}.")
    use_forces = forces is not None and force_weight > 0
    if use_forces:
        f = np.asarray(forces, dtype=np.float64)
        if f.shape != p.shape:
            raise ValueError(f"forces should have shape {p.shape}, but it has shape {f.shape}.")

    start, cpu_start = time.perf_counter(), time.process_time()
    potential.fit_scaling(p, e)
    y_mean, y_std = float(potential.y_mean), float(potential.y_std)
    dtype = next(potential.net.parameters()).dtype
    x, jac = input_jacobian(potential, p) if use_forces else (None, None)
    if x is None:
        with torch.no_grad():
            x = potential.scaled_features(torch.as_tensor(p))
    x = x.to(dtype)
    y = torch.as_tensor((e - y_mean) / y_std, dtype=dtype)
    if use_forces:
        jac = jac.to(dtype)
        target_f = torch.as_tensor(f.reshape(len(p), 6) / y_std, dtype=dtype)

    val = None
    if validation is not None:
        pv = torch.as_tensor(np.asarray(validation[0], dtype=np.float64))
        val = (pv, np.asarray(validation[1], dtype=np.float64))

    net = potential.net
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(p)
    steps_total = epochs * math.ceil(n / batch_size)
    generator = torch.Generator().manual_seed(int(seed))
    history: dict[str, Any] = {"train_loss": [], "val_rmse_meV": []}
    show = progress_enabled() if progress is None else bool(progress)
    step = 0
    net.train()
    for _ in tqdm(range(epochs), desc="fit", disable=not show, leave=False):
        total = 0.0
        for batch in torch.randperm(n, generator=generator).split(batch_size):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * step / steps_total))
            xb = x[batch].requires_grad_(use_forces)
            pred = net(xb).reshape(-1)
            loss = ((pred - y[batch]) ** 2).mean()
            if use_forces:
                (grad,) = torch.autograd.grad(pred.sum(), xb, create_graph=True)
                pred_f = -torch.einsum("bk,bkj->bj", grad, jac[batch])
                loss = loss + force_weight * ((pred_f - target_f[batch]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            step += 1
        history["train_loss"].append(total / n)
        if val is not None:
            net.eval()
            with torch.no_grad():
                pe = potential(val[0]).numpy()
            net.train()
            history["val_rmse_meV"].append(1000 * rmse(pe, val[1]))
    net.eval()
    potential.eval()
    history["seconds"] = time.perf_counter() - start
    history["cpu_seconds"] = time.process_time() - cpu_start
    return history


def learning_curve(
    make_potential: Any,
    positions: Any,
    energies: Any,
    forces: Any,
    test: tuple[Any, Any],
    sizes: Any,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 1e-2,
    force_weight: float = 1.0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Test energy RMSE against the number of training configurations, with and without forces.

    For each size n the first n configurations are fitted twice with
    :func:`fit_potential`, on energies only and on energies and forces, from the
    same initial weights and with the same number of optimiser steps (so the
    two fits cost comparable time per size, and a larger set is not favoured by
    more updates).

    Parameters
    ----------
    make_potential : callable
        ``make_potential()`` returns a fresh, untrained potential module
        (for example ``lambda: AtomCentredPotential(hidden=(32, 32))``).
    positions : array_like, shape (N, 2, 3)
        Training pool in Å; the first n are used for size n.
    energies : array_like, shape (N,)
        Energies in eV.
    forces : array_like, shape (N, 2, 3)
        Forces in eV/Å.
    test : (positions, energies)
        Test configurations (M, 2, 3) in Å and their energies (M,) in eV.
    sizes : sequence of int
        Training-set sizes, each between 1 and N.
    steps : int, default 300
        Optimiser steps per fit (about: epochs = ceil(steps * batch_size / n)).
    batch_size, lr, force_weight, seed
        Passed to :func:`fit_potential`.

    Returns
    -------
    dict
        ``sizes`` (K,), ``energy_only`` and ``energy_forces`` (K,): test energy RMSE in meV.
    """
    p = np.asarray(positions, dtype=np.float64)
    sizes = np.array([check_int(s, "size", minimum=1) for s in np.atleast_1d(sizes)])
    if sizes.max() > len(p):
        raise ValueError(
            f"sizes go up to {sizes.max()}, but there are only {len(p)} training "
            "configurations; pass more configurations or smaller sizes."
        )
    steps = check_int(steps, "steps", minimum=1)
    test_p = torch.as_tensor(np.asarray(test[0], dtype=np.float64))
    test_e = np.asarray(test[1], dtype=np.float64)
    out: dict[str, list[float]] = {"energy_only": [], "energy_forces": []}
    for n in sizes:
        batch = min(batch_size, int(n))
        epochs = max(1, math.ceil(steps * batch / n))
        for key, f in (("energy_only", None), ("energy_forces", forces)):
            torch.manual_seed(seed)
            pot = make_potential()
            fit_potential(
                pot,
                p[:n],
                np.asarray(energies)[:n],
                None if f is None else np.asarray(f)[:n],
                epochs=epochs,
                batch_size=batch,
                lr=lr,
                force_weight=force_weight,
                seed=seed,
                progress=False,
            )
            with torch.no_grad():
                pred = pot(test_p).numpy()
            out[key].append(1000 * rmse(pred, test_e))
    return {"sizes": sizes, **{k: np.array(v) for k, v in out.items()}}


def train_o2_potential(
    n: int = 16000,
    *,
    e_max: float = 2.0,
    r_max: float | None = None,
    hidden: tuple[int, ...] = (64, 64),
    epochs: int = 60,
    force_weight: float = 1.0,
    seed: int = 7,
    data_seed: int = 0,
    progress: bool | None = None,
) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
    """The course's recipe: an :class:`AtomCentredPotential` fitted to energies and forces.

    Loads ``n`` training configurations with ``load_pes_dataset("train", e_max=e_max,
    forces=True, seed=data_seed)``, drops those with an O-O distance of ``r_max`` or
    more, and trains with :func:`fit_potential`.  Chapter 7's quick fit and the
    benchmark's best fit are both this function, with different arguments.

    Parameters
    ----------
    n : int, default 16000
        Training configurations drawn (before the ``r_max`` cut).
    e_max : float, default 2.0
        Energy cap of the training data in eV.
    r_max : float, optional
        Keep only configurations with an O-O distance below ``r_max`` Å.
    hidden : tuple of int, default (64, 64)
        Hidden-layer widths.
    epochs, force_weight : int, float
        Passed to :func:`fit_potential` (the default 60 epochs is the benchmark's best fit).
    seed : int, default 7
        Seeds the weights and the mini-batch order.
    data_seed : int, default 0
        Seed of the dataset stream.
    progress : bool, optional
        Progress bar.

    Returns
    -------
    potential : AtomCentredPotential
        The trained module (positions (N, 2, 3) Å -> energies (N,) eV).
    history : dict
        What :func:`fit_potential` returned (``seconds``, ``cpu_seconds``, ...).
    data : dict
        The training set actually used: ``positions`` (M, 2, 3) Å, ``energies`` (M,)
        eV, ``forces`` (M, 2, 3) eV/Å.
    """
    from .coordinates import to_cartesian
    from .dataset import load_pes_dataset
    from .networks import AtomCentredPotential

    d = load_pes_dataset("train", n=n, seed=data_seed, e_max=e_max, forces=True)
    keep = np.ones(len(d.energy), bool) if r_max is None else d.coords[:, 3] < float(r_max)
    data = {
        "positions": to_cartesian(d.coords[keep]),
        "energies": d.energy[keep],
        "forces": d.forces[keep],
    }
    torch.manual_seed(seed)
    potential = AtomCentredPotential(hidden=tuple(hidden))
    history = fit_potential(
        potential,
        data["positions"],
        data["energies"],
        data["forces"],
        force_weight=force_weight,
        epochs=epochs,
        seed=seed,
        progress=progress,
    )
    return potential, history, data
