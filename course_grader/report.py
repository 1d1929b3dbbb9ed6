"""What grading found: per-student results, the summary, grading_report.csv, gradebook notes."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

#: Columns of ``grading_report.csv`` (one row per student folder, next to ``grades.csv``).
REPORT_COLUMNS = (
    "student",
    "status",
    "automatic_points",
    "max_automatic_points",
    "reason",
    "flags",
    "seconds",
    "peak_memory_mib",
    "sandboxed",
)
#: Prefix of the grader's note in a gradebook comment (the Formgrader shows it).
NOTE_PREFIX = "[grader] "


@dataclass
class StudentResult:
    """Outcome of autograding one student's submission.

    ``graded`` is False when the submission could not be graded; ``error`` then says why and
    the submission has 0 automatic points (or no grades row at all when ``rejected``).
    """

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
    rejected: bool = False  #: the student id cannot go through nbgrader: no grades row
    sandboxed: bool | None = None  #: None when nothing was executed
    peak_memory_bytes: int | None = None

    @property
    def status(self) -> str:
        return "rejected" if self.rejected else ("graded" if self.graded else "failed")

    def score_text(self) -> str:
        if self.code_score is None or self.max_code_score is None:
            return "-"
        return f"{self.code_score:g} / {self.max_code_score:g}"


@dataclass
class GradingReport:
    """Outcome of :func:`course_grader.grade_assignment` for a whole class."""

    assignment: str
    course_dir: Path
    results: list[StudentResult]
    seconds: float
    grades_csv: Path | None = None
    report_csv: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[StudentResult]:
        """Submissions whose autograding failed (rejected ids included)."""
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
        width = max([len("student")] + [len(repr(r.student)) for r in self.results])
        lines.append(f"{'student':<{width}}  {'result':<8} {'automatic points':>16}  time")
        for r in self.results:
            name = r.student if r.student.isprintable() else repr(r.student)
            lines.append(
                f"{name:<{width}}  {r.status.upper() if not r.graded else r.status:<8} "
                f"{r.score_text():>16}  {r.seconds:4.0f} s"
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
        unconfined = [r.student for r in self.results if r.sandboxed is False]
        if unconfined:
            lines += ["", f"WARNING: {len(unconfined)} submission(s) ran WITHOUT a sandbox."]
        if self.problems:
            lines += ["", "Problems:"] + [f"  {p}" for p in self.problems]
        if self.grades_csv is not None:
            lines += ["", f"Grades: {self.grades_csv}"]
        if self.report_csv is not None:
            lines.append(f"Reasons and flags: {self.report_csv}")
        lines.append(f"Feedback: {self.course_dir / 'feedback'}/<student>/{self.assignment}/")
        return "\n".join(lines)

    def write_csv(self, path: Path) -> Path:
        """Write one row per student folder (status, points, reason, flags) to ``path``."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(REPORT_COLUMNS)
            for r in self.results:
                writer.writerow(
                    [
                        r.student,
                        r.status,
                        "" if r.code_score is None else f"{r.code_score:g}",
                        "" if r.max_code_score is None else f"{r.max_code_score:g}",
                        r.error or "",
                        " | ".join(r.flags),
                        f"{r.seconds:.1f}",
                        ""
                        if r.peak_memory_bytes is None
                        else f"{r.peak_memory_bytes / (1 << 20):.0f}",
                        "" if r.sandboxed is None else str(r.sandboxed).lower(),
                    ]
                )
        self.report_csv = path
        return path


def note_for(result: StudentResult) -> str | None:
    """The grader's note for the gradebook, or None when there is nothing to say."""
    parts = []
    if result.error:
        parts.append(f"not graded automatically: {result.error}")
    parts += result.flags
    return NOTE_PREFIX + "; ".join(parts) if parts else None


def record_notes(
    db_url: str, assignment: str, results: list[StudentResult], order: list[str] = ()
) -> list[str]:
    """Put each result's note in the gradebook, as the automatic comment of the first cell
    (in ``order``, a list of grade ids) of each of its notebooks: the Formgrader shows it.
    Returns the problems met."""
    from nbgrader.api import Gradebook, MissingEntry

    problems = []
    with Gradebook(db_url) as gb:
        for result in results:
            note = note_for(result)
            if note is None or result.rejected:
                continue
            try:
                submission = gb.find_submission(assignment, result.student)
            except MissingEntry:
                problems.append(f"no gradebook entry to hold the note for {result.student}")
                continue
            for notebook in submission.notebooks:
                rank = {name: i for i, name in enumerate(order)}
                comments = sorted(notebook.comments, key=lambda c: rank.get(c.cell.name, 1e9))
                if comments:
                    comments[0].auto_comment = note
        gb.db.commit()
    return problems
