"""Small torch helpers shared by the course's modules (one copy of each).

torch is imported lazily, so that modules which use these helpers only for
neural-network models (``course_utils.pes``) import quickly without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["eval_mode", "dtype_and_device"]


@contextlib.contextmanager
def eval_mode(module: Any) -> Iterator[None]:
    """Put ``module`` and all its submodules in eval mode; restore every flag afterwards."""
    modules = list(module.modules()) if hasattr(module, "modules") else []
    flags = [m.training for m in modules]
    try:
        for m in modules:
            m.training = False
        yield
    finally:
        for m, flag in zip(modules, flags):
            m.training = flag


def dtype_and_device(module: Any) -> tuple[Any, Any]:
    """The floating-point dtype and device of a module's first parameter (or buffer).

    A module without floating-point tensors gives torch's default dtype on the CPU.
    """
    import torch

    tensors = []
    if hasattr(module, "parameters"):
        tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
    if not tensors:
        return torch.get_default_dtype(), torch.device("cpu")
    return tensors[0].dtype, tensors[0].device
