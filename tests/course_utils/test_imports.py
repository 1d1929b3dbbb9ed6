"""Importing any course_utils module changes no global state and opens no connection."""

import pkgutil
import subprocess
import sys

import pytest

import course_utils

MODULES = sorted(m.name for m in pkgutil.iter_modules(course_utils.__path__))

PROBE = r"""
import random, socket, sys, warnings, importlib
import numpy as np, matplotlib, torch

def refuse(*args, **kwargs):
    raise RuntimeError("network access during import")
socket.socket.connect = refuse
socket.create_connection = refuse

# Third-party libraries add warning filters of their own when first imported;
# import them first so that only the course's own code is judged.
for lib in ("scipy", "scipy.optimize", "sklearn", "sklearn.model_selection", "ase", "ase.build",
            "ase.calculators.calculator", "optuna", "mlxtend.data", "nbgrader.apps", "tqdm.auto",
            "torch.nn", "matplotlib.pyplot", "ipywidgets"):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass

def snapshot():
    return (dict(matplotlib.rcParams), list(warnings.filters), random.getstate(),
            np.random.get_state()[1].copy(), torch.get_rng_state().clone(),
            torch.get_num_threads())

names = ("matplotlib rcParams", "warning filters", "Python random state",
         "NumPy random state", "torch random state", "torch threads")
for module in sys.argv[1:]:
    before = snapshot()
    importlib.import_module("course_utils." + module)
    after = snapshot()
    same = (before[0] == after[0], before[1] == after[1], before[2] == after[2],
            bool((before[3] == after[3]).all()), torch.equal(before[4], after[4]),
            before[5] == after[5])
    print(module + ":" + ";".join(n for n, ok in zip(names, same) if not ok))
"""


def test_every_module_is_found():
    assert {"data", "plotting", "training", "pes"} <= set(MODULES)


@pytest.fixture(scope="module")
def import_report():
    """Import every module in one fresh interpreter, each judged on its own."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *MODULES], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if ":" in line]
    return dict(line.split(":", 1) for line in lines)


@pytest.mark.parametrize("module", MODULES)
def test_import_has_no_side_effects(import_report, module):
    assert module in import_report, f"course_utils.{module} was not imported"
    changed = import_report[module]
    assert changed == "", f"importing course_utils.{module} changed: {changed}"
