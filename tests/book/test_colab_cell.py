"""Every chapter starts with the Colab-only set-up cell (.ci/colab_cell.py)."""

import subprocess
import sys

from conftest import ROOT


def test_every_chapter_has_the_current_colab_cell():
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "colab_cell.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cell_installs_only_on_colab_from_the_configured_repository():
    import yaml

    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import colab_cell
    finally:
        sys.path.pop(0)
    source = colab_cell.cell_source()
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    assert f"git+{repo}@" in source
    lines = source.split('if "google.colab" in sys.modules:\n')[1].splitlines()
    assert lines and all(line.startswith("    %pip install") for line in lines), lines
