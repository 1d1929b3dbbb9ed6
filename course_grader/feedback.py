"""Feedback that reveals no hidden test: nbgrader's preprocessors plus our own."""

from __future__ import annotations

import html
import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from .notebooks import HIDDEN_BEGIN

#: Preprocessors of ``nbgrader generate_feedback`` used by :func:`grade_assignment`.
FEEDBACK_PREPROCESSORS = (
    "nbgrader.preprocessors.GetGrades",
    "course_grader.feedback.ClearHiddenTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
)


class ClearHiddenTracebacks(NbGraderPreprocessor):
    """Cut the tracebacks of cells with hidden tests down to the error message.

    IPython's traceback of a failing cell shows the source lines around the
    failing one, so nbgrader's feedback shows hidden tests even after
    ``ClearHiddenTests`` removed them from the cell.  Put this preprocessor
    before ``ClearHiddenTests`` in ``GenerateFeedback.preprocessors``; the
    student still sees the error type and message (the tests' messages are
    written to be read).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


def _html_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8", errors="replace")))
