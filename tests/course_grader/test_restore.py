"""Deleted test cells are put back before autograding (course_grader.restore)."""

import nbformat
import pytest
from tiny_assignment import NAME, POINTS, nbgrader, score, tiny_course

from course_grader.restore import RestoreDeletedCells, _grade_id


def test_the_course_config_uses_it():
    from conftest import ROOT
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    steps = config.Autograde.sanitize_preprocessors
    assert "course_grader.restore.RestoreDeletedCells" in steps
    assert "nbgrader.preprocessors.OverwriteCells" not in steps
    assert RestoreDeletedCells().add_missing_cells


@pytest.mark.slow
def test_a_deleted_test_cell_is_put_back_and_run_with_its_hidden_tests(tmp_path):
    course = tiny_course(tmp_path)
    run = nbgrader("generate_assignment", NAME, "--force", cwd=course)
    assert run.returncode == 0, run.stdout + run.stderr
    release = nbformat.read(course / "exercises" / NAME / f"{NAME}.ipynb", as_version=4)
    # The test cell follows a read-only heading, where nbgrader's own option fails.
    assert [_grade_id(c) for c in release.cells][-2:] == ["tests_heading", "test_double"]
    answers = {
        "right": "def double(x):\n    return 2 * x",
        "hidden_fails": "def double(x):\n    return 4 if x == 2 else 0",
    }
    for student, answer in answers.items():
        nb = nbformat.from_dict(release)
        nb.cells[1].source = answer
        nb.cells = [c for c in nb.cells if _grade_id(c) != "test_double"]
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")
    run = nbgrader("autograde", NAME, "--force", cwd=course)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "was deleted from the submission: putting it back" in run.stdout + run.stderr
    assert score(course, "right") == POINTS
    assert score(course, "hidden_fails") == 0  # the restored cell ran, hidden tests included
    graded = nbformat.read(course / "autograded" / "right" / NAME / f"{NAME}.ipynb", 4)
    assert [_grade_id(c) for c in graded.cells][-2:] == ["tests_heading", "test_double"]
