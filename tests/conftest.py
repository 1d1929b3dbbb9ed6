"""Shared fixtures: the repository layout, the built book and its executed notebooks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from postgres_server import postgres_url  # noqa: F401 (a fixture for every test)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The suite builds the book into _build/ as `make book` does. COURSE_BOOK_OUTPUT=<dir> builds into
# <dir>/_build instead (jupyter-book's --path-output), to test one's own build without touching
# the shared one.
OUTPUT = Path(os.environ.get("COURSE_BOOK_OUTPUT") or ROOT).resolve()
BUILD = OUTPUT / "_build"
CACHE = BUILD / ".jupyter_cache"


def toc_files() -> list[str]:
    """Every page the TOC lists, as paths relative to the root, without suffix."""
    from course_grader.course import toc_entries

    return toc_entries(ROOT)


def toc_path(entry: str) -> Path:
    from course_grader.course import toc_path as _toc_path

    return _toc_path(ROOT, entry)


def run_env() -> dict[str, str]:
    """The environment the course's commands run in (the venv's bin first)."""
    from course_grader import course_env

    return course_env()


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the website exactly as `make book` does (cached), return _build/html."""
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(OUTPUT)],
        cwd=ROOT,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        pytest.fail("jupyter-book build failed:\n" + result.stdout[-6000:] + result.stderr[-6000:])
    return BUILD / "html"


def executed_notebook(built_book: Path, path: str | Path):
    """The executed version of a notebook, as stored in the book's execution cache."""
    from jupyter_cache import get_cache

    cache = get_cache(CACHE)
    record = cache.match_cache_file(str(ROOT / path))  # raises KeyError if not cached
    return cache.get_cache_bundle(record.pk).nb


@pytest.fixture(scope="session")
def glued(built_book):
    """``glued(path)``: the values a chapter glued, read from the book's cache once."""
    read: dict[str, dict[str, object]] = {}

    def values(path: str) -> dict[str, object]:
        if path not in read:
            read[path] = glued_values(executed_notebook(built_book, path))
        return read[path]

    return values


def chapter_values(path: str):
    """A session fixture of the values chapter ``path`` glued; in a test module,
    ``ch4 = chapter_values("chapters/04_overfitting.ipynb")`` defines the fixture ``ch4``."""

    @pytest.fixture(scope="session")
    def values(glued):
        return glued(path)

    return values


def glued_values(nb) -> dict[str, object]:
    """Values stored with ``myst_nb.glue`` in an executed notebook.

    Numbers and other literals come back as Python objects; anything else as
    its ``text/plain`` representation.
    """
    values: dict[str, object] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            data = output.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
            if text is None:
                values[name] = data
                continue
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values
