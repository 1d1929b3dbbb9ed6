"""The instructor's grading tool for the course's nbgrader exercises.

Chapters and student kernels never import this package; the student edition
of the course leaves it out. Run it from the course's root folder::

    python -m course_grader digit_classifier      # or: make grade A=digit_classifier

Modules
-------
``grade``      autograde a whole class, feedback, ``grades.csv`` and a summary
``feedback``   feedback preprocessors that reveal no hidden test
``notebooks``  reading nbgrader notebooks; nbgrader's marker strings
``scan``       a static scan of submissions (a hint for the instructor, not a defence)
"""

from .feedback import FEEDBACK_PREPROCESSORS, ClearHiddenTracebacks
from .grade import (
    GradingReport,
    StudentResult,
    course_env,
    grade_assignment,
    main,
    run_nbgrader,
)
from .notebooks import MARKERS, hidden_test_lines
from .scan import scan_submission

__all__ = [
    "ClearHiddenTracebacks",
    "FEEDBACK_PREPROCESSORS",
    "GradingReport",
    "MARKERS",
    "StudentResult",
    "course_env",
    "grade_assignment",
    "hidden_test_lines",
    "main",
    "run_nbgrader",
    "scan_submission",
]
