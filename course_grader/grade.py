"""Autograde a whole class with nbgrader, robustly, in one command.

Run from the course's root folder (the one with ``nbgrader_config.py``)::

    python -m course_grader digit_classifier     # or: make grade A=digit_classifier

It expects the submissions as nbgrader lays them out,
``submitted/<student>/<assignment>/<notebook>.ipynb`` (``nbgrader zip_collect``
turns an LMS download into that layout), and then

1. registers the assignment in the gradebook (``nbgrader generate_assignment``,
   writing its release to a temporary folder so ``exercises/`` is left alone);
2. grades each student with :func:`course_grader.student.grade_student`, ``jobs`` at a
   time or on the workers of a Dask scheduler (:mod:`course_grader.parallel`), each in a
   private course folder whose grades only this process writes into the gradebook: a student id
   nbgrader would misread is rejected with a reason, a folder without the expected
   notebook gets 0 points with a reason, and every other submission is autograded
   by ``nbgrader autograde --student`` with its notebook executed in a bubblewrap
   sandbox (:mod:`course_grader.sandbox`): no network, no view of the course folder,
   the gradebook or other students, limits on memory, CPU, processes and output,
   and nothing it starts outlives it.  A notebook that loops past a cell's time
   limit, kills its kernel or is not valid JSON fails alone, with a reason: 0
   automatic points, marked for manual review.  Where no sandbox can run, grading
   refuses to start unless ``unsafe=True`` (``--unsafe``);
3. writes each student's reasons and flags into the gradebook (the automatic
   comment of the notebook's first cell, shown by the Formgrader) and generates
   the feedback (``nbgrader generate_feedback``) without the hidden tests: besides
   nbgrader's own ``ClearHiddenTests``, :class:`ClearHiddenTracebacks` cuts the
   tracebacks of hidden-test cells down to their error message, and feedback that
   still contains hidden-test text, or is larger than :data:`MAX_FEEDBACK_BYTES`,
   is withheld;
4. exports ``grades.csv`` (``nbgrader export``) and, next to it,
   ``grading_report.csv``: one row per student folder with its status, reason and flags;
5. prints a summary: who was graded with which score, whose grading failed
   and why, and whose code does something a student's code should not (a static
   scan: a hint for the instructor, not a defence).

For scripts and tests, :func:`grade_assignment` does all of the above and
returns a :class:`GradingReport`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .commands import course_env, failure_reason, load_coursedir, run_nbgrader
from .feedback import FEEDBACK_PREPROCESSORS, _html_text
from .notebooks import _code_of, _protected_ids, hidden_test_lines
from .parallel import CourseBundle, grade_students, pack
from .report import GradingReport, StudentResult, record_notes
from .sandbox import sandbox_problem

__all__ = [
    "GradingReport",
    "SandboxUnavailable",
    "StudentResult",
    "course_env",
    "grade_assignment",
    "main",
    "run_nbgrader",
]

#: Largest feedback page handed out, in bytes (larger ones are withheld, with a flag).
MAX_FEEDBACK_BYTES = 20 * (1 << 20)


class SandboxUnavailable(RuntimeError):
    """No sandbox can run on this machine, and the instructor did not pass ``unsafe=True``."""


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
    unsafe: bool = False,
    memory_limit: int | None = None,
    evaluator=None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> GradingReport:
    """Autograde every submission of ``assignment``, ``jobs`` students at a time, each in a
    sandbox.

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
        Extra environment variables for nbgrader; the thread counts among them
        (for example ``{"OMP_NUM_THREADS": "1"}``) reach the sandboxed kernels.
    echo : callable or None
        Called with a line of progress per student; ``None`` for silence.
    unsafe : bool
        Run student code without a sandbox.  Without it, grading refuses to start
        (:class:`SandboxUnavailable`) where no sandbox can run.
    memory_limit : int, optional
        Bytes of address space per process in the sandbox (default 4 GiB).
    evaluator : course_grader.heldout.Evaluator, optional
        The grader's own evaluation of the model the notebook exports (default: the
        assignment's entry in ``course_grader.heldout.EVALUATORS``, if any).
    jobs : int
        Students graded at once: 1 grades them one after the other in this process; more
        start a Dask ``LocalCluster`` of that many workers.  The results are the
        same (:mod:`course_grader.parallel`).
    scheduler : str, optional
        Address of a running ``dask scheduler`` (e.g. ``"tcp://host:8786"``): its workers,
        on any machine with the course's environment, grade the students instead.

    Returns
    -------
    GradingReport
        Per-student results (scores as stored in the gradebook) and a summary;
        ``grading_report.csv`` beside ``grades.csv`` lists every student folder with
        its status, reason and flags.
    """
    start = time.perf_counter()
    say = echo or (lambda line: None)
    course_dir = Path(course_dir).resolve()
    coursedir = load_coursedir(course_dir)
    source_dir = course_dir / coursedir.source_directory / assignment
    sources = sorted(source_dir.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no source notebooks in {source_dir}: is {assignment!r} right?")
    submitted = course_dir / coursedir.submitted_directory
    found = (
        sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())
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
    problem = sandbox_problem()
    if problem and not unsafe:
        raise SandboxUnavailable(
            f"no sandbox can run here, so no student code is run: {problem}. "
            "Pass --unsafe (unsafe=True) to run it with your rights anyway."
        )
    if problem:
        say(f"WARNING: grading WITHOUT a sandbox ({problem}): student code runs with your rights")

    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        options = dict(
            student_timeout=student_timeout,
            unsafe=unsafe,
            memory_limit=memory_limit,
            evaluator=evaluator,
            jobs=jobs,
            scheduler=scheduler,
        )
        _grade_all(report, coursedir, found, sources, Path(scratch), options, extra_env, echo)
    order = [c for nb in sources for c in _cell_names(nb)]
    report.problems += record_notes(coursedir.db_url, assignment, report.results, order)
    if feedback:
        _feedback(report, coursedir, sources, students is not None, extra_env)
    # 4. Export the grades, and next to them the reasons and flags.
    if export:
        csv = course_dir / "grades.csv"
        code, log = run_nbgrader(
            ["export", f"--to={csv}"], course_dir, timeout=600, extra_env=extra_env
        )
        if code == 0 and csv.exists():
            report.grades_csv = csv
        else:
            report.problems.append(f"nbgrader export failed: {failure_reason(log)}")
        report.write_csv(course_dir / "grading_report.csv")
    report.seconds = time.perf_counter() - start
    return report


def _cell_names(source: Path) -> list[str]:
    from .notebooks import _cells, _grade_id

    return [g for g in (_grade_id(c) for c in _cells(source)) if g]


def _grade_all(report, coursedir, found, sources, scratch, options, extra_env, say):
    """Steps 1-2 of :func:`grade_assignment`; ``scratch`` receives the release."""
    assignment, course_dir = report.assignment, report.course_dir
    # 1. Register the assignment in the gradebook, and in a fresh one for the private
    #    course folders the students are graded in; the releases go to a scratch folder.
    #    Both at once, and, for a Dask cluster, its import alongside (a few CPU seconds each).
    template = scratch / "template.db"

    def register(release, db):
        return run_nbgrader(
            [
                "generate_assignment",
                assignment,
                "--force",
                f"--CourseDirectory.release_directory={release}",
                f"--CourseDirectory.db_url={db}",
            ],
            course_dir,
            timeout=600,
            extra_env=extra_env,
        )

    with ThreadPoolExecutor(3) as pool:
        if options["jobs"] > 1 or options["scheduler"]:
            pool.submit(importlib.import_module, "distributed")
        done = [
            pool.submit(register, release, db)
            for release, db in (
                (scratch, coursedir.db_url),
                (scratch / "t", f"sqlite:///{template}"),
            )
        ]
        for code, log in (d.result() for d in done):
            if code != 0:
                raise RuntimeError(
                    f"nbgrader generate_assignment {assignment} failed:\n{log[-3000:]}"
                )

    # 2. Autograde each student in a sandbox, `jobs` at a time; only this process writes
    #    the gradebook (course_grader.parallel).
    jobs, scheduler = options.pop("jobs"), options.pop("scheduler")
    bundle = CourseBundle(
        assignment,
        config=(course_dir / "nbgrader_config.py").read_text(),
        source=pack(sources[0].parent),
        release=pack(scratch / assignment),
        gradebook=template.read_bytes(),
        options=dict(options, protected=sorted(_protected_ids(sources)), extra_env=extra_env),
    )
    report.results += grade_students(
        bundle, coursedir, found, jobs=jobs, scheduler=scheduler, say=say
    )


def _feedback(report, coursedir, sources, one_by_one, extra_env) -> None:
    """3. Feedback without hidden tests, for the graded submissions only."""
    assignment, course_dir = report.assignment, report.course_dir
    submitted = course_dir / coursedir.submitted_directory
    graded = [r for r in report.results if r.graded]
    if not graded:
        return
    options = [f"--GenerateFeedback.preprocessors={p}" for p in FEEDBACK_PREPROCESSORS]
    not_graded = [r.student for r in report.results if not r.graded and not r.rejected]
    if one_by_one:
        who = [["--student", r.student] for r in graded]
    else:
        who = [[f"--CourseDirectory.student_id_exclude={','.join(not_graded)}"]]
    logs = [
        run_nbgrader(
            ["generate_feedback", assignment, "--force", *w, *options],
            course_dir,
            timeout=3600,
            extra_env=extra_env,
        )[1]
        for w in who
    ]
    secrets = hidden_test_lines(sources)
    for r in graded:
        folder = Path(coursedir.format_path(coursedir.feedback_directory, r.student, assignment))
        pages = sorted(folder.glob("*.html"))
        if not pages:
            report.problems.append(f"no feedback for {r.student}: {failure_reason(logs[-1])}")
            continue
        too_big = [p for p in pages if p.stat().st_size > MAX_FEEDBACK_BYTES]
        if too_big:
            for page in pages:
                page.unlink()
            r.flags.append(
                f"its feedback is {too_big[0].stat().st_size / (1 << 20):.0f} MiB, more than "
                f"{MAX_FEEDBACK_BYTES >> 20} MiB; feedback withheld"
            )
            continue
        own_code = _code_of(submitted / r.student / assignment)
        leaked = [
            line
            for page in pages
            for line in secrets
            if line in _html_text(page) and line not in own_code
        ]
        if leaked:
            for page in pages:
                page.unlink()
            r.flags.append("its output contains hidden-test code; feedback withheld")
            continue
        r.feedback = folder


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m course_grader <assignment> [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_grader",
        description="Autograde all submissions of an nbgrader assignment, each in a sandbox, "
        "generate feedback without hidden tests and export grades.csv and grading_report.csv.",
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
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=4.0,
        help="GiB of address space per process in the sandbox (default 4)",
    )
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="run student code WITHOUT a sandbox, with your rights (only where none can run)",
    )
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="students graded at once, on a Dask LocalCluster (default: the number of cores)",
    )
    parser.add_argument(
        "--scheduler",
        help="grade on the workers of this running Dask scheduler, e.g. tcp://host:8786",
    )
    args = parser.parse_args(argv)
    try:
        report = grade_assignment(
            args.assignment,
            args.course_dir,
            students=args.students,
            student_timeout=args.student_timeout,
            feedback=not args.no_feedback,
            unsafe=args.unsafe,
            memory_limit=int(args.memory_limit * (1 << 30)),
            jobs=args.jobs,
            scheduler=args.scheduler,
        )
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(report.summary())
    return 1 if report.failed or not report.results else 0
