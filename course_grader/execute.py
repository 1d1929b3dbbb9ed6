"""nbgrader's autograde with the student's code executed in a sandbox.

``nbgrader autograde`` restores the test cells (``OverwriteCells``), executes the notebook
(``Execute``) and saves the scores (``SaveAutoGrades``), all in one process with the grader's
rights.  :class:`SandboxedExecute` replaces ``Execute``: the restored notebook is executed by
:func:`course_grader.sandbox.execute_in_sandbox`, and every other preprocessor, the gradebook
writes included, stays in the trusted grader's process.  :func:`autograde_options` gives the
command-line options that make ``nbgrader autograde`` use it.
"""

from __future__ import annotations

import json
import os

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Float, Integer, List, Unicode

from .sandbox import GiB, Limits, MiB, execute_in_sandbox

#: Environment variables passed on to the sandbox when the grader has them.
FORWARDED_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class SandboxFailure(RuntimeError):
    """The sandboxed execution failed: its reason is for the instructor."""


class SandboxedExecute(Execute):
    """``Execute`` in a bubblewrap sandbox (``c.Execute.timeout`` is the per-cell limit).

    Configure the limits in ``nbgrader_config.py``, e.g.
    ``c.SandboxedExecute.memory_limit = 8 * 2**30``.
    """

    memory_limit = Integer(4 * GiB, help="address space of each process (bytes)").tag(config=True)
    cpu_limit = Integer(1800, help="CPU seconds of each process").tag(config=True)
    process_limit = Integer(256, help="processes and threads in the sandbox").tag(config=True)
    output_limit = Integer(1 * MiB, help="output kept per cell (bytes)").tag(config=True)
    wall_timeout = Float(1800.0, help="seconds before the sandbox is killed").tag(config=True)
    unsafe = Bool(False, help="run student code unconfined (no sandbox)").tag(config=True)
    sandbox_env = Dict({}, help="extra environment variables in the sandbox").tag(config=True)
    status_file = Unicode("", help="JSON lines file receiving each execution's outcome").tag(
        config=True
    )
    exports = List(Unicode(), help="files the notebook writes that come back").tag(config=True)
    export_dir = Unicode("", help="where the exported files are written").tag(config=True)

    def limits(self) -> Limits:
        return Limits(
            memory_bytes=self.memory_limit,
            cpu_seconds=self.cpu_limit,
            processes=self.process_limit,
            output_bytes=self.output_limit,
        )

    def preprocess(self, nb, resources=None, km=None):
        resources = resources or {}
        workdir = resources.get("metadata", {}).get("path") or "."
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        env.update(self.sandbox_env)
        result = execute_in_sandbox(
            nb,
            workdir,
            cell_timeout=self.timeout,
            wall_timeout=self.wall_timeout,
            limits=self.limits(),
            env=env,
            unsafe=self.unsafe,
            exports=list(self.exports),
        )
        if self.export_dir:
            for name, data in (result.exports or {}).items():
                with open(os.path.join(self.export_dir, os.path.basename(name)), "wb") as f:
                    f.write(data)
        if self.status_file:
            record = {
                "notebook": (resources.get("nbgrader") or {}).get("notebook"),
                "status": result.status,
                "reason": result.reason,
                "cell": result.cell,
                "seconds": round(result.seconds, 2),
                "peak_memory_bytes": result.peak_memory_bytes,
                "sandboxed": result.sandboxed,
            }
            with open(self.status_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if not result.ok or result.notebook is None:
            raise SandboxFailure(result.reason or f"sandboxed execution: {result.status}")
        return result.notebook, resources


def _dotted(item) -> str:
    return item if isinstance(item, str) else f"{item.__module__}.{item.__qualname__}"


def autograde_options(
    *,
    status_file: str,
    unsafe: bool = False,
    memory_limit: int | None = None,
    exports: tuple[str, ...] = (),
    export_dir: str = "",
) -> list[str]:
    """Options for ``nbgrader autograde`` that execute in the sandbox, trusted otherwise."""
    preprocessors = [
        "course_grader.execute.SandboxedExecute" if item is Execute else _dotted(item)
        for item in Autograde.class_traits()["autograde_preprocessors"].default()
    ]
    options = [f"--Autograde.autograde_preprocessors={p}" for p in preprocessors]
    options.append(f"--SandboxedExecute.status_file={status_file}")
    if unsafe:
        options.append("--SandboxedExecute.unsafe=True")
    options += [f"--SandboxedExecute.exports={name}" for name in exports]
    if export_dir:
        options.append(f"--SandboxedExecute.export_dir={export_dir}")
    if memory_limit:
        options.append(f"--SandboxedExecute.memory_limit={int(memory_limit)}")
    return options
