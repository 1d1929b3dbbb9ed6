"""Put deleted test cells back before autograding.

nbgrader restores test cells a student *edited* (``OverwriteCells``), but a
test cell the student *deleted* is simply missing, and its points are lost,
unless ``OverwriteCells.add_missing_cells`` is on.  That option places the
cell after the source cell just before it, and fails with a ``KeyError`` when
that cell is a read-only text cell (nbgrader 0.9.6 only looks at answer and
test cells), which is where both exercises put some tests.  So the whole
submission would fail to grade.

:class:`RestoreDeletedCells` is ``OverwriteCells`` with deleted test cells put
back after the nearest earlier cell the submission still has (any nbgrader
cell, read-only ones included), or at the top.  ``nbgrader_config.py`` puts it
in ``Autograde.sanitize_preprocessors`` in place of ``OverwriteCells``.
"""

from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool

#: nbgrader's autograde clean-up steps, with deleted test cells put back.
SANITIZE_PREPROCESSORS = (
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course_grader.restore.RestoreDeletedCells",
    "nbgrader.preprocessors.CheckCellMetadata",
)


def _grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


class RestoreDeletedCells(OverwriteCells):
    """``OverwriteCells`` that also puts deleted test cells back, wherever they were."""

    add_missing_cells = Bool(True, help="Put deleted test cells back.").tag(config=True)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        source = {cell.name: cell for cell in source_nb.source_cells}
        grades = {cell.name: cell for cell in source_nb.grade_cells}
        solutions = {cell.name for cell in source_nb.solution_cells}
        for index, name in enumerate(order):
            present = [_grade_id(cell) for cell in nb.cells]
            if name not in grades or name in present:
                continue
            earlier = (order[j] for j in range(index - 1, -1, -1))
            position = next((present.index(e) + 1 for e in earlier if e in present), 0)
            self.log.warning("Cell %s was deleted from the submission: putting it back", name)
            nb.cells.insert(
                position,
                self.missing_cell_transform(
                    source[name], grades[name].max_score, is_solution=name in solutions
                ),
            )
        return nb, resources
