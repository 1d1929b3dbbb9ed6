"""Parallel and multi-machine grading (course_grader.parallel): the same grades as one at a time.

A class of the tiny assignment is graded one student after the other into a SQLite gradebook,
then again on Dask (a 2-worker LocalCluster): into a copy of the course, and into a gradebook
on a throw-away PostgreSQL server.  grades.csv, grading_report.csv (without the times) and
every score and comment in the gradebook must be the same.
"""

from __future__ import annotations

import csv
import io
import shutil
import tarfile
from pathlib import Path

import pytest
from tiny_assignment import NAME, tiny_class

from course_grader import course_env, grade_assignment, sandbox_problem
from course_grader.parallel import merge_grades, pack, submission_grades, unpack

#: Columns of grading_report.csv that are measurements, not results.
TIMINGS = ("seconds", "peak_memory_mib")
N_STUDENTS = 6


def _needs_sandbox():
    problem = sandbox_problem()
    if problem:
        pytest.skip(f"NO SANDBOX CAN RUN HERE, parallel grading is NOT tested: {problem}")


def _rows(path: Path, drop=()) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def _gradebook(db_url: str, students) -> dict:
    """Every score, manual-grading mark and automatic comment of the students."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {
            s: (
                {g.name: (g.score, g.needs_manual_grade) for g in nb.grades},
                {c.name: c.auto_comment for c in nb.comments},
            )
            for s in students
            for nb in [gb.find_submission_notebook(NAME, NAME, s)]
        }


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The tiny class graded one student at a time, into SQLite."""
    _needs_sandbox()
    course = tmp_path_factory.mktemp("serial") / "course"
    students = tiny_class(course, N_STUDENTS, config_lines="c.Execute.timeout = 20")
    report = grade_assignment(NAME, course, echo=None, jobs=1)
    return course, students, report


def _same_as_serial(serial, course, report, db_url):
    serial_course, students, serial_report = serial
    assert [r.student for r in report.results] == students
    assert [(r.graded, r.code_score) for r in report.results] == [
        (r.graded, r.code_score) for r in serial_report.results
    ]
    # the class is not uniform: right, wrong and failing answers
    assert len({r.code_score for r in report.results}) > 1
    assert _rows(course / "grades.csv") == _rows(serial_course / "grades.csv")
    assert _rows(course / "grading_report.csv", TIMINGS) == _rows(
        serial_course / "grading_report.csv", TIMINGS
    )
    serial_db = f"sqlite:///{serial_course / 'gradebook.db'}"
    assert _gradebook(db_url, students) == _gradebook(serial_db, students)
    for s in students:  # the autograded notebooks and the feedback reached the course folder
        assert (course / "autograded" / s / NAME / f"{NAME}.ipynb").is_file()
        assert (course / "feedback" / s / NAME / f"{NAME}.html").is_file()


@pytest.mark.slow
def test_two_jobs_give_the_serial_grades(serial, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(serial[0] / "solutions", course / "solutions")
    shutil.copytree(serial[0] / "submitted", course / "submitted")
    shutil.copy(serial[0] / "nbgrader_config.py", course)
    report = grade_assignment(NAME, course, echo=None, jobs=2)
    _same_as_serial(serial, course, report, f"sqlite:///{course / 'gradebook.db'}")


@pytest.mark.slow
def test_local_cluster_grades_into_postgresql(serial, tmp_path, postgres_url):
    course = tmp_path / "course"
    shutil.copytree(serial[0] / "solutions", course / "solutions")
    shutil.copytree(serial[0] / "submitted", course / "submitted")
    shutil.copy(serial[0] / "nbgrader_config.py", course)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    report = grade_assignment(NAME, course, echo=None, jobs=2)
    assert not (course / "gradebook.db").exists()  # nothing went to a SQLite file
    _same_as_serial(serial, course, report, postgres_url)


# -- the pieces, fast -------------------------------------------------------------------------


def test_unpack_makes_no_link_out_of_the_folder(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(tarfile.TarError):
        unpack(buffer.getvalue(), tmp_path / "out")
    # a submission keeps its links, for the grader to see and refuse them
    unpack(buffer.getvalue(), tmp_path / "kept", links=True)
    assert (tmp_path / "kept" / "passwd").is_symlink()
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a.txt").write_text("a")
    unpack(pack(tmp_path / "src"), tmp_path / "copy")
    assert (tmp_path / "copy" / "sub" / "a.txt").read_text() == "a"


def test_merge_writes_automatic_grades_and_keeps_manual_ones(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", course_env()["PATH"])  # nbgrader runs alembic from PATH

    def gradebook(name):
        url = f"sqlite:///{tmp_path / name}"
        with Gradebook(url) as gb:
            gb.add_assignment(NAME)
            gb.add_notebook(NAME, NAME)
            gb.add_grade_cell("test", NAME, NAME, max_score=2, cell_type="code")
            gb.add_solution_cell("answer", NAME, NAME)
            gb.add_student("s")
            gb.add_submission(NAME, "s")
        return url

    private, main = gradebook("private.db"), gradebook("main.db")
    with Gradebook(private) as gb:
        nb = gb.find_submission_notebook(NAME, NAME, "s")
        nb.grades[0].auto_score, nb.grades[0].needs_manual_grade = 2.0, False
        nb.comments[0].auto_comment = "well done"
        gb.db.commit()
    with Gradebook(main) as gb:
        gb.find_submission_notebook(NAME, NAME, "s").comments[0].manual_comment = "see me"
        gb.db.commit()
    merge_grades(main, NAME, "s", submission_grades(private, NAME, "s"))
    with Gradebook(main) as gb:
        nb = gb.find_submission_notebook(NAME, NAME, "s")
        assert (nb.grades[0].auto_score, nb.grades[0].needs_manual_grade) == (2.0, False)
        assert (nb.comments[0].auto_comment, nb.comments[0].manual_comment) == (
            "well done",
            "see me",
        )
    assert submission_grades(main, NAME, "nobody") is None
