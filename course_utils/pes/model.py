"""Checks of a network of the symmetry coordinates Q1..Q10 (see :mod:`.networks`)."""

from __future__ import annotations

from typing import Any

from .._torch_utils import dtype_and_device, eval_mode
from .constants import N_SYMMETRY_COORDS


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
