"""The course's Validate: its settings from any folder, a time-out is a failure, exit status."""

import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT
from nbgrader.validator import Validator
from tiny_assignment import NAME, tiny_course

from course_utils.checks.validate import CourseValidator, course_config, find_course_root, validate

SLOW_CELL = "import time\ntime.sleep(60)"


def test_the_course_config_is_found_from_an_exercise_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder with no nbgrader_config.py
    for exercise in ("digit_classifier", "pes_refit"):
        folder = ROOT / "exercises" / exercise
        assert find_course_root(folder / f"{exercise}.ipynb") == ROOT
        config = course_config(folder)
        assert config.Execute.timeout == 120  # nbgrader's default would be 30
        assert config.Execute.interrupt_on_timeout is True


def test_no_course_config_falls_back_to_nbgrader_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    assert find_course_root(tmp_path) is None
    assert "timeout" not in course_config(tmp_path).Execute


@pytest.fixture(scope="module")
def slow_notebook(tmp_path_factory):
    """A solved notebook whose third cell runs past a 3 s limit; its test still passes."""
    course = tiny_course(
        tmp_path_factory.mktemp("course"),
        config_lines="c.Execute.timeout = 3",
        before_test=SLOW_CELL,
    )
    return course / "solutions" / NAME / f"{NAME}.ipynb"


@pytest.mark.slow
def test_a_cell_stopped_at_the_limit_fails_validation(slow_notebook):
    config = course_config(slow_notebook)
    assert config.Execute.timeout == 3
    # nbgrader's own validator said "Success!" here: the test cell after the slow one passes.
    assert Validator(config=config).validate(str(slow_notebook)) == {}
    results = CourseValidator(config=config).validate(str(slow_notebook))
    (failed,) = results["failed"]
    assert failed["source"] == SLOW_CELL
    assert failed["raw_error"].startswith("cell 3 ran past the 3 s limit and was stopped")


@pytest.mark.slow
def test_command_line_exit_status_from_the_exercise_folder(slow_notebook, tmp_path):
    command = [sys.executable, "-m", "course_utils.checks.validate", slow_notebook.name]
    run = subprocess.run(command, cwd=slow_notebook.parent, capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)" in run.stdout
    assert "cell 3 ran past the 3 s limit" in run.stdout
    assert "Success!" not in run.stdout

    fine = tiny_course(tmp_path / "fine")
    notebook = fine / "solutions" / NAME / f"{NAME}.ipynb"
    assert validate(notebook) == {}
    run = subprocess.run([*command[:-1], str(notebook)], capture_output=True, text=True)
    assert run.returncode == 0 and "Success!" in run.stdout, run.stdout + run.stderr

    unsolved = nbformat.read(notebook, as_version=4)
    unsolved.cells[1].source = "def double(x):\n    return x"
    nbformat.write(unsolved, notebook)
    run = subprocess.run([*command[:-1], str(notebook)], capture_output=True, text=True)
    assert run.returncode == 1 and "double(2) should be 4" in run.stdout


def test_a_missing_notebook_is_an_error_with_the_path(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        validate(tmp_path / "nope.ipynb")
    from course_utils.checks.validate import main

    assert main([str(tmp_path / "nope.ipynb")]) == 1
    assert "Could not validate" in capsys.readouterr().err
