"""Wrapping a neural network of the symmetry coordinates as an energy function of positions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._torch_utils import dtype_and_device, eval_mode
from .arrays import _is_torch, _parts_from_positions
from .constants import N_SYMMETRY_COORDS
from .coordinates import _symmetry_core


class _ModelEnergy:
    """positions tensor (N, 2, 3) float64 -> energy tensor (N,) float64 through a model."""

    def __init__(self, model: Any, x_mean: Any, x_std: Any, y_mean: float, y_std: float):

        _check_model(model)
        self.model = model
        self.dtype, self.device = dtype_and_device(model)
        self.x_mean = self._vec(x_mean, "x_mean", 0.0)
        self.x_std = self._vec(x_std, "x_std", 1.0)
        if np.any(self.x_std.numpy() == 0.0):
            raise ValueError("x_std must not contain zeros (use 1 for constant inputs).")
        self.y_mean, self.y_std = float(y_mean), float(y_std)

    @staticmethod
    def _vec(v: Any, name: str, default: float):
        import torch

        if v is None:
            return torch.full((N_SYMMETRY_COORDS,), default, dtype=torch.float64)
        a = np.asarray(v.detach().cpu() if _is_torch(v) else v, dtype=np.float64).reshape(-1)
        if a.shape != (N_SYMMETRY_COORDS,):
            raise ValueError(
                f"{name} must have {N_SYMMETRY_COORDS} entries (one per symmetry coordinate); "
                f"got shape {a.shape}."
            )
        return torch.tensor(a)

    def __call__(self, p):
        import torch

        q = _symmetry_core(*_parts_from_positions(p, torch), torch, False)
        x = ((q - self.x_mean) / self.x_std).to(dtype=self.dtype, device=self.device)
        with eval_mode(self.model):
            y = self.model(x)
        y = y.reshape(y.shape[0], -1)
        if y.shape[1] != 1:
            raise ValueError(
                f"the model must return one energy per configuration, shape (N,) or (N, 1); "
                f"got {tuple(y.shape)}."
            )
        return y[:, 0].to(device="cpu", dtype=torch.float64) * self.y_std + self.y_mean


def _check_model(model: Any) -> None:
    """Raise a clear error unless ``model`` maps (N, 10) symmetry coordinates to (N,) energies."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module mapping symmetry coordinates (N, "
            f"{N_SYMMETRY_COORDS}) to energies (N,); got {type(model).__name__}."
        )
    for m in model.modules():
        k = getattr(m, "in_features", None)
        if isinstance(k, int) and k > 0:
            if k != N_SYMMETRY_COORDS:
                raise ValueError(
                    f"the model's first layer expects {k} input features, but the PES feeds it "
                    f"the {N_SYMMETRY_COORDS} symmetry coordinates Q1..Q10 of "
                    f"course_utils.pes.symmetry_coordinates. "
                    + (
                        "A 7-input model was probably trained on the naive set "
                        "(naive=True), which cannot tell inequivalent configurations apart; "
                        if k == 7
                        else ""
                    )
                    + f"Train a model with {N_SYMMETRY_COORDS} inputs."
                )
            break
    dtype, device = dtype_and_device(model)
    try:
        with torch.no_grad(), eval_mode(model):
            y = model(torch.zeros(2, N_SYMMETRY_COORDS, dtype=dtype, device=device))
    except Exception as exc:
        raise ValueError(
            f"calling the model on a (2, {N_SYMMETRY_COORDS}) tensor of symmetry coordinates "
            f"failed ({type(exc).__name__}: {exc}); the model must accept inputs of shape "
            f"(N, {N_SYMMETRY_COORDS})."
        ) from exc
    if not isinstance(y, torch.Tensor) or y.numel() != 2 or y.shape[0] != 2:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(
            f"the model must return one energy per configuration, shape (N,) or (N, 1); "
            f"for (2, {N_SYMMETRY_COORDS}) inputs it returned {shape}."
        )
