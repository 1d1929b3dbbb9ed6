"""Helpers for testing the course's nbgrader exercises (not a test module).

The exercise test files (test_exercise_*.py) keep what is particular to their
exercise: the points per test cell, the submissions, the expected scores and
messages.  What every exercise is checked for, and how a class is graded in a
temporary copy of the course, lives here:

* :class:`Exercise` names an assignment and the points of its test cells;
* notebook helpers: :func:`grade_id`, :func:`cell`, :func:`solved_release`, :func:`variant`;
* checks of the release: :func:`check_same_cells`, :func:`check_release_hides_solutions`,
  :func:`check_committed_release`;
* grading a class: :func:`check_graded_or_reported`, :func:`check_scores`,
  :func:`record_autograde_time`, :func:`check_written_answer_waits`, :func:`feedback`,
  :func:`check_feedback_hides_hidden_tests`, :func:`validate`;
* :class:`ExerciseTests`: the tests every exercise gets; an exercise's test module
  subclasses it (``class TestDigitClassifier(ExerciseTests)``), describes the exercise in
  class attributes and adds the tests particular to it;
* :func:`network_failure_cases`: the broken models every exercise's model check rejects.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from course_grader import grade_assignment, hidden_test_lines, run_nbgrader
from course_grader.notebooks import (
    SOLUTION_BEGIN,
    SOLUTION_END,
    markers_in,
    secret_lines,
)


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
    assert not markers_in(text)
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    source = nbformat.read(exercise.source, as_version=4)
    secrets = secret_lines([exercise.source], min_length=20)
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
        assert not markers_in(page), student
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


# -- the tests every exercise gets --------------------------------------------------------------


class ExerciseTests:
    """The tests every nbgrader exercise of the course gets.

    An exercise's test module subclasses it as ``Test<Exercise>`` and sets the class
    attributes below and :meth:`submissions`.  The release tests read files only; the
    others share one grading run of the whole class (the class-scoped ``graded``
    fixture) and are marked slow.
    """

    exercise: Exercise
    #: student -> expected points per test cell; there must be a "reference" (the solution),
    #: an "untouched" (the release as handed out) and an "untrained" submission.
    expected: dict[str, dict[str, int]]
    #: The grade ids of the hidden tier tests and their thresholds, as the checks define them.
    tiers: tuple[str, ...]
    tier_values: tuple[float, ...]
    #: A regular expression for the tier test's call; group 1 is the threshold.
    tier_call: str
    #: Appended to the copy's nbgrader_config.py for the grading run.
    extra_config: str = ""
    #: student -> a sentence that student's feedback must contain.
    feedback_says: dict[str, str] = {}
    #: The answer cells (grade id -> source) that Validate must reject in an untrained
    #: notebook, the messages of the failed tests in order, and extra environment variables.
    wrong_answer: dict[str, str] = {}
    wrong_answer_errors: tuple[str, ...] = ()
    validate_env: dict[str, str] = {}

    def submissions(self) -> dict[str, str]:
        """student -> the text of the notebook handed in."""
        raise NotImplementedError

    def tier_prose(self, tier: float) -> str:
        """How the task-4 instructions state ``tier``."""
        raise NotImplementedError

    def pytest_generate_tests(self, metafunc):
        if "student" in metafunc.fixturenames:
            metafunc.parametrize("student", sorted(self.expected))

    # -- the release, without running anything

    def test_release_and_source_hold_the_same_cells(self):
        check_same_cells(self.exercise)

    def test_hidden_tiers_are_the_documented_ones(self):
        source = nbformat.read(self.exercise.source, as_version=4)
        release = nbformat.read(self.exercise.release, as_version=4)
        thresholds = [
            float(re.search(self.tier_call, cell(source, tier).source).group(1))
            for tier in self.tiers
        ]
        assert thresholds == list(self.tier_values)
        intro = cell(source, "task4").source
        for tier in self.tier_values:
            assert self.tier_prose(tier) in intro
        for tier in self.tiers:  # students see only a comment: the check itself is hidden
            lines = [line for line in cell(release, tier).source.splitlines() if line.strip()]
            assert lines and all(line.startswith("#") for line in lines)

    def test_release_contains_no_solution_or_hidden_test(self):
        check_release_hides_solutions(self.exercise)

    @pytest.mark.slow
    def test_committed_release_is_what_nbgrader_generates(self, tmp_path):
        check_committed_release(self.exercise, tmp_path)

    # -- grading a class

    @pytest.fixture(scope="class")
    def graded(self, tmp_path_factory):
        """One grading run over all submissions in a temporary copy of the course;
        returns (report, course folder)."""
        assignment = self.exercise.assignment
        course = copy_course(assignment, tmp_path_factory.mktemp(f"{assignment}_course"))
        if self.extra_config:
            with open(course / "nbgrader_config.py", "a") as f:
                f.write(self.extra_config)
        for student, text in self.submissions().items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            (folder / f"{assignment}.ipynb").write_text(text)
        # One thread per kernel: a shared test machine makes PyTorch's thread pool crawl.
        report = grade_assignment(assignment, course, extra_env={"OMP_NUM_THREADS": "1"}, echo=None)
        assert not (ROOT / "gradebook.db").exists() and not (ROOT / "submitted").exists()
        return report, course

    @pytest.mark.slow
    def test_scores_per_test_cell(self, graded, student):
        max_code_score = sum(self.exercise.points.values())
        check_scores(self.exercise, graded, student, self.expected[student], max_code_score)

    @pytest.mark.slow
    def test_reference_autograde_time_is_recorded(self, graded, record_property):
        record_autograde_time(graded, record_property)

    @pytest.mark.slow
    def test_written_answer_waits_for_an_instructor(self, graded):
        check_written_answer_waits(self.exercise, graded)

    @pytest.mark.slow
    def test_feedback_explains_failures_without_hidden_tests(self, graded):
        report, course = graded
        graded_students = [r.student for r in report.results if r.graded]
        check_feedback_hides_hidden_tests(self.exercise, course, graded_students)
        for student, sentence in self.feedback_says.items():
            assert sentence in feedback(self.exercise, course, student), student

    @pytest.mark.slow
    def test_validate_button_checks_the_visible_tests(self, tmp_path, monkeypatch):
        """What the Validate button runs: the visible tests pass for an untrained network
        (the tiers are hidden), and a wrong answer is reported with its messages."""
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        for name, value in self.validate_env.items():
            monkeypatch.setenv(name, value)
        untrained = nbformat.reads(self.submissions()["untrained"], 4)
        wrong = variant(untrained, **self.wrong_answer)
        results = validate(self.exercise, tmp_path, {"untrained": untrained, "wrong": wrong})
        assert results["untrained"] == {}
        failed = results["wrong"]["failed"]
        assert len(failed) == len(self.wrong_answer_errors)
        for failure, message in zip(failed, self.wrong_answer_errors):
            assert message in failure["raw_error"]


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
