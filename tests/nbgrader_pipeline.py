"""Helpers for testing the course's nbgrader exercises (not a test module).

The exercise test files (test_exercise_*.py) keep what is particular to their
exercise: the points per test cell, the submissions, the expected scores and
messages.  What every exercise is checked for, and how a class is graded in a
temporary copy of the course, lives here:

* :class:`Exercise` names an assignment and the points of its test cells;
* notebook helpers: :func:`grade_id`, :func:`cell`, :func:`solved_release`, :func:`variant`;
* checks of the release: :func:`check_same_cells`, :func:`check_release_hides_solutions`,
  :func:`check_committed_release`;
* grading a class: :func:`graded_fixture` (a module-scoped ``graded`` fixture),
  :func:`check_graded_or_reported`, :func:`check_scores`, :func:`record_autograde_time`,
  :func:`check_written_answer_waits`, :func:`feedback`,
  :func:`check_feedback_hides_hidden_tests`, :func:`validate`;
* :func:`network_failure_cases`: the broken models every exercise's model check rejects.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from course_grader import grade_assignment, hidden_test_lines, run_nbgrader
from course_grader.notebooks import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    MARKERS,
    SOLUTION_BEGIN,
    SOLUTION_END,
    marked_lines,
)

#: What nbgrader strips from a release (and from feedback).


@dataclass(frozen=True)
class Exercise:
    """An nbgrader assignment of the course and the points of its test cells."""

    assignment: str
    points: dict[str, int]

    @property
    def source(self) -> Path:
        """The instructor's version, solutions/<assignment>/<assignment>.ipynb."""
        return ROOT / "solutions" / self.assignment / f"{self.assignment}.ipynb"

    @property
    def release(self) -> Path:
        """The committed release, exercises/<assignment>/<assignment>.ipynb."""
        return ROOT / "exercises" / self.assignment / f"{self.assignment}.ipynb"

    def zero(self, *cells: str) -> dict[str, int]:
        """Full points per test cell, but 0 for ``cells``: an expected score table."""
        return {c: (0 if c in cells else points) for c, points in self.points.items()}


# -- notebooks --------------------------------------------------------------------------------


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def cell(nb, grade_id_):
    return next(c for c in nb.cells if grade_id(c) == grade_id_)


def without_markers(source: str) -> str:
    return "\n".join(
        line
        for line in source.splitlines()
        if SOLUTION_BEGIN not in line and SOLUTION_END not in line
    )


def solved_release(exercise: Exercise):
    """(source, release, solved): the notebooks, and the release with every answer cell
    filled in from the reference solution, as a student would hand it in."""
    source = nbformat.read(exercise.source, as_version=4)
    release = nbformat.read(exercise.release, as_version=4)
    solved = copy.deepcopy(release)
    for c in solved.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = without_markers(cell(source, grade_id(c)).source)
    return source, release, solved


def variant(nb, **answers):
    """A copy of ``nb`` with the cells named by grade_id given new sources."""
    nb = copy.deepcopy(nb)
    for grade_id_, text in answers.items():
        cell(nb, grade_id_).source = text
    return nb


def copy_course(assignment: str, dest: Path) -> Path:
    """nbgrader_config.py, solutions/ and exercises/ of one assignment, copied to ``dest``."""
    from course_grader.course import copy_course as _copy_course

    return _copy_course(ROOT, dest, [assignment])


# -- the release, without running anything ----------------------------------------------------


def check_same_cells(exercise: Exercise, written_points: int = 4):
    """Source and release hold the same cells; the test cells carry ``exercise.points`` and
    one markdown cell, ``written_answer``, is graded by hand.  Returns the source."""
    source = nbformat.read(exercise.source, as_version=4)
    release = nbformat.read(exercise.release, as_version=4)
    assert [grade_id(c) for c in source.cells] == [grade_id(c) for c in release.cells]
    graded = {
        grade_id(c): c.metadata.nbgrader
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    assert {g: m["points"] for g, m in graded.items() if g.startswith("test_")} == exercise.points
    written = [g for g, m in graded.items() if m.get("solution")]
    assert written == ["written_answer"] and graded["written_answer"]["points"] == written_points
    assert cell(source, "written_answer").cell_type == "markdown"
    return source


def check_release_hides_solutions(exercise: Exercise):
    """The release holds no nbgrader marker, no solution line and no hidden-test line,
    and has the placeholders for the student.  Returns the source."""
    text = exercise.release.read_text()
    assert not [m for m in MARKERS if m in text]
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    source = nbformat.read(exercise.source, as_version=4)
    regions = ((SOLUTION_BEGIN, SOLUTION_END), (HIDDEN_BEGIN, HIDDEN_END))
    secrets = marked_lines([exercise.source], regions, min_length=20)
    assert len(secrets) > 20, "the check would be nearly empty"
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"solution or hidden-test lines in the release: {leaked[:3]}"
    return source


def check_committed_release(exercise: Exercise, tmp_path: Path) -> None:
    """exercises/<assignment>/ is byte for byte what nbgrader generates from solutions/."""
    assignment = exercise.assignment
    course = copy_course(assignment, tmp_path)
    shutil.rmtree(course / "exercises")
    code, log = run_nbgrader(["generate_assignment", assignment, "--force", "--no-db"], course)
    assert code == 0, log
    generated = sorted(
        p.relative_to(course) for p in (course / "exercises").rglob("*") if p.is_file()
    )
    committed = sorted(
        p.relative_to(ROOT) for p in (ROOT / "exercises" / assignment).rglob("*") if p.is_file()
    )
    assert generated == committed, "exercises/ holds other files than nbgrader generates"
    for rel in generated:
        assert (course / rel).read_bytes() == (ROOT / rel).read_bytes(), (
            f"{rel} differs from what nbgrader generates from solutions/: run "
            f"`make release` (nbgrader generate_assignment {assignment} --force --no-db)"
        )
    assert not (course / "gradebook.db").exists()


# -- grading a class ----------------------------------------------------------------------------


def graded_fixture(
    exercise: Exercise, submissions: Callable[[], dict[str, str]], extra_config: str = ""
):
    """A module-scoped ``graded`` fixture: one grading run over ``submissions()`` (student
    -> notebook text) in a temporary copy of the course, ``extra_config`` appended to its
    nbgrader_config.py.  The fixture returns (report, course folder)."""

    @pytest.fixture(scope="module")
    def graded(tmp_path_factory):
        """One grading run over all submissions; returns (report, course folder)."""
        assignment = exercise.assignment
        course = copy_course(assignment, tmp_path_factory.mktemp(f"{assignment}_course"))
        if extra_config:
            with open(course / "nbgrader_config.py", "a") as f:
                f.write(extra_config)
        for student, text in submissions().items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            (folder / f"{assignment}.ipynb").write_text(text)
        # One thread per kernel: a shared test machine makes PyTorch's thread pool crawl.
        report = grade_assignment(assignment, course, extra_env={"OMP_NUM_THREADS": "1"}, echo=None)
        assert not (ROOT / "gradebook.db").exists() and not (ROOT / "submitted").exists()
        return report, course

    return graded


def check_graded_or_reported(
    report, students: Iterable[str], failed: set[str], errors: dict[str, str]
) -> None:
    """Every student has a result; exactly ``failed`` could not be graded, each student in
    ``errors`` with an error message containing the given text."""
    assert sorted(r.student for r in report.results) == sorted(students)
    assert {r.student for r in report.failed} == failed
    for student, text in errors.items():
        assert text in report.result(student).error


def cell_scores(exercise: Exercise, course: Path, student: str) -> dict[str, float]:
    """The student's score per test cell, from the course's gradebook."""
    from nbgrader.api import Gradebook

    assignment = exercise.assignment
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.score for g in notebook.grades if g.name in exercise.points}


def check_scores(
    exercise: Exercise, graded, student: str, expected: dict[str, int], max_code_score: int
) -> None:
    """The gradebook and the report hold ``expected`` (points per test cell) for ``student``."""
    report, course = graded
    assert cell_scores(exercise, course, student) == expected
    result = report.result(student)
    assert result.code_score == sum(expected.values())
    assert result.max_code_score == max_code_score


def record_autograde_time(graded, record_property, budget: float = 90) -> None:
    """Record (and print) how long autograding the student "reference" took."""
    report, _ = graded
    seconds = report.result("reference").seconds
    record_property("reference_autograde_seconds", round(seconds, 1))
    print(f"\nautograding the reference solution took {seconds:.1f} s (budget: {budget:.0f} s)")


def check_written_answer_waits(exercise: Exercise, graded) -> None:
    """The written answer of "reference" waits for an instructor; the blank one of
    "untouched" is scored 0 with nothing to read."""
    from nbgrader.api import Gradebook

    report, course = graded
    assignment = exercise.assignment
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        answered = gb.find_grade("written_answer", assignment, assignment, "reference")
        blank = gb.find_grade("written_answer", assignment, assignment, "untouched")
        assert answered.auto_score is None and answered.needs_manual_grade
        assert blank.auto_score == 0 and not blank.needs_manual_grade  # nothing to read
    assert report.result("reference").needs_manual_grade


def feedback(exercise: Exercise, course: Path, student: str) -> str:
    """The HTML feedback nbgrader generated for ``student``."""
    assignment = exercise.assignment
    return (course / "feedback" / student / assignment / f"{assignment}.html").read_text()


def check_feedback_hides_hidden_tests(
    exercise: Exercise, course: Path, students: Iterable[str]
) -> None:
    """The feedback of ``students`` shows no nbgrader marker and no hidden-test line."""
    secrets = hidden_test_lines([exercise.source])
    for student in students:
        page = feedback(exercise, course, student)
        assert not [m for m in MARKERS if m in page], student
        plain = re.sub(r"<[^>]+>", "", page)
        assert not [s for s in secrets if s in plain], student


def validate(exercise: Exercise, tmp_path: Path, notebooks: dict) -> dict:
    """What the Validate button reports for each of ``notebooks`` (name -> notebook), with
    the course's nbgrader_config.py."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    results = {}
    for name, nb in notebooks.items():
        (tmp_path / name).mkdir()
        path = tmp_path / name / f"{exercise.assignment}.ipynb"
        nbformat.write(nb, path)
        results[name] = Validator(config=config).validate(str(path))
    return results


# -- the model checks of course_utils.checks -----------------


def network_failure_cases(model_class) -> list[tuple[object, str]]:
    """(model, message fragment) pairs that every exercise's model check must reject.

    ``model_class(how)`` is a network that returns NaN for ``"nan"``, a NumPy array for
    ``"numpy"`` and raises ``RuntimeError("this network is broken")`` for ``"raise"``.
    """
    return [
        (model_class("nan"), "NaN"),
        (model_class("numpy"), "should return a torch.Tensor"),
        (model_class("raise"), "RuntimeError: this network is broken"),
        (model_class, f"is the class {model_class.__name__}"),
        ("a string", "must be a PyTorch network"),
    ]
