"""A tiny nbgrader assignment for tests of the course's nbgrader set-up (not a test module).

The real exercises take a minute each to run; this one runs in a second, so
tests of the class loop (release, fetch, submit, collect, grade, feedback) and
of Validate stay fast.  :func:`tiny_source` is the instructor's notebook,
:func:`tiny_course` a course folder around it with the course's own
``nbgrader_config.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

#: The assignment's name and its points: one visible+hidden test cell.
NAME, POINTS = "tiny", 2


def meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    """nbgrader cell metadata (schema 3)."""
    data = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        data["points"] = points
    return {"nbgrader": data}


def tiny_source(*, before_test: str = "") -> nbformat.NotebookNode:
    """The instructor's notebook: ``double(x)`` to write, a read-only heading and
    a test cell worth 2 points.

    ``before_test`` is an ordinary code cell put between the answer and its
    test (for example a slow one, to test the time limit).
    """
    cells = [
        new_markdown_cell("# Tiny\n\nWrite `double`.", metadata=meta("intro", locked=True)),
        new_code_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            metadata=meta("answer", solution=True),
        ),
    ]
    if before_test:
        cells.append(new_code_cell(before_test))
    # A read-only cell before the test, as in the real exercises (task4-tests).
    cells.append(new_markdown_cell("## Test", metadata=meta("tests_heading", locked=True)))
    cells.append(
        new_code_cell(
            "assert double(2) == 4, 'double(2) should be 4'\n"
            "### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
            metadata=meta("test_double", grade=True, locked=True, points=POINTS),
        )
    )
    return source_notebook(cells)


def source_notebook(cells: list) -> nbformat.NotebookNode:
    """An instructor's notebook of ``cells`` with the Python 3 kernel; a cell with a
    grade id gets it as its cell id too."""
    for c in cells:
        grade_id = c.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            c.id = grade_id
    nb = new_notebook(cells=cells)
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["kernelspec"] = kernel
    return nb


def tiny_course(dest: Path, *, config_lines: str = "", **source_options) -> Path:
    """A course folder in ``dest``: the course's nbgrader_config.py (plus
    ``config_lines``) and ``solutions/tiny/tiny.ipynb``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    if config_lines:
        with open(dest / "nbgrader_config.py", "a") as f:
            f.write("\n" + config_lines + "\n")
    folder = dest / "solutions" / NAME
    folder.mkdir(parents=True)
    nbformat.write(tiny_source(**source_options), folder / f"{NAME}.ipynb")
    return dest


def nbgrader(*args, cwd: Path, env: dict | None = None, timeout: float = 300, **popen):
    """Run ``nbgrader <args>`` in ``cwd`` with this Python; returns the CompletedProcess.

    This Python's ``bin/`` goes first on PATH (nbgrader runs ``alembic`` from
    there).  ``popen`` goes to :func:`subprocess.run` (e.g. ``user=`` to run as
    another Unix account).
    """
    full = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def score(course: Path, student: str, assignment: str = NAME) -> float:
    """A student's automatic points in the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "nn-compchem") as gb:
        return float(gb.find_submission(assignment, student).code_score)


#: Answers for :func:`tiny_class`, cycled over the students: right, wrong (passes the visible
#: test, fails the hidden one), a cell that raises, and the untouched release.
CLASS_ANSWERS = (
    "def double(x):\n    return 2 * x",
    "def double(x):\n    return x + 2",
    "def double(x):\n    raise ValueError('not yet')",
    None,
)


def tiny_class(dest: Path, n_students: int, *, config_lines: str = "") -> list[str]:
    """A course folder in ``dest`` with the tiny assignment released and ``n_students``
    submissions in ``submitted/`` (answers cycled from :data:`CLASS_ANSWERS`); their ids."""
    tiny_course(dest, config_lines=config_lines)
    done = nbgrader("generate_assignment", NAME, "--force", "--no-db", cwd=dest)
    assert done.returncode == 0, done.stdout + done.stderr
    release = nbformat.read(dest / "exercises" / NAME / f"{NAME}.ipynb", 4)
    students = [f"s{i:03d}" for i in range(n_students)]
    for i, student in enumerate(students):
        nb = nbformat.from_dict(release)
        answer = CLASS_ANSWERS[i % len(CLASS_ANSWERS)]
        if answer is not None:
            next(
                c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "answer"
            ).source = answer
        folder = dest / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")
    return students
