"""The fork server of :mod:`course_grader.forkrun` (a script: standard library and nbgrader).

It imports nbgrader once, then reads one request per line on standard input (JSON:
``{"args": [...], "cwd": str, "env": {...}, "log": path, "status": path}``) and forks for each:
the child becomes ``python -m nbgrader <args>`` in a session of its own, in ``cwd``, with
exactly ``env``, standard input from ``/dev/null`` and its output in ``log``; when it ends by
itself it writes its exit code to ``status``.  The server answers each request with a line
``{"pid": n}``; it reaps its children as they end (so that their resource usage, CPU time
and peak memory, counts as the grader's children's, as that of a plain subprocess would) and,
when its standard input closes, waits for those still running and exits.
"""

import json
import os
import runpy
import signal
import sys
import traceback

# jsonschema (imported by nbformat) would import the optional rfc3987_syntax, which compiles a
# grammar for 3-4 CPU seconds; nbformat's schema never needs it.
sys.modules.setdefault("rfc3987_syntax", None)

import nbgrader.apps.nbgraderapp  # noqa: E402, F401  (what every command needs, imported once)


def _child(request: dict) -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command waits for its own children
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.argv = ["nbgrader", *request["args"]]
    try:
        runpy.run_module("nbgrader", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported in the log, as python -m would
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    with open(request["status"], "w") as f:
        f.write(str(code))
    return code


def _reap(*_) -> None:
    """Reap every child that has ended."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                os._exit(code & 0xFF)
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break


if __name__ == "__main__":
    main()
