"""The student edition (`make student-edition`): no solutions, hidden tests or grading code,
and what students do with it (install it, build its book, solve its exercises) works."""

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import BIN, BUILD, ROOT, run_env

from course_grader.course import toc_entries, toc_path
from course_grader.edition import INSTRUCTOR_ONLY, leaks, write_student_edition
from course_grader.notebooks import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    SOLUTION_BEGIN,
    SOLUTION_END,
    hidden_test_lines,
    marked_lines,
    markers_in,
    secret_lines,
)

pytestmark = pytest.mark.slow

SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    return write_student_edition(tmp_path_factory.mktemp("edition") / "course")


def _edition_env(edition):
    env = run_env()
    env["PYTHONPATH"] = str(edition)  # the edition's course_utils, not the repository's
    return env


def test_edition_has_the_course_and_not_the_instructor_files(edition):
    for name in INSTRUCTOR_ONLY:
        assert not (edition / name).exists(), f"{name} is in the student edition"
    for needed in (
        "Makefile",
        "pyproject.toml",
        "environment.yml",
        "nbgrader_config.py",
        "_config.yml",
        "course_utils/checks/__init__.py",
        "README.md",
    ):
        assert (edition / needed).is_file(), f"the edition lacks {needed}"
    for entry in toc_entries(edition):
        toc_path(edition, entry)  # raises if a page the TOC lists is missing
    assert SOURCES, "no exercise sources to build an edition of"
    for source in SOURCES:
        assert (edition / "exercises" / source.parent.name / source.name).is_file()
    assert "Student edition" in (edition / "README.md").read_text()


def test_edition_holds_no_solution_or_hidden_test_text(edition):
    hidden = hidden_test_lines(SOURCES, min_length=25)
    answers = secret_lines(SOURCES)
    assert hidden and answers, "found no hidden-test or solution lines: the check would be empty"
    files = [p for p in edition.rglob("*") if p.is_file()]
    text = {p: p.read_text(errors="ignore") for p in files}
    markers = [(str(p.relative_to(edition)), m) for p, t in text.items() for m in markers_in(t)]
    assert not markers, f"nbgrader markers in the edition: {markers}"
    # Outside the public library (whose checks the hidden tests call by name), no line of a
    # hidden test or a model answer appears.
    shown = "\n".join(
        t for p, t in text.items() if p.relative_to(edition).parts[0] != "course_utils"
    )
    chapters = {
        line.strip()
        for nb in (edition / "chapters").glob("*.ipynb")
        for cell in nbformat.read(nb, as_version=4).cells
        for line in cell.source.splitlines()
    }  # a line a chapter teaches (an import, a loss function) gives nothing away
    leaked = [s for s in (hidden | answers) - chapters if s in shown]
    assert not leaked, f"hidden-test or answer lines in the edition: {leaked}"
    assert leaks(edition, ROOT / "solutions") == []


def test_the_leak_check_finds_a_planted_answer(tmp_path):
    answers = marked_lines(SOURCES, ((SOLUTION_BEGIN, SOLUTION_END),), min_length=25)
    planted = sorted(answers)[0]
    (tmp_path / "notes.md").write_text(f"a student's notes\n{planted}\n")
    (tmp_path / "fine.md").write_text("nothing to see\n")
    found = leaks(tmp_path, ROOT / "solutions")
    assert found and all(f.startswith("notes.md") for f in found)


def test_edition_installs_as_a_package(edition, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(edition),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    wheel = next(tmp_path.glob("course_utils-*.whl"))
    names = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", str(wheel)], capture_output=True, text=True
    ).stdout
    assert "course_utils/checks/" in names and "course_grader" not in names


def test_edition_builds_its_book(edition, built_book):
    """`jupyter-book build` in the edition, with the installed venv. The chapters' outputs
    come from the suite's execution cache (the notebooks are byte-identical), so this checks
    the edition's configuration, TOC and pages; the exercises are executed below."""
    shutil.copytree(BUILD / ".jupyter_cache", edition / "_build" / ".jupyter_cache")
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(edition)],
        cwd=edition,
        env=_edition_env(edition),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = edition / "_build" / "html"
    missing = [e for e in toc_entries(edition) if not (html / f"{e}.html").exists()]
    assert not missing, f"the edition's book lacks {missing}"


def _without_hidden_tests(source):
    nb = nbformat.read(source, as_version=4)
    pattern = re.compile(
        rf"^.*{re.escape(HIDDEN_BEGIN)}.*?{re.escape(HIDDEN_END)}.*$\n?", re.M | re.S
    )
    for cell in nb.cells:
        cell.source = pattern.sub("", cell.source)
    return nb


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name)
def test_edition_exercises_pass_their_tests_with_the_model_answers(edition, source):
    """A student who writes the model answers into the edition's exercise passes every
    visible test, with only the edition's code (hidden tests are the grader's business)."""
    from nbclient import NotebookClient

    nb = _without_hidden_tests(source)
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import course_utils\n"
            f"assert course_utils.__file__.startswith({str(edition)!r}), course_utils.__file__"
        ),
    )
    folder = edition / "exercises" / source.parent.name
    env = _edition_env(edition)
    old = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
