#!/usr/bin/env python
"""Check the course's time budgets on this machine (not part of the test suite).

    make benchmark                   # everything
    .venv/bin/python .ci/benchmark.py --only chapters

Budgets (wall time on a 2-core CPU):
- each chapter executes in 60 s or less;
- the whole book builds from a cold cache in 5 minutes or less;
- each reference solution autogrades in 90 s or less.

Prints a table and exits 1 if any budget is exceeded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUDGET_CHAPTER, BUDGET_BOOK, BUDGET_SOLUTION = 60.0, 300.0, 90.0


def _env() -> dict[str, str]:
    env = dict(os.environ, COURSE_PROGRESS="0")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for p in toc["parts"] for c in p["chapters"]]
    return [ROOT / f"{e}.ipynb" for e in entries if e.startswith("chapters/")]


def time_chapter(path: Path) -> float:
    os.environ.update(_env())
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def time_book() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "book"
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(out)],
            check=True,
            env=_env(),
            capture_output=True,
        )
        return time.perf_counter() - start


def time_solutions() -> dict[str, float]:
    from course_grader import grade_assignment

    times = {}
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        assignment = source.parent.name
        with tempfile.TemporaryDirectory() as tmp:
            course = Path(tmp)
            shutil.copy(ROOT / "nbgrader_config.py", course)
            shutil.copytree(ROOT / "solutions", course / "solutions")
            shutil.copytree(ROOT / "exercises", course / "exercises")
            target = course / "submitted" / "reference" / assignment
            target.mkdir(parents=True)
            shutil.copy(source, target / source.name)
            start = time.perf_counter()
            grade_assignment(assignment, course, feedback=False, export=False, echo=lambda *a: None)
            times[assignment] = time.perf_counter() - start
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["chapters", "book", "solutions"])
    args = parser.parse_args()
    rows: list[tuple[str, float, float]] = []
    if args.only in (None, "chapters"):
        for path in chapters():
            rows.append((f"chapter {path.stem}", time_chapter(path), BUDGET_CHAPTER))
            print(f"{rows[-1][0]:45s} {rows[-1][1]:7.1f} s", flush=True)
    if args.only in (None, "book"):
        rows.append(("whole book, cold cache", time_book(), BUDGET_BOOK))
        print(f"{rows[-1][0]:45s} {rows[-1][1]:7.1f} s", flush=True)
    if args.only in (None, "solutions"):
        for name, seconds in time_solutions().items():
            rows.append((f"autograde reference {name}", seconds, BUDGET_SOLUTION))
            print(f"{rows[-1][0]:45s} {rows[-1][1]:7.1f} s", flush=True)
    print(f"\n{'what':45s} {'seconds':>8s} {'budget':>7s}")
    over = 0
    for name, seconds, budget in rows:
        flag = "" if seconds <= budget else "  OVER BUDGET"
        over += bool(flag)
        print(f"{name:45s} {seconds:8.1f} {budget:7.0f}{flag}")
    print(f"\n{nproc()} CPU cores; {'all within budget' if not over else f'{over} over budget'}")
    return 1 if over else 0


def nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
