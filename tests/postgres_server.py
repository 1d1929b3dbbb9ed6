"""A throw-away PostgreSQL server for tests: the ``postgres_url`` fixture (one copy).

The Optuna tests (tests/course_utils/test_tuning.py) and the gradebook tests
(tests/course_grader/test_parallel.py) use it; conftest.py makes it available everywhere.
Skips with the reason when no server binaries or no driver are installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _postgres_bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_ctl"):
        candidates.append(Path(shutil.which("pg_ctl")).resolve().parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for d in candidates:
        if all((d / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _postgres_driver() -> str | None:
    for module, dialect in (
        ("psycopg2", "postgresql+psycopg2"),
        ("psycopg", "postgresql+psycopg"),
        ("pg8000", "postgresql+pg8000"),
    ):
        try:
            __import__(module)
        except ImportError:
            continue
        return dialect
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL cluster on 127.0.0.1, stopped and deleted afterwards."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH "
            "or in /usr/lib/postgresql/*/bin; install e.g. Debian's postgresql package"
        )
    dialect = _postgres_driver()
    if dialect is None:
        pytest.skip("no PostgreSQL driver for SQLAlchemy; pip install psycopg2-binary")
    run_as = {}
    if os.geteuid() == 0:  # initdb refuses to run as root: use an unprivileged account
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            break
        else:
            pytest.skip("running as root and no unprivileged 'postgres' or 'nobody' account")
    base = Path(tempfile.mkdtemp(prefix="course-pg-"))
    data, log = base / "data", base / "server.log"
    if run_as:
        os.chown(base, run_as["user"], run_as["group"])
    port = _free_port()
    env = dict(os.environ, LC_ALL="C", LANG="C")

    def pg(*args, check=True):
        return subprocess.run(
            [str(bindir / args[0]), *args[1:]],
            env=env,
            cwd=base,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
            **run_as,
        )

    started = False
    try:
        pg("initdb", "-D", str(data), "-U", "optuna", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
        result = pg(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
            check=False,
        )
        if result.returncode != 0:
            text = log.read_text() if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{text[-3000:]}")
        started = True
        yield f"{dialect}://optuna@127.0.0.1:{port}/postgres"
    finally:
        if started:
            pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)
