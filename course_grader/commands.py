"""Running nbgrader's commands from the grader: environment, time limits, failure reasons."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import forkrun

#: Most output of one nbgrader command kept (its head and tail), in characters.
MAX_LOG_CHARS = 200_000

_FAILURE_REASONS = (
    (
        "DeadKernelError",
        "its kernel died: the notebook exits or kills Python "
        "(os._exit, a crash, running out of memory)",
    ),
    (
        "Kernel died",
        "its kernel died: the notebook exits or kills Python "
        "(os._exit, a crash, running out of memory)",
    ),
    ("JSONDecodeError", "the notebook file is not valid JSON (broken or not a notebook)"),
    ("NotJSONError", "the notebook file is not valid JSON (broken or not a notebook)"),
    ("NBFormatError", "the file is not a valid Jupyter notebook"),
    ("ValidationError", "the file is not a valid Jupyter notebook"),
    (
        "CellTimeoutError",
        "a cell kept running after its time limit and ignored the "
        "interrupt (infinite loop that blocks interrupts?)",
    ),
    ("UnresponsiveKernelError", "the kernel stopped responding"),
)


#: ``python -m nbgrader``, without the optional rfc3987_syntax that jsonschema (imported by
#: nbformat) would load: it compiles a grammar for 3-4 CPU seconds at every start, and
#: nbformat's schema never uses it.
_NBGRADER_MAIN = (
    "import runpy, sys; sys.modules['rfc3987_syntax'] = None; "
    "runpy.run_module('nbgrader', run_name='__main__', alter_sys=True)"
)


def course_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the course's commands run in: this Python's bin first, quiet progress."""
    env = dict(os.environ)
    # nbgrader runs `alembic` (to create the gradebook) from PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    env["COURSE_PROGRESS"] = "0"
    env.update(extra_env or {})
    return env


def _read_log(f) -> str:
    """The output in the binary file ``f``: all of it, or its head and tail if it is long."""
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= MAX_LOG_CHARS:
        return f.read().decode("utf-8", "replace")
    head = f.read(MAX_LOG_CHARS // 2).decode("utf-8", "replace")
    f.seek(size - MAX_LOG_CHARS // 2)
    tail = f.read().decode("utf-8", "replace")
    return f"{head}\n[grading] ... {size - MAX_LOG_CHARS} bytes of log cut ...\n{tail}"


def run_nbgrader(
    args: Sequence[str],
    course_dir: str | Path,
    *,
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``nbgrader <args>`` in ``course_dir`` and return ``(exit code, output)``.

    The command runs in a process group of its own, its output goes to a file (so that no
    process it leaves behind can hold a pipe open), and if it takes longer than ``timeout``
    seconds the whole group is killed and the exit code is -9.  Where it can, the process is
    forked from a server that has imported nbgrader already (:mod:`course_grader.forkrun`),
    which saves about 3.5 CPU seconds per command.
    """
    if forkrun.available():
        code, log = forkrun.run(args, str(course_dir), course_env(extra_env), timeout)
        if code is None:
            return -9, log + f"\n[grading] stopped after {timeout:.0f} s\n"
        return code, log
    with tempfile.TemporaryFile() as raw:
        proc = subprocess.Popen(
            [sys.executable, "-c", _NBGRADER_MAIN, *map(str, args)],
            cwd=course_dir,
            env=course_env(extra_env),
            stdout=raw,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        note = ""
        try:
            proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
            _kill_group(proc)
            if isinstance(exc, KeyboardInterrupt):
                raise
            note = f"\n[grading] stopped after {timeout:.0f} s\n"
        finally:
            _kill_group(proc)  # whatever the command left running in its group
        log = _read_log(raw)
    return (-9 if note else proc.returncode), log + note


def _kill_group(proc: subprocess.Popen) -> None:
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    else:  # pragma: no cover (Windows)
        proc.kill()
    proc.wait()


def load_coursedir(course_dir: Path):
    """nbgrader's CourseDirectory of the course in ``course_dir`` (with its nbgrader_config.py)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (course_dir / "nbgrader_config.py").is_file():
        raise FileNotFoundError(
            f"{course_dir} has no nbgrader_config.py: run this from the course's root folder "
            "or pass --course-dir."
        )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course_dir)
    return coursedir


def failure_reason(log: str) -> str:
    """The most telling reason for a failed nbgrader command, from its output."""
    if "[grading] stopped after" in log:
        return log.strip().splitlines()[-1].replace("[grading] ", "grading was ")
    for marker, reason in _FAILURE_REASONS:
        if marker in log:
            return reason
    errors = [
        line.strip()
        for line in log.splitlines()
        if re.match(r"\s*\w+(\.\w+)*(Error|Exception)\b", line.strip())
    ]
    if errors:
        return errors[-1][:300]
    lines = [line for line in log.strip().splitlines() if "ERROR" in line]
    return (lines[-1] if lines else "nbgrader failed without a message")[:300]
