#!/usr/bin/env python
"""Check the course's budgets on this machine and write ``benchmarks.md`` (not a test).

    make benchmark                          # everything, 3 runs per row
    .venv/bin/python .ci/benchmark.py --only chapters --runs 1

Budgets (wall time on a 2-core CPU):
- each chapter executes in 60 s or less;
- the whole book builds from a cold cache in 5 minutes or less;
- each reference solution autogrades in 90 s or less.

Each timed row is the median of ``--runs`` runs, and is reported as a ratio to its
budget. Peak memory is the largest resident set of any process the measured
command started (the kernels included). Other issues add their rows through
``EXTRA_ROWS`` below. Prints the table, writes ``benchmarks.md`` next to the
README and exits 1 if any budget is exceeded.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from course_grader import course_env  # noqa: E402
from course_grader.course import copy_course, toc_entries  # noqa: E402

BUDGET_CHAPTER, BUDGET_BOOK, BUDGET_SOLUTION = 60.0, 300.0, 90.0

# A row: (what, value, unit, budget or None, note)
Row = tuple[str, float, str, "float | None", str]

_PEAK = (
    "import resource, subprocess, sys, json, time;"
    "t = time.perf_counter();"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,"
    " text=True);"
    "print(json.dumps({'rc': r.returncode, 'seconds': time.perf_counter() - t,"
    " 'kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'err': r.stderr[-3000:]}))"
)


def measure(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """Run ``cmd`` in a fresh process; return (wall seconds, peak RSS in MiB of any descendant)."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, *cmd],
        cwd=cwd,
        env=course_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result['err']}")
    return result["seconds"], result["kib"] / 1024


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def chapters() -> list[Path]:
    return [ROOT / f"{e}.ipynb" for e in toc_entries(ROOT) if e.startswith("chapters/")]


def time_chapter(path: Path) -> float:
    """Execute a chapter in a fresh kernel (as the book does) and return the seconds."""
    code = (
        "import sys, time, nbformat; from nbclient import NotebookClient;"
        "nb = nbformat.read(sys.argv[1], as_version=4); t = time.perf_counter();"
        "NotebookClient(nb, timeout=600, resources={'metadata': {'path': sys.argv[2]}}).execute();"
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.parent)],
        env=course_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def book_rows() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", tmp]
        cold, peak = measure(cmd)
        cached, _ = measure(cmd)
    return [
        ("whole book, cold cache", cold, "s", BUDGET_BOOK, "executes every chapter"),
        ("whole book, cached", cached, "s", None, "nothing changed since the cold build"),
        ("peak memory, book build", peak, "MiB", None, "largest process (a kernel or Sphinx)"),
    ]


def autograde_reference(source: Path, *options: str) -> tuple[float, float, float]:
    """Autograde the reference solution ``source`` as the only student of a fresh copy of
    the course; return (wall seconds, peak MiB of one process, peak MiB of its sandbox).

    The sandbox's peak is the grader's own measurement (``grading_report.csv``): all the
    processes inside together, which the largest single process (``ru_maxrss``) misses."""
    import csv

    assignment = source.parent.name
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(ROOT, tmp, [assignment])
        target = course / "submitted" / "reference" / assignment
        target.mkdir(parents=True)
        (target / source.name).write_bytes(source.read_bytes())
        cmd = [sys.executable, "-m", "course_grader", assignment, "--course-dir", tmp, *options]
        seconds, peak = measure(cmd, cwd=course)
        with open(course / "grading_report.csv", newline="") as f:
            (row,) = csv.DictReader(f)
        return seconds, peak, float(row["peak_memory_mib"] or "nan")


def solution_rows(runs: int) -> list[Row]:
    rows: list[Row] = []
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        assignment = source.parent.name
        times, peaks, _ = zip(*(autograde_reference(source) for _ in range(runs)))
        rows.append(
            (
                f"autograde reference, {assignment}",
                statistics.median(times),
                "s",
                BUDGET_SOLUTION,
                "one student: register, autograde, feedback, export",
            )
        )
        rows.append((f"peak memory, autograde {assignment}", max(peaks), "MiB", None, ""))
    return rows


def sandbox_rows() -> list[Row]:
    """What the sandbox costs: one reference submission graded with and without it."""
    source = ROOT / "solutions" / "digit_classifier" / "digit_classifier.ipynb"
    boxed, _, boxed_peak = autograde_reference(source)
    bare, _, bare_peak = autograde_reference(source, "--unsafe")
    note = "digit_classifier reference, one submission"
    peak_note = "all its processes together (PSS, sampled from outside every 0.1-1 s)"
    return [
        ("seconds per submission, sandboxed", boxed, "s", None, note),
        ("seconds per submission, no sandbox (--unsafe)", bare, "s", None, note),
        ("peak memory per submission, sandboxed", boxed_peak, "MiB", None, peak_note),
        ("peak memory per submission, no sandbox (--unsafe)", bare_peak, "MiB", None, peak_note),
    ]


def trajectory_rows() -> list[Row]:
    """Trajectory-steps per second, one molecule per call against one batch of 1,000."""
    import numpy as np
    import torch

    from course_utils import pes
    from course_utils.dynamics import run_scattering, sample_initial_conditions

    torch.set_num_threads(1)
    os.environ["COURSE_PROGRESS"] = "0"
    start = sample_initial_conditions(np.full(1000, 0.2), z_start=6.5, rng=7)
    t, steps = time.perf_counter(), 0
    for i in range(3):
        one = run_scattering(start.subset([i]), pes.energy_and_forces, dt=1.0, max_time=300.0)
        steps += one.verlet.n_trajectory_steps
    loop = steps / (time.perf_counter() - t)
    batch = run_scattering(start, pes.energy_and_forces, dt=1.0, max_time=300.0).verlet.throughput
    return [
        ("trajectory-steps per second, one at a time", loop, "1/s", None, "reference PES"),
        ("trajectory-steps per second, batch of 1,000", batch, "1/s", None, "reference PES"),
        ("batched against one at a time", batch / loop, "×", None, "speed-up"),
    ]


def ethanol_rows() -> list[Row]:
    """Chapter 8's SchNet-style potential: test errors and training time, glued by a fresh run."""
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import glued_values

    path = ROOT / "chapters" / "08_molecular_potentials.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    glued = glued_values(nb)
    note = "chapter 8, GFN2-xTB ethanol, 300 held-out frames"
    return [
        ("ethanol potential, energy MAE", glued["e_mae_meV"], "meV", None, note),
        ("ethanol potential, force MAE", 1000 * glued["f_mae"], "meV/Å", None, "goal <= 100"),
        ("ethanol potential, training time", glued["train_seconds"], "s", None, "1 core"),
        ("chapter 8, kernel CPU time", glued["chapter_cpu_seconds"], "s", None, "user + sys"),
    ]


_GRADE = (
    "import sys; from course_grader import grade_assignment;"
    "grade_assignment(sys.argv[1], sys.argv[2], echo=None, jobs=int(sys.argv[3]),"
    " feedback=False, export=False)"
)


def _cpu_seconds(cmd: list[str]) -> tuple[float, str]:
    """Run ``cmd``; the CPU seconds (user + system) of every process it started, and how
    they were counted: in a cgroup v1 ``cpuacct`` group of its own where one can be made
    (root), else as the waited-for children's usage (which misses the sandbox's processes
    killed at its end)."""
    group = Path(f"/sys/fs/cgroup/cpuacct/course-benchmark-{os.getpid()}")
    try:
        group.mkdir()
    except OSError:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, env=course_env(), check=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return cpu, "waited-for processes only"
    try:
        enter = f'echo $$ > "{group}/cgroup.procs" && exec "$@"'
        subprocess.run(["sh", "-c", enter, "sh", *cmd], env=course_env(), check=True, cwd=ROOT)
        return int((group / "cpuacct.usage").read_text()) / 1e9, "every process (cpuacct)"
    finally:
        group.rmdir()


def parallel_grading_rows(n: int = 10) -> list[Row]:
    """``n`` submissions of the tiny assignment graded one at a time, then 2 at a time, each
    in a fresh process: wall and CPU seconds (:func:`_cpu_seconds`)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_assignment import NAME, tiny_class

    wall, cpu = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        for jobs in (1, 2):
            course = Path(tmp) / f"jobs{jobs}"
            tiny_class(course, n)
            t = time.perf_counter()
            cmd = [sys.executable, "-c", _GRADE, NAME, str(course), str(jobs)]
            cpu[jobs], how = _cpu_seconds(cmd)
            wall[jobs] = time.perf_counter() - t
    note = f"{n} submissions of the tiny assignment, sandboxed, without feedback"
    return [
        (f"grading {n} submissions, one at a time", wall[1], "s", None, note),
        (f"grading {n} submissions, JOBS=2", wall[2], "s", None, "Dask LocalCluster"),
        ("JOBS=2 against one at a time", wall[1] / wall[2], "×", None, "goal >= 1.7"),
        (f"CPU time, {n} submissions one at a time", cpu[1], "s", None, f"user + system, {how}"),
        (f"CPU time, {n} submissions, JOBS=2", cpu[2], "s", None, f"user + system, {how}"),
        (
            "extra CPU per submission with JOBS=2",
            (cpu[2] - cpu[1]) / n,
            "s",
            None,
            "the cluster and the parent's threads",
        ),
    ]


def pes_fit_rows() -> list[Row]:
    """The course's best O2/Pd(100) fit (pes.fitting.train_o2_potential with its defaults):
    test errors over E <= 2 eV, training time, and dynamics against the reference PES
    from the same 1,280 starts as chapter 7 (8 energies x 160)."""
    import numpy as np
    import torch

    from course_utils import pes
    from course_utils.dynamics import paired_difference, run_scattering, sample_initial_conditions
    from course_utils.pes.fitting import train_o2_potential
    from course_utils.potentials import energy_and_forces

    os.environ["COURSE_PROGRESS"] = "0"
    torch.set_num_threads(2)
    potential, history, _ = train_o2_potential()
    test = pes.load_pes_dataset("test", n=2000, seed=0, forces=True)
    e, f = energy_and_forces(potential, pes.to_cartesian(test.coords))
    torch.set_num_threads(1)  # many small tensor operations
    energies = np.repeat([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5], 160)
    start = sample_initial_conditions(energies, z_start=6.5, rng=7)
    ref, fit = (
        run_scattering(start, p, dt=1.0, max_time=2000.0).outcome
        for p in (pes.energy_and_forces, potential)
    )
    values, diff, se, _ = paired_difference(fit, ref, start.incidence_energy)
    note = f"{len(history['train_loss'])} epochs, 2 threads; CPU {history['cpu_seconds']:.0f} s"
    return [
        (
            "O2/Pd fit, test energy RMSE (E <= 2 eV)",
            1000 * np.sqrt(np.mean((e - test.energy) ** 2)),
            "meV",
            50.0,
            "stretch goal 25 meV; 2,000 test points",
        ),
        (
            "O2/Pd fit, test force RMSE",
            float(np.sqrt(np.mean((f - test.forces) ** 2))),
            "eV/Å",
            0.25,
            "",
        ),
        ("O2/Pd fit, training time", history["seconds"], "s", 60.0, note),
        (
            "O2/Pd fit, same outcome as the reference",
            100 * float(np.mean(fit == ref)),
            "%",
            None,
            f"goal >= 95 %; {len(ref)} trajectories",
        ),
        (
            "O2/Pd fit, energies within 1 paired SE",
            float(np.sum(np.abs(diff) <= se)),
            "of 8",
            None,
            "goal 8 of 8; P(dissociation) fit - reference: "
            + ", ".join(f"{d:+.3f}±{s:.3f}" for d, s in zip(diff, se)),
        ),
    ]


#: Rows other parts of the course add: name -> function returning rows.
EXTRA_ROWS: dict[str, Callable[[], list[Row]]] = {
    "trajectories": trajectory_rows,
    "sandbox": sandbox_rows,
    "ethanol": ethanol_rows,
    "parallel_grading": parallel_grading_rows,
    "pes_fit": pes_fit_rows,
}


def write_markdown(rows: list[Row], runs: int, path: Path) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make benchmark` (`.ci/benchmark.py`) on "
        f"{datetime.date.today().isoformat()}: {nproc()} CPU cores, "
        f"{platform.machine()}, Python {platform.python_version()}, no GPU used. "
        f"Timed rows are the median of {runs} run(s); a ratio above 1 is over budget.",
        "",
        "| what | value | budget | ratio to budget | note |",
        "|---|---:|---:|---:|---|",
    ]
    for name, value, unit, budget, note in rows:
        shown = f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
        if budget is None:
            lines.append(f"| {name} | {shown} | | | {note} |")
        else:
            flag = " **over**" if value > budget else ""
            lines.append(
                f"| {name} | {shown} | {budget:.0f} {unit} | {value / budget:.2f}{flag} | {note} |"
            )
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["chapters", "book", "solutions", *EXTRA_ROWS])
    parser.add_argument("--runs", type=int, default=3, help="runs per timed row (median)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks.md")
    args = parser.parse_args()
    rows: list[Row] = []

    def add(new: list[Row]) -> None:
        for row in new:
            print(f"{row[0]:50s} {row[1]:10.1f} {row[2]}", flush=True)
        rows.extend(new)

    if args.only in (None, "chapters"):
        for path in chapters():
            seconds = median_of(args.runs, lambda p=path: time_chapter(p))
            add([(f"chapter {path.stem}", seconds, "s", BUDGET_CHAPTER, "")])
    if args.only in (None, "book"):
        add(book_rows())
    if args.only in (None, "solutions"):
        add(solution_rows(args.runs))
    failed = []
    for name, fn in EXTRA_ROWS.items():
        if args.only in (None, name):
            try:
                add(fn())
            except Exception as exc:  # one broken row must not lose the others
                print(f"{name}: FAILED: {exc}", file=sys.stderr, flush=True)
                failed.append(name)
                rows.append(
                    (f"{name} (failed)", float("nan"), "", None, " ".join(str(exc).split())[:200])
                )
    over = [r for r in rows if r[3] is not None and r[1] > r[3]] + failed
    if args.only is None:
        write_markdown(rows, args.runs, args.output)
        print(f"\nwrote {args.output}")
    print(f"{nproc()} CPU cores; {'all within budget' if not over else f'{len(over)} over budget'}")
    return 1 if over else 0


def nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
