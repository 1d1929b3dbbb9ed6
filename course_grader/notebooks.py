"""Reading nbgrader notebooks: cell sources, grade ids, and the marker strings (one copy)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

#: nbgrader's marker strings (after ``### ``), written once for the grader and the tests.
SOLUTION_BEGIN, SOLUTION_END = "BEGIN SOLUTION", "END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
MARKERS = (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END)
#: The regions that must never reach students: model answers and hidden tests.
SECRET_REGIONS = ((SOLUTION_BEGIN, SOLUTION_END), (HIDDEN_BEGIN, HIDDEN_END))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code_of(folder: Path) -> str:
    """All cell sources of the notebooks in ``folder`` (unreadable ones are skipped)."""
    sources = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            sources += [_source(c) for c in _cells(path) if isinstance(c, dict)]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return "\n".join(sources)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _grade_id(cell: dict) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def marked_lines(
    notebooks: Iterable[Path],
    regions: Iterable[tuple[str, str]] = ((HIDDEN_BEGIN, HIDDEN_END),),
    min_length: int = 20,
) -> set[str]:
    """Distinctive lines inside nbgrader's marked regions of ``notebooks``.

    Parameters
    ----------
    notebooks : iterable of Path
        Source notebooks (``solutions/<assignment>/<assignment>.ipynb``).
    regions : iterable of (begin, end) markers
        Which regions: the hidden tests by default; add
        ``(SOLUTION_BEGIN, SOLUTION_END)`` for the model answers.
    min_length : int
        Lines shorter than this (after stripping) are left out, and so are lines
        that also appear outside the regions: they reveal nothing.
    """
    regions = tuple(regions)
    secret, visible = set(), set()
    for path in notebooks:
        for cell in _cells(path):
            inside = None
            for line in _source(cell).splitlines():
                begin = next((r for r in regions if r[0] in line), None)
                if inside is None and begin is not None:
                    inside = begin
                elif inside is not None and inside[1] in line:
                    inside = None
                else:
                    (secret if inside is not None else visible).add(line.strip())
    return {line for line in secret - visible if len(line) >= min_length}


def secret_lines(notebooks: Iterable[Path], min_length: int = 25) -> set[str]:
    """Distinctive lines of the model answers and hidden tests (see :func:`marked_lines`)."""
    return marked_lines(notebooks, SECRET_REGIONS, min_length=min_length)


def markers_in(text: str) -> list[str]:
    """The nbgrader marker strings that occur in ``text``."""
    return [m for m in MARKERS if m in text]


def hidden_test_lines(source_notebooks: Iterable[Path], min_length: int = 20) -> set[str]:
    """Distinctive lines of the hidden tests in the source notebooks (see :func:`marked_lines`)."""
    return marked_lines(source_notebooks, min_length=min_length)


def _protected_ids(source_notebooks: Iterable[Path]) -> set[str]:
    """grade_ids of the cells nbgrader restores from the source (tests, read-only cells)."""
    ids = set()
    for path in source_notebooks:
        for cell in _cells(path):
            meta = cell.get("metadata", {}).get("nbgrader") or {}
            if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
                ids.add(meta.get("grade_id"))
    return ids
