"""`make lab` opens a JupyterLab that renders the chapters' MyST markup (jupyterlab-myst).

Checked in a real browser once, by hand (see the README): with JupyterLab 4.6 the extension
renders admonitions, maths and cross-references even though `jupyter labextension list` marks
it "not compatible" (a shared-package version note). This test keeps it installed and enabled
in the configuration `make lab` uses.
"""

import os
import re
import subprocess

import pytest
from conftest import BIN, ROOT


@pytest.mark.slow  # starts jupyter
def test_make_lab_enables_jupyterlab_myst():
    make = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    config = re.search(r"JUPYTER_CONFIG_DIR=(\S+)", make.stdout)
    env = dict(os.environ)
    if config:
        env["JUPYTER_CONFIG_DIR"] = config.group(1)
    listing = subprocess.run(
        [str(BIN / "jupyter"), "labextension", "list"], env=env, capture_output=True, text=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    line = next((l for l in text.splitlines() if "jupyterlab-myst" in l and " v" in l), None)
    assert line, f"jupyterlab-myst is not installed for JupyterLab:\n{text}"
    assert "enabled" in line and "disabled" not in line, line
    disabled = text.split("Disabled extensions:")[-1] if "Disabled extensions:" in text else ""
    assert "jupyterlab-myst" not in disabled, f"make lab disables jupyterlab-myst:\n{text}"
