"""Start nbgrader commands from a fork server that has imported nbgrader once.

``python -m nbgrader`` spends about 3.5 CPU seconds importing nbgrader (its server extensions,
nbconvert, SQLAlchemy) before it does anything, and grading a small submission costs little
more than that.  :class:`ForkServer` starts :data:`SERVER` once, a plain script that imports
nbgrader and then, for every command it is sent, forks: the command runs in a fresh process of
its own, in a session of its own (whatever it leaves running is killed with its group), in the
folder and with exactly the environment it asks for, its output in a file, as
``python -m nbgrader <args>`` would, without the imports.  The server keeps no state between
commands: each is forked from the same freshly imported modules.

:func:`run` is what :func:`course_grader.commands.run_nbgrader` uses where :func:`available`
(Linux: ``pidfd_open``; ``COURSE_GRADER_FORKSERVER=0`` turns it off); it falls back to a
plain subprocess if the server cannot start.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["ForkServer", "available", "run"]

#: The server script (standard library and nbgrader only), started with this Python.
SERVER = Path(__file__).with_name("_nbgrader_forkserver.py")


def available() -> bool:
    """Whether commands can be forked from a server in this process."""
    if os.environ.get("COURSE_GRADER_FORKSERVER", "1") == "0":
        return False
    return _pidfd_works()


@functools.lru_cache(maxsize=1)
def _pidfd_works() -> bool:
    """Whether this system has pidfds (Linux 5.3 or later)."""
    if not (hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


class ForkServer:
    """One server process; :meth:`start` is safe to call from several threads at once."""

    def __init__(self, env: dict[str, str]):
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            text=True,
        )

    def start(self, args, cwd: str, env: dict[str, str], log: str, status: str) -> int:
        """Fork ``nbgrader <args>``; its pid (the leader of its own process group).

        It writes its output to ``log`` and, when it ends by itself, its exit code to
        ``status``.  Raises ``OSError`` if the server is gone.
        """
        request = {"args": [str(a) for a in args], "cwd": cwd, "env": env}
        request.update(log=log, status=status)
        with self._lock:
            if self._proc.poll() is not None:
                raise OSError("the nbgrader fork server has exited")
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            reply = self._proc.stdout.readline()
        if not reply:
            raise OSError("the nbgrader fork server has exited")
        return int(json.loads(reply)["pid"])

    def close(self) -> None:
        """Stop the server (commands it started run on)."""
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def _the_server(env: dict[str, str]) -> ForkServer:
    global _server
    with _server_lock:
        if _server is None or _server._proc.poll() is not None:
            _server = ForkServer(env)
            atexit.register(_server.close)
        return _server


def _kill(pid: int, pidfd: int | None) -> None:
    """Kill the command (through its pidfd: never another process that reuses its pid) and
    its process group."""
    if pidfd is not None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(pidfd: int | None, timeout: float | None) -> bool:
    """Whether the process of ``pidfd`` ended within ``timeout`` seconds (None: no limit)."""
    if pidfd is None:
        return True
    ready, _, _ = select.select([pidfd], [], [], timeout)
    return bool(ready)


def run(args, cwd: str, env: dict[str, str], timeout: float | None) -> tuple[int | None, str]:
    """Run ``nbgrader <args>`` forked from the server; ``(exit code, log file text)``.

    The exit code is None if the command was stopped after ``timeout`` seconds, and -9 if
    it was killed otherwise.  Whatever the command left running in its group is killed.
    """
    from .commands import _read_log

    with tempfile.TemporaryDirectory(prefix="nbgrader-run-") as tmp:
        log, status = os.path.join(tmp, "log"), os.path.join(tmp, "status")
        try:
            pid = _the_server(env).start(args, cwd, env, log, status)
        except OSError:  # the server died: once more, with a new one
            pid = _the_server(env).start(args, cwd, env, log, status)
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it has ended already
            pidfd = None
        try:
            ended = _wait(pidfd, timeout)
        finally:
            _kill(pid, pidfd)  # the command if still running, and what it left in its group
            _wait(pidfd, None)
            if pidfd is not None:
                os.close(pidfd)
        code = int(Path(status).read_text()) if os.path.exists(status) else -9
        text = ""
        if os.path.exists(log):
            with open(log, "rb") as f:
                text = _read_log(f)
    return (code if ended else None), text
