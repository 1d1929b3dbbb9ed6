"""Tests for course_grader.sandbox: what the sandbox shows, and refusing to grade without one.

The hostile class in test_grade.py checks the sandbox at work through the whole pipeline;
these tests check its command line and its pieces directly.
"""

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_notebook

import course_grader.grade as grade_module
from course_grader import SandboxUnavailable, execute_in_sandbox, grade_assignment, main
from course_grader.sandbox import WORKDIR, bwrap_command, sandbox_problem


def _sources(cmd):
    """The host paths a bwrap command line makes visible inside."""
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")]


def test_the_sandbox_shows_nothing_of_the_course_but_course_utils(tmp_path):
    cmd = bwrap_command(tmp_path)
    visible = [os.path.realpath(p) for p in _sources(cmd)]
    root = os.path.realpath(ROOT)
    assert os.path.realpath(ROOT / "course_utils") in visible
    assert str(tmp_path) in visible  # the private copy, at WORKDIR
    assert cmd[cmd.index(str(tmp_path)) + 1] == WORKDIR
    runner = os.path.realpath(ROOT / "course_grader" / "sandbox_runner.py")
    assert cmd[cmd.index(runner) + 1] == "/grader/runner.py"
    for path in set(visible) - {runner}:
        assert path != root and not root.startswith(path + os.sep), path
        inside = path.startswith(root + os.sep)
        assert not inside or path.split(os.sep)[len(root.split(os.sep))] in (
            "course_utils",
            ".venv",
        ), path
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"):
        assert flag in cmd


def test_the_limits_are_passed_on(tmp_path):
    from course_grader.sandbox import Limits

    cmd = bwrap_command(tmp_path, limits=Limits(tmp_bytes=12345))
    assert cmd[cmd.index("/tmp") - 2 : cmd.index("/tmp")] == ["12345", "--tmpfs"]


def _course_with_one_submission(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "solutions" / "toy").mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "solutions" / "toy" / "toy.ipynb")
    (tmp_path / "submitted" / "alice" / "toy").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "submitted" / "alice" / "toy" / "toy.ipynb")
    return tmp_path


def test_grading_refuses_to_run_student_code_without_a_sandbox(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grade_module, "sandbox_problem", lambda: "no bwrap on this machine")
    course = _course_with_one_submission(tmp_path)
    with pytest.raises(SandboxUnavailable, match="no bwrap on this machine.*--unsafe"):
        grade_assignment("toy", course, echo=None)
    assert main(["toy", "--course-dir", str(course)]) == 2
    assert "no sandbox can run here" in capsys.readouterr().err
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


@pytest.mark.slow
def test_unsafe_runs_unconfined_and_says_so(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.getcwd())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    result = execute_in_sandbox(nb, tmp_path, cell_timeout=60, unsafe=True)
    assert result.ok and not result.sandboxed
    assert WORKDIR not in result.notebook.cells[0].outputs[0].text


@pytest.mark.slow
def test_a_sandbox_runs_here_or_the_suite_says_loudly_why_not():
    problem = sandbox_problem()
    if problem:
        pytest.skip(f"NO SANDBOX CAN RUN HERE, student code would be unconfined: {problem}")
    nb = new_notebook(
        cells=[
            new_code_cell("import os, pathlib\nprint(os.getuid(), os.getcwd())"),
            new_code_cell(f"print(pathlib.Path({str(ROOT)!r}, 'solutions').exists())"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    result = execute_in_sandbox(nb, Path(ROOT / "exercises" / "digit_classifier"), cell_timeout=60)
    assert result.ok and result.sandboxed, result.reason
    uid, cwd = result.notebook.cells[0].outputs[0].text.split()
    assert cwd == WORKDIR and (os.geteuid() != 0 or uid == "65534")
    assert result.notebook.cells[1].outputs[0].text.strip() == "False"


@pytest.mark.slow
def test_peak_memory_counts_every_process_in_the_sandbox(tmp_path):
    """The kernel and a process it starts hold 150 and 250 MiB at the same time: the peak
    is their sum, which no single process's ru_maxrss (the runner's own figure) reaches."""
    problem = sandbox_problem()
    if problem:
        pytest.skip(f"NO SANDBOX CAN RUN HERE, its memory is not measured: {problem}")
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import sys, time; b = b\"x\" * (250 << 20); print(1, flush=True); time.sleep(3)'], "
        "stdout=subprocess.PIPE)\n"
        "child.stdout.readline()\n"
        "a = b'x' * (150 << 20)\n"
        "time.sleep(1.5)\n"
        "child.wait()"
    )
    nb = new_notebook(cells=[new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    result = execute_in_sandbox(nb, tmp_path, cell_timeout=60)
    assert result.ok, result.reason
    mib = result.peak_memory_bytes / (1 << 20)
    assert 400 < mib < 1000, mib
    alone = execute_in_sandbox(
        new_notebook(cells=[new_code_cell("x = 1")], metadata=nb.metadata), tmp_path
    )
    assert alone.ok and alone.peak_memory_bytes < result.peak_memory_bytes - (350 << 20)
