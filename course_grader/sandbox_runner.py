"""Execute one notebook inside the grader's sandbox, then report (trusted code).

:mod:`course_grader.sandbox` starts this file with the course's Python inside bubblewrap, as a
plain script (``python sandbox_runner.py``): it imports nothing from the course, only the
standard library, nbformat and nbclient.  It is the first code to run in the sandbox and the
only code besides the student's.  It

1. reads one job (JSON) from standard input: ``{"notebook": <notebook>, "cell_timeout": s,
   "startup_timeout": s, "max_output_bytes": n, "limits": {...}, "uid": n}``; the notebook,
   hidden tests included, is never written to a file the student's code could read;
2. drops root (to ``uid``), makes itself undumpable (so the kernel, same user, cannot read its
   memory or file descriptors through ``/proc``) and sets the resource limits that the kernel
   inherits: address space, CPU seconds, processes, file size, no core files;
3. executes the notebook with nbclient, the kernel's standard streams going to ``/dev/null``,
   keeping at most ``max_output_bytes`` of output per cell (a note says what was cut); the first
   cell that runs past its time limit, or a kernel that dies, stops the run;
4. writes one result (JSON) to its standard output, a file only the grader reads:
   ``{"status": "ok" | "timeout" | "dead" | "error", "reason": str | None, "cell": int | None,
   "notebook": <executed notebook>, "peak_memory_bytes": n, "seconds": s, "exports": {name:
   base64}}``, where ``exports`` holds the files named in the job's ``"exports"`` that the
   notebook wrote (a model for the grader to evaluate, see :mod:`course_grader.heldout`).
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import resource
import subprocess
import sys
import time

PR_SET_DUMPABLE = 4
LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
}


def _confine(job: dict) -> None:
    """Drop root, become undumpable, set the limits (all before any student code runs)."""
    uid = int(job.get("uid", 65534))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name, value in (job.get("limits") or {}).items():
        if value:
            resource.setrlimit(LIMITS[name], (int(value), int(value)))


def _text_size(content: dict) -> int:
    return len(json.dumps(content, default=str))


def _cell_name(nb, index: int) -> str:
    cell = nb.cells[index]
    grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def _make_client(nb, job: dict):
    import nbformat
    from nbclient import NotebookClient

    cap = int(job.get("max_output_bytes", 1 << 20))

    class CappedClient(NotebookClient):
        """nbclient, keeping at most ``cap`` bytes of output per cell."""

        used: dict = {}
        cut: set = set()
        current: int | None = None

        def output(self, outs, msg, display_id, cell_index):
            size = _text_size(msg.get("content", {}))
            used = self.used.get(cell_index, 0)
            if used + size > cap:
                if cell_index not in self.cut and msg["msg_type"] == "stream":
                    room = max(cap - used, 0)
                    msg = {**msg, "content": {**msg["content"]}}
                    msg["content"]["text"] = msg["content"].get("text", "")[:room]
                    self.used[cell_index] = cap
                    self.cut.add(cell_index)
                    return super().output(outs, msg, display_id, cell_index)
                self.cut.add(cell_index)
                return None
            self.used[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            self.current = cell_index
            try:
                return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
            finally:
                if cell_index in self.cut:
                    note = (
                        f"[grader] output cut: this cell printed more than {cap} bytes; "
                        f"the first {cap} bytes are kept.\n"
                    )
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=note))

    def record_error(cell, cell_index, execute_reply):
        # As nbgrader's Execute: a cell whose reply is an error but that published no error
        # output (a custom exception handler, a disabled traceback) still fails.
        reply = execute_reply["content"]
        if reply.get("status") == "error" and not any(
            o.get("output_type") == "error" and o.get("ename") == reply.get("ename")
            for o in cell.outputs
        ):
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename=reply.get("ename", "Error"),
                    evalue=reply.get("evalue", ""),
                    traceback=reply.get("traceback") or ["ERROR: the cell failed"],
                )
            )

    return CappedClient(
        nb,
        on_cell_executed=record_error,
        timeout=job.get("cell_timeout"),
        startup_timeout=int(job.get("startup_timeout", 60)),
        interrupt_on_timeout=False,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": os.getcwd()}},
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
    )


def run(job: dict) -> dict:
    """Execute ``job["notebook"]``; the result dict described in the module docstring."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    start = time.perf_counter()
    nb = nbformat.from_dict(job["notebook"])
    client = _make_client(nb, job)
    status, reason, cell = "ok", None, None
    try:
        quiet = subprocess.DEVNULL
        client.execute(stdin=quiet, stdout=quiet, stderr=quiet)
    except CellTimeoutError:
        status, cell = "timeout", client.current
        reason = f"{_cell_name(nb, cell)} ran past the {job.get('cell_timeout')} s limit"
    except DeadKernelError:
        status, cell = "dead", client.current
        where = _cell_name(nb, cell) if cell is not None else "startup"
        reason = (
            f"the kernel died in {where}: the notebook exits or kills Python (os._exit, a crash, "
            "or more memory than the sandbox's limit)"
        )
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        status, cell = "error", client.current
        reason = f"execution failed: {type(exc).__name__}: {str(exc)[:300]}"
    exports = {}
    for name in job.get("exports") or []:
        path = os.path.join(os.getcwd(), name)
        if os.path.isfile(path) and not os.path.islink(path):
            if os.path.getsize(path) <= int(job.get("max_export_bytes", 64 << 20)):
                with open(path, "rb") as f:
                    exports[name] = base64.b64encode(f.read()).decode("ascii")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "status": status,
        "reason": reason,
        "cell": cell,
        "notebook": nb,
        "peak_memory_bytes": max(children, own) * 1024,
        "seconds": time.perf_counter() - start,
        "exports": exports,
    }


def run_script(job: dict) -> dict:
    """Run the grader's own ``job["script"]`` (it defines ``evaluate(*args) -> JSON value``)
    on files in the working folder: an evaluation in a clean process, no student code run."""
    namespace = {"__name__": "__grader__"}
    try:
        exec(compile(job["script"], "<grader evaluation>", "exec"), namespace)
        value = namespace["evaluate"](*job.get("args", []))
        json.dumps(value)
        return {"status": "ok", "value": value}
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:500]}


def main() -> int:
    # jsonschema (imported by nbformat) imports the optional rfc3987_syntax, which compiles a
    # grammar for 3-4 CPU seconds at every start; nbformat's schema never needs it.
    sys.modules.setdefault("rfc3987_syntax", None)
    job = json.loads(sys.stdin.read())
    _confine(job)
    # Only the runner writes to the result: whatever else prints goes to /dev/null.
    result_fd = os.dup(sys.stdout.fileno())
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    result = run_script(job) if "script" in job else run(job)
    out = os.fdopen(result_fd, "w", encoding="utf-8")
    json.dump(result, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
