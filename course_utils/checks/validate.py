"""The course's *Validate*: nbgrader's validator with the course's settings, from any folder.

nbgrader's own ``nbgrader validate`` reads ``nbgrader_config.py`` only from the
current folder (run from an exercise folder it uses a 30 s cell limit instead
of the course's), exits 0 even when tests fail, and says "Success!" when a
cell was stopped at the time limit but the test cells after it still passed.
This module fixes all three:

- :func:`course_config` finds the course's ``nbgrader_config.py`` by walking
  up from the notebook, so the limits are the course's wherever you run it;
- :class:`CourseValidator` reports a cell stopped at the time limit as a
  failure, ``cell N ran past the 120 s limit``;
- the command line exits with status 1 when validation fails::

      python -m course_utils.checks.validate exercises/pes_refit/pes_refit.ipynb

It is also a Jupyter server extension (``make lab`` enables it instead of
nbgrader's ``validate_assignment``), so the **Validate** button in
JupyterLab's notebook toolbar runs the same validator.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from nbgrader.validator import Validator
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

#: The name nbgrader gives the error of a cell stopped at its time limit.
TIMEOUT_ERROR = "CellTimeoutError"
CONFIG_FILE = "nbgrader_config.py"


def find_course_root(start: str | os.PathLike) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``nbgrader_config.py``."""
    here = Path(start).resolve()
    for folder in [here, *here.parents] if here.is_dir() else here.parents:
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def course_config(start: str | os.PathLike = ".") -> Config:
    """nbgrader's configuration for a notebook at or below ``start``.

    The course's ``nbgrader_config.py`` (found by :func:`find_course_root`)
    wins over the files nbgrader itself would read: those in the Jupyter
    configuration path (``jupyter --paths``) and in the current folder.
    """
    from jupyter_core.paths import jupyter_config_path

    config = Config()
    folders = [*reversed(jupyter_config_path()), os.getcwd()]
    root = find_course_root(start)
    if root is not None:
        folders.append(str(root))
    for folder in dict.fromkeys(folders):  # lowest priority first, each folder once
        if (Path(folder) / CONFIG_FILE).is_file():
            config.merge(PyFileConfigLoader(CONFIG_FILE, path=folder).load_config())
    return config


class CourseValidator(Validator):
    """nbgrader's :class:`~nbgrader.validator.Validator`, failing on a timed-out cell.

    nbgrader interrupts a cell that runs past ``Execute.timeout`` and goes on
    with the next cells; its validator only looks at test cells, so a
    training cell stopped halfway went unnoticed.  Here every code cell with
    a ``CellTimeoutError`` counts as failed, with a message that says which
    cell and what the limit is.
    """

    #: What the last :meth:`validate` returned (``{}``: the notebook passed).
    last_results: dict | None = None

    def validate(self, filename: str) -> dict:
        self.last_results = super().validate(filename)
        return self.last_results

    def _timeout(self) -> int | None:
        from nbgrader.preprocessors import Execute

        return Execute(parent=self).timeout

    def _get_failed_cells(self, nb):
        failed = super()._get_failed_cells(nb)
        self._timed_out = {}
        for number, cell in enumerate(nb.cells, start=1):
            outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
            if any(o.get("ename") == TIMEOUT_ERROR for o in outputs):
                self._timed_out[id(cell)] = number
        timed_out = [c for c in nb.cells if id(c) in self._timed_out]
        return timed_out + [c for c in failed if id(c) not in self._timed_out]

    def _extract_error(self, cell) -> str:
        number = getattr(self, "_timed_out", {}).get(id(cell))
        if number is None:
            return super()._extract_error(cell)
        return (
            f"cell {number} ran past the {self._timeout()} s limit and was stopped, so "
            "the cells after it ran without its results. Make it faster (fewer epochs, "
            "a smaller model or less data): the grader stops it at the same limit."
        )


def validate(path: str | os.PathLike, config: Config | None = None) -> dict:
    """Validate one notebook with the course's settings; ``{}`` means it passed.

    Otherwise the dictionary has nbgrader's keys: ``"failed"`` (failing cells,
    each with ``"source"`` and ``"raw_error"``), ``"changed"`` (edited test
    cells) or ``"type_changed"``.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"no notebook {path}: check the path (it is relative to {Path.cwd()})"
        )
    validator = CourseValidator(config=config if config is not None else course_config(path))
    return validator.validate(str(path))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.checks.validate NOTEBOOK...``: exit 1 unless all pass."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.checks.validate",
        description="Run notebooks top to bottom in a fresh kernel with the course's "
        "settings and list every failing test (exit status 1 if any fails).",
    )
    parser.add_argument("notebooks", nargs="+", help="the notebook(s) to validate")
    args = parser.parse_args(argv)
    status = 0
    for name in args.notebooks:
        print(f"Validating {name} (this runs the whole notebook; it takes a minute)...")
        try:
            path = Path(name).resolve()
            validator = CourseValidator(config=course_config(path))
            validator.validate_and_print(str(path))
        except Exception as exc:  # noqa: BLE001 (any failure is reported, not raised)
            print(f"Could not validate {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        status |= bool(validator.last_results)
    return status


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "course_utils.checks.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Serve nbgrader's Validate button with :class:`CourseValidator`."""
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.validate_assignment.handlers import (
        NbGraderVersionHandler,
        ValidateAssignmentHandler,
    )
    from tornado import web

    class Handler(ValidateAssignmentHandler):
        def validate_notebook(self, path):
            root = Path(self.root_dir).resolve()
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                raise web.HTTPError(403, "Access denied: path outside allowed directory")
            try:
                value = validate(target)
            except Exception:  # noqa: BLE001 (shown to the student in the dialog)
                self.log.error(traceback.format_exc())
                return {"success": False, "value": traceback.format_exc()}
            return {"success": True, "value": value}

    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    base = webapp.settings["base_url"]
    webapp.add_handlers(
        ".*$",
        [
            (url_path_join(base, "assignments/validate"), Handler),
            (url_path_join(base, "nbgrader_version"), NbGraderVersionHandler),
        ],
    )
    serverapp.log.info("The course's Validate (course_utils.checks.validate) is loaded")


if __name__ == "__main__":
    sys.exit(main())
