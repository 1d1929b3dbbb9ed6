"""nbgrader commands forked from a server that has imported nbgrader (course_grader.forkrun).

A forked command must behave as ``python -m nbgrader`` started afresh: same exit code and
output, in the folder and with exactly the environment it is given, in a process group of its
own whose leftovers are killed, stopped at its time limit.  ``nbgrader_config.py`` is Python
that nbgrader runs at start, so a config file reports what the command sees.
"""

import json
import time
from pathlib import Path

import pytest

from course_grader import commands, forkrun
from course_grader.commands import run_nbgrader

pytestmark = pytest.mark.skipif(not forkrun.available(), reason="no fork server on this system")

#: A config file that reports the command's folder, environment and process group, and
#: starts a process that would outlive it.
REPORTER = """
import json, os, subprocess
sleeper = subprocess.Popen(["sleep", "600"])
with open("seen.json", "w") as f:
    json.dump({"cwd": os.getcwd(), "env": dict(os.environ), "sleeper": sleeper.pid,
               "leader": os.getpgid(0) == os.getpid() == os.getsid(0)}, f)
"""


def _gone(pid: int, wait: float = 10.0) -> bool:
    """Whether the process ``pid`` has ended (dead or a zombie) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in "ZX":
            return True
        time.sleep(0.1)
    return False


def _plain(monkeypatch, *args, **kwargs):
    """run_nbgrader as a plain ``python -m nbgrader`` subprocess."""
    with monkeypatch.context() as m:
        m.setenv("COURSE_GRADER_FORKSERVER", "0")
        return run_nbgrader(*args, **kwargs)


@pytest.mark.slow
def test_a_forked_command_answers_as_a_fresh_one(tmp_path, monkeypatch):
    for args in (["--version"], ["db", "student", "list"], ["no_such_command"]):
        forked, plain = run_nbgrader(args, tmp_path), _plain(monkeypatch, args, tmp_path)
        assert forked[0] == plain[0], (args, forked, plain)
        assert forked[1].splitlines()[-3:] == plain[1].splitlines()[-3:], args
    assert (
        run_nbgrader(["--version"], tmp_path)[1]
        .strip()
        .endswith("nbgrader version " + __import__("nbgrader").__version__)
    )


@pytest.mark.slow
def test_a_forked_command_sees_its_folder_and_environment_only(tmp_path, monkeypatch):
    (tmp_path / "nbgrader_config.py").write_text(REPORTER)
    run_nbgrader(["--version"], tmp_path)  # the server runs, started without the variable:
    monkeypatch.setenv("COURSE_TEST_ONLY_IN_THE_GRADER", "1")
    extra = {"OMP_NUM_THREADS": "3"}
    code, log = run_nbgrader(["db", "student", "list"], tmp_path, extra_env=extra)
    assert code == 0, log
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["cwd"] == str(tmp_path) and seen["leader"]
    assert seen["env"] == commands.course_env(extra)  # exactly, not the server's own
    assert _gone(seen["sleeper"]), "a process the command started outlived it"


def test_a_forked_command_is_stopped_at_its_time_limit(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(REPORTER + "\nimport time\ntime.sleep(60)\n")
    start = time.perf_counter()
    code, log = run_nbgrader(["db", "student", "list"], tmp_path, timeout=3)
    assert code == -9 and "stopped after 3 s" in log
    assert time.perf_counter() - start < 30
    assert _gone(json.loads((tmp_path / "seen.json").read_text())["sleeper"])


@pytest.mark.slow
def test_a_new_server_starts_when_the_old_one_is_gone(tmp_path):
    assert run_nbgrader(["--version"], tmp_path)[0] == 0
    server = forkrun._server
    server._proc.kill()
    server._proc.wait()
    assert run_nbgrader(["--version"], tmp_path)[0] == 0
    assert forkrun._server is not server
