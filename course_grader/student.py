"""Grade one student: checks before anything runs, the sandboxed autograde, the scores.

:func:`grade_student` is the unit a class-wide (or parallel) driver calls: it never raises for
anything a submission contains, and always returns a :class:`~course_grader.report.StudentResult`
whose scores are the gradebook's.  Student code runs only inside the sandbox
(:mod:`course_grader.sandbox`); this module, nbgrader's preprocessors and the gradebook
writes run with the grader's rights.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from .commands import failure_reason, run_nbgrader
from .execute import autograde_options
from .heldout import EVALUATORS, Evaluator, apply_trusted_scores, evaluate_export
from .report import StudentResult
from .scan import _edited_cells, scan_submission

#: Characters nbgrader reads as a glob pattern in a student id.
GLOB_CHARACTERS = "[]*?{}!"


def student_id_problem(student: str) -> str | None:
    """Why nbgrader would misread the student id ``student`` (None if it is fine).

    Ids may hold letters, digits and ``_ . @ + -``, and start with a letter, digit or ``_``.
    """
    if not student:
        return "the student id is empty"
    if student.startswith("-"):
        return "it starts with '-', which nbgrader's command line reads as an option"
    globs = sorted({c for c in student if c in GLOB_CHARACTERS})
    if globs:
        return f"it contains {' '.join(globs)}, which nbgrader reads as a glob pattern"
    if student.startswith("."):
        return "it starts with '.', which hides the folder"
    if not re.fullmatch(r"[^\W][\w.@+-]*", student):
        bad = sorted({c for c in student if not re.fullmatch(r"[\w.@+-]", c)})
        return f"it contains {' '.join(map(repr, bad))}; ids may hold letters, digits and _ . @ + -"
    return None


def submission_problem(folder: Path, expected: Iterable[str]) -> str | None:
    """Why the folder ``folder`` cannot be graded as it is (None if it can).

    ``expected`` are the notebook file names of the assignment.
    """
    expected = sorted(expected)
    links = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_symlink())
    if links:
        return f"the folder holds symbolic links ({', '.join(links[:3])}), which are not graded"
    if any((folder / name).is_file() for name in expected):
        return None
    want = ", ".join(repr(n) for n in expected)
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    if found:
        return f"found {', '.join(repr(n) for n in found[:3])}, expected {want}"
    others = sorted(p.name for p in folder.iterdir())
    if others:
        listed = ", ".join(map(repr, others[:3]))
        return f"no notebook in the folder (found {listed}), expected {want}"
    return f"the folder is empty: nothing was handed in (expected {want})"


def record_zero(db_url: str, assignment: str, student: str) -> None:
    """A submission of 0 points for ``student`` in the gradebook (so grades.csv has a row)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()


def read_scores(db_url: str, assignment: str, result: StudentResult) -> None:
    """Copy the gradebook's scores into ``result``; a failed grading gets 0 automatic points,
    marked for manual grading."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
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


def grade_student(
    coursedir,
    assignment: str,
    student: str,
    *,
    release_dir: Path | None = None,
    protected: Iterable[str] = (),
    student_timeout: float = 1800.0,
    unsafe: bool = False,
    memory_limit: int | None = None,
    extra_env: dict[str, str] | None = None,
    evaluator: Evaluator | None = None,
) -> StudentResult:
    """Autograde one student's submission, its code in a sandbox; never raises for a submission.

    Parameters
    ----------
    coursedir : nbgrader.coursedir.CourseDirectory
        The course (see :func:`course_grader.commands.load_coursedir`).
    assignment, student : str
        What to grade: ``<submitted>/<student>/<assignment>/``.
    release_dir : path, optional
        The assignment's release (to flag edited or deleted test cells).
    protected : iterable of str
        grade_ids of the cells nbgrader restores (not scanned).
    student_timeout : float
        Wall-clock seconds for the whole notebook, in the sandbox.
    unsafe : bool
        Execute without a sandbox (the instructor's explicit choice).
    memory_limit : int, optional
        Bytes of address space per process in the sandbox (default 4 GiB).
    extra_env : dict, optional
        Environment variables for nbgrader (thread counts are passed into the sandbox).
    evaluator : Evaluator, optional
        The grader's own held-out evaluation of the exported model (default: the
        assignment's entry in :data:`course_grader.heldout.EVALUATORS`, if any).
    """
    course_dir = Path(coursedir.root)
    db_url = coursedir.db_url
    t0 = time.perf_counter()
    problem = student_id_problem(student)
    if problem:
        return StudentResult(
            student, False, 0.0, error=f"student id {student!r} rejected: {problem}", rejected=True
        )
    folder = course_dir / coursedir.submitted_directory / student / assignment
    expected = sorted(p.name for p in (release_dir or folder).glob("*.ipynb"))
    problem = submission_problem(folder, expected) if release_dir else None
    if problem:
        record_zero(db_url, assignment, student)
        result = StudentResult(student, False, time.perf_counter() - t0, error=problem)
        read_scores(db_url, assignment, result)
        return result
    flags = []
    for nb in sorted(folder.glob("*.ipynb")):
        if release_dir is not None:
            flags += _edited_cells(nb, release_dir / nb.name, protected)
        flags += scan_submission(nb, protected)
    evaluator = evaluator or EVALUATORS.get(assignment)
    with tempfile.TemporaryDirectory(prefix="grading-status-") as tmp:
        status_file = Path(tmp) / "status.jsonl"
        exported = Path(tmp) / evaluator.export if evaluator else None
        code, log = run_nbgrader(
            [
                "autograde",
                assignment,
                "--student",
                student,
                "--force",
                f"--SandboxedExecute.wall_timeout={student_timeout}",
                *autograde_options(
                    status_file=str(status_file),
                    unsafe=unsafe,
                    memory_limit=memory_limit,
                    exports=(evaluator.export,) if evaluator else (),
                    export_dir=tmp,
                ),
            ],
            course_dir,
            timeout=student_timeout + 300,
            extra_env=extra_env,
        )
        runs = [
            json.loads(line)
            for line in (status_file.read_text().splitlines() if status_file.exists() else [])
        ]
        model = exported.read_bytes() if exported and exported.is_file() else None
    failed_runs = [r for r in runs if r.get("status") != "ok"]
    result = StudentResult(
        student,
        code == 0 and not failed_runs,
        time.perf_counter() - t0,
        flags=flags,
        log=log,
        sandboxed=all(r.get("sandboxed") for r in runs) if runs else None,
        peak_memory_bytes=max((r.get("peak_memory_bytes") or 0 for r in runs), default=None),
    )
    if not result.graded:
        result.error = failed_runs[0]["reason"] if failed_runs else failure_reason(log)
    elif evaluator is not None:
        result.flags += _trusted_tiers(db_url, assignment, student, evaluator, model, unsafe)
    read_scores(db_url, assignment, result)
    return result


def _trusted_tiers(db_url, assignment, student, evaluator, model, unsafe) -> list[str]:
    """Score the held-out tiers from the exported model, in a clean sandbox; the flags."""
    flags, why = [], ""
    passed = dict.fromkeys(evaluator.tiers, False)
    if model is None:
        why = f"no exported model ({evaluator.export})"
    else:
        evaluated, reason = evaluate_export(evaluator, model, unsafe=unsafe)
        if evaluated is None:
            flags.append(f"the exported model could not be evaluated: {reason}")
        else:
            passed.update(evaluated)
    return flags + apply_trusted_scores(db_url, assignment, student, passed, why)
