"""The whole nbgrader class loop through an exchange directory, with real Unix accounts.

The instructor (the account running the tests, root) releases the tiny assignment; two
student accounts fetch it, answer and submit; the instructor collects, autogrades, generates
and releases feedback; the students fetch their feedback.  This is what a JupyterHub with a
shared exchange does (README, "For instructors").  The student accounts are created with
useradd and removed at the end, so the test needs root; it skips, saying why, where it
cannot run.

zip_collect (an LMS download sorted into submitted/) needs no accounts and runs anywhere.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from tiny_assignment import NAME, POINTS, nbgrader, score, tiny_course

COURSE_ID = "nn-compchem"
ANSWERS = {"s1": "def double(x):\n    return 2 * x", "s2": "def double(x):\n    return x + 2"}


def _python_for_others() -> tuple[str, dict[str, str]] | None:
    """An interpreter other accounts can run, with this environment's packages, or None."""
    site = sysconfig.get_paths()["purelib"]
    env = {
        "PYTHONPATH": os.pathsep.join([site, str(ROOT)]),
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),  # nbconvert's templates
    }
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(version) or "", f"/usr/bin/{version}"):
        if not python or not os.path.exists(python):
            continue
        check = subprocess.run(
            ["runuser", "-u", "nobody", "--", "env", *[f"{k}={v}" for k, v in env.items()]]
            + [python, "-S", "-c", "import nbgrader, course_grader"],
            capture_output=True,
            cwd="/",
        )
        if check.returncode == 0:
            return python, env
    return None


class Accounts:
    """Unix accounts made for the test, removed with their homes afterwards."""

    def __init__(self, python: str, env: dict[str, str], base: Path):
        self.python, self.env, self.base, self.names = python, env, base, []
        # nbgrader runs `alembic` from PATH to create a gradebook: a wrapper anyone can run.
        (base / "bin").mkdir()
        alembic = base / "bin" / "alembic"
        alembic.write_text(f'#!/bin/sh\nexec {python} -S -m alembic "$@"\n')
        alembic.chmod(0o755)

    def add(self, role: str) -> str:
        name = f"nbx{os.getpid() % 100000}{role}"
        subprocess.run(
            ["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name],
            check=True,
            capture_output=True,
        )
        self.names.append(name)
        return name

    def run(self, user: str, *args: str, cwd: Path | None = None) -> str:
        """``nbgrader <args>`` as ``user`` (in their home unless ``cwd``); its output."""
        home = Path(pwd.getpwnam(user).pw_dir)
        env = {
            **self.env,
            "HOME": str(home),
            "USER": user,
            "LOGNAME": user,
            "PATH": f"{self.base / 'bin'}:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": str(self.base / "etc"),  # like /etc/jupyter on a hub
        }
        command = ["runuser", "-u", user, "--", "env", "-i"]
        command += [f"{k}={v}" for k, v in env.items()]
        command += [self.python, "-S", "-m", "nbgrader", *args]  # -S: no system packages
        run = subprocess.run(command, cwd=cwd or home, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{user}: nbgrader {' '.join(args)}\n{run.stdout}{run.stderr}"
        return run.stdout + run.stderr

    def as_user(self, user: str, code: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", user, "--", self.python, "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
        )

    def remove(self) -> None:
        for name in self.names:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture
def accounts():
    if os.geteuid() != 0:
        pytest.skip("needs root to create the instructor and student accounts (useradd)")
    if not (shutil.which("useradd") and shutil.which("runuser")):
        pytest.skip("needs useradd, userdel and runuser (Debian: passwd, util-linux)")
    found = _python_for_others()
    if found is None:
        pytest.skip(
            f"other accounts cannot run this Python ({sys.executable}: it lies in a private "
            "home) and no system python of the same version can import nbgrader from it"
        )
    base = Path(tempfile.mkdtemp(prefix="nbgrader-exchange-", dir="/tmp"))
    base.chmod(0o755)
    made = Accounts(*found, base)
    try:
        yield made
    finally:
        made.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_release_fetch_submit_collect_grade_feedback_with_real_accounts(accounts):
    base = accounts.base
    students = {s: accounts.add(s) for s in ANSWERS}

    # What a hub administrator sets up once: the exchange, writable by everyone, and one
    # nbgrader_config.py that every account reads (here JUPYTER_CONFIG_PATH=<base>/etc).
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    (base / "etc").mkdir()
    (base / "etc" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
    )
    course = tiny_course(base / "course")

    def instructor(*args):
        run = nbgrader(*args, cwd=course, env={"JUPYTER_CONFIG_PATH": str(base / "etc")})
        assert run.returncode == 0, f"nbgrader {' '.join(args)}\n{run.stdout}{run.stderr}"

    # Instructor: register and release.
    instructor("generate_assignment", NAME, "--force")
    instructor("release_assignment", NAME)
    assert (exchange / COURSE_ID / "outbound" / NAME / f"{NAME}.ipynb").is_file()

    # Students: fetch, answer in their own home, submit.
    for key, user in students.items():
        home = Path(pwd.getpwnam(user).pw_dir)
        accounts.run(user, "fetch_assignment", NAME)
        notebook = home / NAME / f"{NAME}.ipynb"
        answered = accounts.as_user(
            user,
            "import json, sys\n"
            f"p = {str(notebook)!r}\n"
            "nb = json.load(open(p))\n"
            "cell = next(c for c in nb['cells'] if "
            "c['metadata'].get('nbgrader', {}).get('grade_id') == 'answer')\n"
            f"cell['source'] = {ANSWERS[key]!r}\n"
            "json.dump(nb, open(p, 'w'))\n",
            cwd=home,
        )
        assert answered.returncode == 0, answered.stderr
        accounts.run(user, "submit", NAME)
    # A student cannot list, so cannot copy, the other submissions.
    peek = accounts.as_user(
        students["s2"],
        f"import os; print(os.listdir({str(exchange / COURSE_ID / 'inbound')!r}))",
        cwd=base,
    )
    assert peek.returncode != 0 and "PermissionError" in peek.stderr

    # Instructor: collect, autograde, feedback.
    instructor("collect", NAME)
    for user in students.values():
        assert (course / "submitted" / user / NAME / f"{NAME}.ipynb").is_file()
    instructor("autograde", NAME, "--force")
    instructor("generate_feedback", NAME, "--force")
    instructor("release_feedback", NAME)
    assert score(course, students["s1"]) == POINTS
    assert score(course, students["s2"]) == 0

    # Students: fetch their own feedback, without the hidden test.
    for key, user in students.items():
        home = Path(pwd.getpwnam(user).pw_dir)
        accounts.run(user, "fetch_feedback", NAME)
        (page,) = (home / NAME / "feedback").glob(f"*/{NAME}.html")
        text = page.read_text()
        assert f"Score: {POINTS if key == 's1' else 0}" in text.replace(".0", "")
        assert "double(-3)" not in text  # the hidden test stays hidden
        assert page.stat().st_uid == pwd.getpwnam(user).pw_uid


@pytest.mark.slow
def test_zip_collect_sorts_an_lms_download(tmp_path):
    course = tiny_course(
        tmp_path,
        config_lines="c.FileNameCollectorPlugin.named_regexp = "
        r"r'.*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)'",
    )
    run = nbgrader("generate_assignment", NAME, "--force", cwd=course)
    assert run.returncode == 0, run.stdout + run.stderr
    release = nbformat.read(course / "exercises" / NAME / f"{NAME}.ipynb", as_version=4)
    archive = course / "downloaded" / NAME / "archive"
    archive.mkdir(parents=True)
    # What a Blackboard-style LMS download looks like: one zip, a file per student.
    with zipfile.ZipFile(archive / "gradebook.zip", "w") as zf:
        for student, answer in ANSWERS.items():
            nb = nbformat.from_dict(json.loads(json.dumps(release)))
            nb.cells[1].source = answer
            name = f"{NAME}_{student}_attempt_2026-12-03-10-00-00_{NAME}.ipynb"
            zf.writestr(name, nbformat.writes(nb))
    run = nbgrader("zip_collect", NAME, "--force", cwd=course)
    assert run.returncode == 0, run.stdout + run.stderr
    for student in ANSWERS:
        assert (course / "submitted" / student / NAME / f"{NAME}.ipynb").is_file()
    run = nbgrader("autograde", NAME, "--force", cwd=course)
    assert run.returncode == 0, run.stdout + run.stderr
    assert score(course, "s1") == POINTS and score(course, "s2") == 0
