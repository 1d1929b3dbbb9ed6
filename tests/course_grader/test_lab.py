"""Separate Labs: `make lab` for students (no Formgrader), `make formgrader` for instructors.

The configurations are in lab_config/student and lab_config/instructor (JUPYTER_CONFIG_DIR).
The slow tests start each server briefly on localhost and ask it for the pages.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from tiny_assignment import NAME, tiny_course

STUDENT, INSTRUCTOR = ROOT / "lab_config" / "student", ROOT / "lab_config" / "instructor"
HIDDEN_FROM_STUDENTS = ("formgrader", "course_list", "validate_assignment")
PLUGINS_OFF = ("formgrader", "create-assignment", "course-list")


def jupyter(*args, config_dir: Path, cwd: Path = ROOT) -> str:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "NO_COLOR": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)


def server_extensions(config_dir: Path) -> dict[str, bool]:
    """What the course's config dir switches on and off (the section for that dir)."""
    text = jupyter("server", "extension", "list", config_dir=config_dir)
    section = text.split(f"Config dir: {config_dir}")[1].split("Config dir:")[0]
    return {
        name: state == "enabled"
        for name, state in re.findall(r"^\s+(\S+) (enabled|disabled)$", section, re.M)
    }


@pytest.mark.slow  # starts jupyter: ~13 s
def test_student_lab_switches_off_the_instructor_extensions():
    states = server_extensions(STUDENT)
    for ext in HIDDEN_FROM_STUDENTS:
        assert states[f"nbgrader.server_extensions.{ext}"] is False
    assert states["course_utils.checks.validate"] is True
    text = jupyter("labextension", "list", config_dir=STUDENT)
    disabled = text.split("Disabled extensions:")[1]
    for plugin in PLUGINS_OFF:
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled


@pytest.mark.slow  # starts jupyter: ~13 s
def test_instructor_lab_keeps_the_formgrader():
    states = server_extensions(INSTRUCTOR)
    assert "nbgrader.server_extensions.formgrader" not in states  # on, from the environment
    assert states["nbgrader.server_extensions.validate_assignment"] is False
    assert states["course_utils.checks.validate"] is True
    text = jupyter("labextension", "list", config_dir=INSTRUCTOR)
    assert "@jupyter/nbgrader:formgrader" not in text.split("Disabled extensions:")[-1]


def test_make_targets_use_the_configs():
    def dry_run(target):
        run = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout

    lab = dry_run("lab")
    assert f"JUPYTER_CONFIG_DIR={STUDENT}" in lab
    assert f"--ServerApp.root_dir={ROOT}/exercises" in lab
    grader = dry_run("formgrader")
    assert f"JUPYTER_CONFIG_DIR={INSTRUCTOR}" in grader
    assert f"--ServerApp.root_dir={ROOT}\n" in grader + "\n"


@pytest.mark.slow  # starts jupyter: ~13 s
def test_nbgrader_in_the_labs_terminal_reads_the_course_config(tmp_path):
    """`nbgrader validate` in an exercise folder gets the course's limits, not the defaults."""
    for config_dir in (STUDENT, INSTRUCTOR):
        code = (
            "from nbgrader.apps import NbGrader\n"
            "app = NbGrader(); app.load_config_file()\n"
            "print(app.config.Execute.timeout)"
        )
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir)}
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert run.stdout.strip() == "120", run.stderr


# -- the servers themselves ------------------------------------------------------------------


class Server:
    """A Jupyter server on localhost with a course configuration, stopped on exit."""

    def __init__(self, config_dir: Path, root: Path, cwd: Path, scratch: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.token = secrets.token_hex(16)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTERLAB_SETTINGS_DIR": str(scratch / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        }
        self.log = open(scratch / "server.log", "w")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",  # CI runs as root
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--ServerApp.token={self.token}",
                f"--ServerApp.root_dir={root}",
            ],
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def request(self, path, data=None, timeout=60, body=None, method=None):
        """(status, body) of GET ``path`` (POST of ``data`` as a form, or ``body``)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=urllib.parse.urlencode(data).encode() if data is not None else body,
            headers={"Authorization": f"token {self.token}"},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def __enter__(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited; see server.log"
            try:
                if self.request("/api/status", timeout=5)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError("the Jupyter server did not start in 120 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.mark.slow
def test_student_server_serves_no_formgrader_and_the_course_validate(tmp_path):
    course = tiny_course(
        tmp_path / "course",
        config_lines="c.Execute.timeout = 3",
        before_test="import time\ntime.sleep(60)",
    )
    shutil.copytree(course / "solutions", course / "exercises")
    with Server(STUDENT, course / "exercises", course, tmp_path) as server:
        assert server.request("/lab")[0] == 200
        for path in (
            "/formgrader",
            "/formgrader/manage_assignments",
            "/formgrader/api/assignments",
        ):
            assert server.request(path)[0] == 404, path
        status, body = server.request(
            "/assignments/validate", {"path": f"{NAME}/{NAME}.ipynb"}, timeout=120
        )
        assert status == 200
        reply = json.loads(body)
        assert reply["success"], reply
        (failed,) = reply["value"]["failed"]
        assert "cell 3 ran past the 3 s limit" in failed["raw_error"]
        # Saving through the server keeps the file's language_info (the pre-save hook).
        api = f"/api/contents/{NAME}/{NAME}.ipynb"
        before = (course / "exercises" / NAME / f"{NAME}.ipynb").read_bytes()
        model = json.loads(server.request(api)[1])
        model["content"]["metadata"]["language_info"] = {"name": "python", "version": "3.99"}
        body = json.dumps({"type": "notebook", "format": "json", "content": model["content"]})
        assert server.request(api, body=body.encode(), method="PUT")[0] == 200
        after = (course / "exercises" / NAME / f"{NAME}.ipynb").read_bytes()
        assert json.loads(after)["metadata"] == json.loads(before)["metadata"]


@pytest.mark.slow
def test_instructor_server_at_the_course_root_links_work(tmp_path):
    course = tiny_course(tmp_path / "course")
    with Server(INSTRUCTOR, course, course, tmp_path) as server:
        status, page = server.request("/formgrader/manage_assignments")
        assert status == 200  # under a Lab rooted elsewhere nbgrader answers 500 here
        assert 'var url_prefix = ".";' in page
        # The Formgrader's links are url_prefix + "/" + a path in the course: served.
        status, body = server.request(f"/api/contents/solutions/{NAME}/{NAME}.ipynb")
        assert status == 200 and json.loads(body)["type"] == "notebook"
        assert server.request(f"/lab/tree/solutions/{NAME}/{NAME}.ipynb")[0] == 200


def test_release_notebooks_open_unchanged():
    """JupyterLab marks a notebook changed (and autosave rewrites it) when loading it
    changes it: the releases carry the current nbformat (4.5, cell ids) and the kernel's own
    display name, which JupyterLab would otherwise write into the metadata."""
    from jupyter_client.kernelspec import KernelSpecManager

    kernel = KernelSpecManager().get_kernel_spec("python3")
    for exercise in ("digit_classifier", "pes_refit"):
        path = ROOT / "exercises" / exercise / f"{exercise}.ipynb"
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        assert (nb.nbformat, nb.nbformat_minor) == (4, nbformat.current_nbformat_minor)
        assert all("id" in cell for cell in nb.cells)
        assert nb.metadata.kernelspec.name == "python3"
        assert nb.metadata.kernelspec.display_name == kernel.display_name
        assert nbformat.writes(nb) + "\n" == text  # nothing for a save to normalise


def test_saving_keeps_the_language_info_on_disk(tmp_path):
    from course_utils.checks.lab import keep_language_info

    class Contents:
        def _get_os_path(self, path):
            return str(tmp_path / path)

    release = ROOT / "exercises" / "pes_refit" / "pes_refit.ipynb"
    shutil.copy(release, tmp_path / "nb.ipynb")
    model = {"type": "notebook", "content": json.loads(release.read_text())}
    model["content"]["metadata"]["language_info"] = {"name": "python", "version": "3.99.0"}
    keep_language_info(model, "nb.ipynb", Contents())
    assert model["content"]["metadata"] == json.loads(release.read_text())["metadata"]
    new = {"type": "notebook", "content": {"metadata": {"language_info": {"name": "x"}}}}
    keep_language_info(new, "new.ipynb", Contents())  # no file yet: left as it is
    assert new["content"]["metadata"]["language_info"] == {"name": "x"}
