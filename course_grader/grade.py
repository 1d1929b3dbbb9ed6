"""Autograde a whole class with nbgrader, robustly, in one command.

Run from the course's root folder (the one with ``nbgrader_config.py``)::

    python -m course_grader digit_classifier     # or: make grade A=digit_classifier

It expects the submissions as nbgrader lays them out,
``submitted/<student>/<assignment>/<notebook>.ipynb`` (``nbgrader zip_collect``
turns an LMS download into that layout), and then

1. registers the assignment in the gradebook (``nbgrader generate_assignment``,
   writing its release to a temporary folder so ``exercises/`` is left alone);
2. autogrades each student in a process of its own (``nbgrader autograde
   --student``), so that a notebook that loops forever, kills its kernel or is
   not valid JSON fails alone and everyone else is still graded; a student
   whose grading fails gets 0 automatic points, marked for manual review;
3. generates the feedback (``nbgrader generate_feedback``) without the hidden
   tests: besides nbgrader's own ``ClearHiddenTests``, :class:`ClearHiddenTracebacks`
   cuts the tracebacks of hidden-test cells down to their error message (a
   traceback shows the source lines around the failing one), and feedback that
   still contains hidden-test text (because the student's code printed files
   it should not read) is withheld;
4. exports ``grades.csv`` (``nbgrader export``);
5. prints a summary: who was graded with which score, whose grading failed
   and why, and whose code does something a student's code should not (reaches
   into the kernel, patches functions, reads grading files...), for an
   instructor to read.

Student code runs on the grader's machine with the grader's rights: nbgrader
does not sandbox it, and neither does this module. Grade in a container or as
an unprivileged user that cannot write to the course folder.

For scripts and tests, :func:`grade_assignment` does all of the above and
returns a :class:`GradingReport`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import FEEDBACK_PREPROCESSORS, _html_text
from .notebooks import _code_of, _protected_ids, hidden_test_lines
from .scan import _edited_cells, scan_submission

_FAILURE_REASONS = (
    (
        "DeadKernelError",
        "its kernel died: the notebook exits or kills Python "
        "(os._exit, a crash, running out of memory)",
    ),
    (
        "Kernel died",
        "its kernel died: the notebook exits or kills Python "
        "(os._exit, a crash, running out of memory)",
    ),
    ("JSONDecodeError", "the notebook file is not valid JSON (broken or not a notebook)"),
    ("NotJSONError", "the notebook file is not valid JSON (broken or not a notebook)"),
    ("NBFormatError", "the file is not a valid Jupyter notebook"),
    ("ValidationError", "the file is not a valid Jupyter notebook"),
    (
        "CellTimeoutError",
        "a cell kept running after its time limit and ignored the "
        "interrupt (infinite loop that blocks interrupts?)",
    ),
    ("UnresponsiveKernelError", "the kernel stopped responding"),
)


@dataclass
class StudentResult:
    """Outcome of autograding one student's submission."""

    student: str
    graded: bool
    seconds: float
    code_score: float | None = None
    max_code_score: float | None = None
    needs_manual_grade: bool = False
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    feedback: Path | None = None
    log: str = ""


@dataclass
class GradingReport:
    """Outcome of :func:`grade_assignment` for a whole class."""

    assignment: str
    course_dir: Path
    results: list[StudentResult]
    seconds: float
    grades_csv: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[StudentResult]:
        """Submissions whose autograding failed."""
        return [r for r in self.results if not r.graded]

    def result(self, student: str) -> StudentResult:
        """The result of one student (KeyError if they have no submission)."""
        for r in self.results:
            if r.student == student:
                return r
        raise KeyError(f"no submission of student {student!r} was graded")

    def summary(self) -> str:
        """A plain-text report for the instructor."""
        lines = [
            f"Autograded '{self.assignment}': {len(self.results)} submission(s) "
            f"in {self.seconds:.0f} s.",
            "",
        ]
        width = max([len("student")] + [len(r.student) for r in self.results])
        lines.append(f"{'student':<{width}}  {'result':<8} {'automatic points':>16}  time")
        for r in self.results:
            score = (
                f"{r.code_score:g} / {r.max_code_score:g}"
                if r.code_score is not None and r.max_code_score is not None
                else "-"
            )
            lines.append(
                f"{r.student:<{width}}  {'graded' if r.graded else 'FAILED':<8} "
                f"{score:>16}  {r.seconds:4.0f} s"
            )
        if self.failed:
            lines += ["", "Could not be graded (0 automatic points, marked for manual grading):"]
            lines += [f"  {r.student}: {r.error}" for r in self.failed]
        flagged = [r for r in self.results if r.flags]
        if flagged:
            lines += ["", "Read these notebooks yourself before you publish the grades:"]
            for r in flagged:
                lines += [f"  {r.student}: {flag}" for flag in r.flags]
        manual = sum(r.needs_manual_grade for r in self.results)
        if manual:
            lines += [
                "",
                f"{manual} submission(s) have answers to grade by hand "
                "(nbgrader's formgrader lists them).",
            ]
        if self.problems:
            lines += ["", "Problems:"] + [f"  {p}" for p in self.problems]
        if self.grades_csv is not None:
            lines += ["", f"Grades: {self.grades_csv}"]
        lines.append(f"Feedback: {self.course_dir / 'feedback'}/<student>/{self.assignment}/")
        return "\n".join(lines)


def course_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the course's commands run in: this Python's bin first, quiet progress."""
    env = dict(os.environ)
    # nbgrader runs `alembic` (to create the gradebook) from PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    env["COURSE_PROGRESS"] = "0"
    env.update(extra_env or {})
    return env


def run_nbgrader(
    args: Sequence[str],
    course_dir: str | Path,
    *,
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``nbgrader <args>`` in ``course_dir`` and return ``(exit code, output)``.

    The command runs in a process group of its own; if it takes longer than
    ``timeout`` seconds, the whole group is killed and the exit code is -9.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=course_dir,
        env=course_env(extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover (Windows)
            proc.kill()
        out, _ = proc.communicate()
        if isinstance(exc, KeyboardInterrupt):
            raise
        return -9, out + f"\n[grading] stopped after {timeout:.0f} s\n"
    return proc.returncode, out


def _load_coursedir(course_dir: Path):
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (course_dir / "nbgrader_config.py").is_file():
        raise FileNotFoundError(
            f"{course_dir} has no nbgrader_config.py: run this from the course's root folder "
            "or pass --course-dir."
        )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course_dir)
    return coursedir


def _failure_reason(log: str) -> str:
    if "[grading] stopped after" in log:
        return log.strip().splitlines()[-1].replace("[grading] ", "grading was ")
    for marker, reason in _FAILURE_REASONS:
        if marker in log:
            return reason
    errors = [
        line.strip()
        for line in log.splitlines()
        if re.match(r"\s*\w+(\.\w+)*(Error|Exception)\b", line.strip())
    ]
    if errors:
        return errors[-1][:300]
    lines = [line for line in log.strip().splitlines() if "ERROR" in line]
    return (lines[-1] if lines else "nbgrader failed without a message")[:300]


def _read_scores(coursedir, assignment: str, result: StudentResult) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, result.student)
        except MissingEntry:
            return
        if not result.graded:
            # Nothing the autograder saw counts: 0 automatic points, and the
            # formgrader lists the submission for a human to look at.
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type == "code":
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = True
            gb.db.commit()
        result.code_score = float(submission.code_score)
        result.max_code_score = float(submission.max_code_score)
        result.needs_manual_grade = bool(submission.needs_manual_grade)


def grade_assignment(
    assignment: str,
    course_dir: str | Path = ".",
    *,
    students: Sequence[str] | None = None,
    student_timeout: float = 1800.0,
    feedback: bool = True,
    export: bool = True,
    extra_env: dict[str, str] | None = None,
    echo: Callable[[str], None] | None = print,
) -> GradingReport:
    """Autograde every submission of ``assignment``, one student at a time.

    Parameters
    ----------
    assignment : str
        The assignment's name, e.g. ``"digit_classifier"`` (a folder in the
        course's source directory, ``solutions/``).
    course_dir : path
        The course's root folder, with ``nbgrader_config.py``.
    students : sequence of str, optional
        Grade only these students; by default everyone with a folder
        ``submitted/<student>/<assignment>/``.
    student_timeout : float
        Seconds after which one student's grading is stopped, whatever the
        per-cell limit (``Execute.timeout`` in ``nbgrader_config.py``) says.
    feedback : bool
        Generate feedback for the graded submissions.
    export : bool
        Write ``grades.csv`` in the course folder.
    extra_env : dict, optional
        Extra environment variables for nbgrader and the kernels it starts
        (for example ``{"OMP_NUM_THREADS": "1"}`` on a busy machine).
    echo : callable or None
        Called with a line of progress per student; ``None`` for silence.

    Returns
    -------
    GradingReport
        Per-student results (scores as stored in the gradebook) and a summary.
    """
    start = time.perf_counter()
    say = echo or (lambda line: None)
    course_dir = Path(course_dir).resolve()
    coursedir = _load_coursedir(course_dir)
    source_dir = course_dir / coursedir.source_directory / assignment
    sources = sorted(source_dir.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no source notebooks in {source_dir}: is {assignment!r} right?")
    submitted = course_dir / coursedir.submitted_directory
    found = (
        sorted(
            p.name
            for p in submitted.glob("*")
            if (p / assignment).is_dir() and not p.name.startswith(".")
        )
        if submitted.is_dir()
        else []
    )
    if students is not None:
        missing = sorted(set(students) - set(found))
        if missing:
            raise FileNotFoundError(f"no submission of {assignment!r} for {', '.join(missing)}")
        found = [s for s in found if s in set(students)]
    report = GradingReport(assignment, course_dir, [], 0.0)
    if not found:
        report.problems.append(
            f"no submissions found in {submitted}/<student>/{assignment}/ "
            "(nbgrader zip_collect sorts an LMS download into that layout)"
        )
        report.seconds = time.perf_counter() - start
        return report

    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        _grade_all(
            report,
            coursedir,
            found,
            sources,
            Path(scratch),
            student_timeout,
            feedback,
            students is not None,
            extra_env,
            say,
        )
    # 4. Export the grades.
    if export:
        csv = course_dir / "grades.csv"
        code, log = run_nbgrader(
            ["export", f"--to={csv}"], course_dir, timeout=600, extra_env=extra_env
        )
        if code == 0 and csv.exists():
            report.grades_csv = csv
        else:
            report.problems.append(f"nbgrader export failed: {_failure_reason(log)}")
    report.seconds = time.perf_counter() - start
    return report


def _grade_all(
    report,
    coursedir,
    found,
    sources,
    scratch,
    student_timeout,
    feedback,
    one_by_one,
    extra_env,
    say,
) -> None:
    """Steps 1-3 of :func:`grade_assignment`; ``scratch`` receives the release."""
    assignment, course_dir = report.assignment, report.course_dir
    submitted = course_dir / coursedir.submitted_directory
    # 1. Register the assignment in the gradebook; its release goes to a scratch folder.
    code, log = run_nbgrader(
        [
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.release_directory={scratch}",
        ],
        course_dir,
        timeout=600,
        extra_env=extra_env,
    )
    if code != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{log[-3000:]}")

    # 2. Autograde one student at a time.
    secrets = hidden_test_lines(sources)
    protected = _protected_ids(sources)
    for i, student in enumerate(found, start=1):
        folder = submitted / student / assignment
        flags = []
        for nb in sorted(folder.glob("*.ipynb")):
            flags += _edited_cells(nb, scratch / assignment / nb.name, protected)
            flags += scan_submission(nb, protected)
        t0 = time.perf_counter()
        code, log = run_nbgrader(
            ["autograde", assignment, "--student", student, "--force"],
            course_dir,
            timeout=student_timeout,
            extra_env=extra_env,
        )
        result = StudentResult(student, code == 0, time.perf_counter() - t0, flags=flags, log=log)
        if not result.graded:
            result.error = _failure_reason(log)
        _read_scores(coursedir, assignment, result)
        report.results.append(result)
        outcome = (
            f"{result.code_score:g}/{result.max_code_score:g} automatic points"
            if result.graded
            else f"FAILED: {result.error}"
        )
        say(
            f"[{i}/{len(found)}] {student}: {outcome} ({result.seconds:.0f} s)"
            + (" - flagged for review" if flags else "")
        )

    # 3. Feedback without hidden tests (one nbgrader run for the whole class).
    graded = [r for r in report.results if r.graded]
    if feedback and graded:
        options = [f"--GenerateFeedback.preprocessors={p}" for p in FEEDBACK_PREPROCESSORS]
        who = [["--student", r.student] for r in graded] if one_by_one else [[]]
        logs = [
            run_nbgrader(
                ["generate_feedback", assignment, "--force", *w, *options],
                course_dir,
                timeout=3600,
                extra_env=extra_env,
            )[1]
            for w in who
        ]
        for r in graded:
            folder = Path(
                coursedir.format_path(coursedir.feedback_directory, r.student, assignment)
            )
            pages = sorted(folder.glob("*.html"))
            if not pages:
                report.problems.append(f"no feedback for {r.student}: {_failure_reason(logs[-1])}")
                continue
            own_code = _code_of(submitted / r.student / assignment)
            leaked = sorted(
                line
                for page in pages
                for line in secrets
                if line in _html_text(page) and line not in own_code
            )
            if leaked:
                for page in pages:
                    page.unlink()
                r.flags.append(
                    f"its output contains hidden-test code (e.g. {leaked[0]!r}); feedback withheld"
                )
                continue
            r.feedback = folder


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m course_grader <assignment> [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_grader",
        description="Autograde all submissions of an nbgrader assignment, generate "
        "feedback without hidden tests and export grades.csv.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. digit_classifier")
    parser.add_argument("--course-dir", default=".", help="course root with nbgrader_config.py")
    parser.add_argument(
        "--student", action="append", dest="students", help="grade only this student (repeatable)"
    )
    parser.add_argument(
        "--student-timeout",
        type=float,
        default=1800.0,
        help="seconds before one student's grading is stopped (default 1800)",
    )
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    args = parser.parse_args(argv)
    try:
        report = grade_assignment(
            args.assignment,
            args.course_dir,
            students=args.students,
            student_timeout=args.student_timeout,
            feedback=not args.no_feedback,
        )
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(report.summary())
    return 1 if report.failed or not report.results else 0
