"""The exercises open in Colab like the chapters do: the Colab-only set-up cell comes first.

The cell is the one ``.ci/colab_cell.py`` writes into the chapters; in an exercise it is also
locked for nbgrader (so autograding restores it) and reaches the student version through
``make release``.
"""

import sys

import nbformat
import pytest
from conftest import ROOT

EXERCISES = ["digit_classifier", "pes_refit"]


def _colab_cell():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import colab_cell
    finally:
        sys.path.pop(0)
    return colab_cell


@pytest.mark.parametrize("edition", ["solutions", "exercises"])
@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_starts_with_the_colab_cell(edition, name):
    colab_cell = _colab_cell()
    path = ROOT / edition / name / f"{name}.ipynb"
    assert colab_cell.problems(path) is None, (
        f"{path.relative_to(ROOT)}: {colab_cell.problems(path)}"
    )
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[colab_cell._find(nb)]
    grading = cell.metadata.get("nbgrader", {})
    assert grading.get("locked") and not grading.get("solution") and not grading.get("grade"), (
        "the Colab cell must be a locked, ungraded nbgrader cell"
    )
