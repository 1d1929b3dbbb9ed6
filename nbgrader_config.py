"""nbgrader configuration for the course.

Instructors: see README.md, section "For instructors", for the workflow.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader/traitlets)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "nn-compchem"
# Sources with solutions and hidden tests live in solutions/, the generated
# student versions in exercises/ (committed, never edited by hand).
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Seconds per cell when validating and autograding; a stuck submission is cut off.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Feedback must not reveal the hidden tests (nor their tracebacks). The list is defined once,
# in the instructor's package; the student edition has no course_grader and needs no feedback.
try:
    from course_grader.feedback import FEEDBACK_PREPROCESSORS
    from course_grader.restore import SANITIZE_PREPROCESSORS
except ImportError:  # the student edition
    pass
else:
    c.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
    # A test cell the student deleted is put back before grading (nbgrader's own option,
    # OverwriteCells.add_missing_cells, fails when a read-only cell comes before the test).
    c.Autograde.sanitize_preprocessors = list(SANITIZE_PREPROCESSORS)
