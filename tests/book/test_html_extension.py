"""_ext/course_html: no page declares the same inline script twice (a console error)."""

import subprocess
import sys

from conftest import ROOT


def test_inline_scripts_are_written_once(tmp_path):
    (tmp_path / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['sphinx_togglebutton', 'sphinx_thebe', 'sphinx_book_theme', 'course_html']\n"
        "html_theme = 'sphinx_book_theme'\n"
    )
    (tmp_path / "index.rst").write_text("Title\n=====\n\ntext\n")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.count("const THEBE_JS_URL") == 1
    assert page.count("togglebuttonSelector") == 1
    assert page.count("togglebutton.js") == 1
