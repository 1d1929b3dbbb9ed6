"""The instructor's grading tool for the course's nbgrader exercises.

Chapters and student kernels never import this package; the student edition
of the course leaves it out. Run it from the course's root folder::

    python -m course_grader digit_classifier      # or: make grade A=digit_classifier

Modules
-------
``grade``      autograde a whole class, feedback, ``grades.csv`` and a summary
``student``    grade one student (checks, sandboxed autograde, scores)
``parallel``   many students at once, on a Dask LocalCluster or a scheduler's workers
``sandbox``    execute a notebook in a bubblewrap sandbox (``sandbox_runner`` runs inside)
``execute``    nbgrader's ``Execute`` replaced by the sandboxed execution
``report``     results, summary, ``grading_report.csv``, notes in the gradebook
``commands``   running nbgrader's commands (time limits, failure reasons)
``forkrun``    nbgrader's commands forked from a server that imported nbgrader once
``feedback``   feedback preprocessors that reveal no hidden test
``notebooks``  reading nbgrader notebooks; nbgrader's marker strings
``scan``       a static scan of submissions (a hint for the instructor, not a defence)
"""

from .commands import course_env, run_nbgrader
from .feedback import FEEDBACK_PREPROCESSORS, ClearHiddenTracebacks
from .grade import SandboxUnavailable, grade_assignment, main
from .notebooks import MARKERS, hidden_test_lines
from .report import GradingReport, StudentResult
from .sandbox import Limits, execute_in_sandbox, sandbox_problem
from .scan import scan_submission
from .student import grade_student, student_id_problem

__all__ = [
    "ClearHiddenTracebacks",
    "FEEDBACK_PREPROCESSORS",
    "GradingReport",
    "Limits",
    "SandboxUnavailable",
    "MARKERS",
    "StudentResult",
    "course_env",
    "execute_in_sandbox",
    "grade_assignment",
    "grade_student",
    "hidden_test_lines",
    "main",
    "run_nbgrader",
    "sandbox_problem",
    "scan_submission",
    "student_id_problem",
]
