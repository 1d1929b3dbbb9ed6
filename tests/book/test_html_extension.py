"""_ext/course_html: no page declares the same inline script twice (a console error), and
figures drawn by notebooks are never shrunk below legible text."""

import subprocess
import sys

import pytest
from conftest import ROOT


def _build_html(source) -> None:
    """Build the Sphinx project in ``source`` into ``source/out`` (HTML)."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(source / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_inline_scripts_are_written_once(tmp_path):
    (tmp_path / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['sphinx_togglebutton', 'sphinx_thebe', 'sphinx_book_theme', 'course_html']\n"
        "html_theme = 'sphinx_book_theme'\n"
    )
    (tmp_path / "index.rst").write_text("Title\n=====\n\ntext\n")
    _build_html(tmp_path)
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.count("const THEBE_JS_URL") == 1
    assert page.count("togglebuttonSelector") == 1
    assert page.count("togglebutton.js") == 1


def _png(width_in: float, height_in: float, dpi: int) -> str:
    """A real Matplotlib figure as base64 PNG, as the inline backend stores it."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=dpi)
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.slow
def test_output_figures_get_a_readable_min_width(tmp_path):
    """A figure a notebook drew is never shrunk below 9 px text; other images are left alone."""
    import base64
    import json
    import re

    from course_utils.plotting import smallest_text_px

    sys.path.insert(0, str(ROOT / "_ext"))
    from course_html import MIN_TEXT_PX, readable_min_width

    (tmp_path / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['myst_nb', 'course_html']\n"
        "nb_execution_mode = 'off'\n"
    )
    wide, narrow = _png(12.0, 3.0, 100), _png(2.0, 1.5, 100)  # 1200 px and 200 px wide
    cells = [
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "plot()",
            "outputs": [
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": png}}
            ],
        }
        for png in (wide, narrow)
    ]
    cells.insert(0, {"cell_type": "markdown", "metadata": {}, "source": "# Title"})
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "index.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "picture.png").write_bytes(base64.b64decode(wide))
    (tmp_path / "page.md").write_text("# Page\n\n![a picture](picture.png)\n")
    _build_html(tmp_path)
    html = (tmp_path / "out" / "index.html").read_text()
    widths = [int(w) for w in re.findall(r'<img style="min-width: (\d+)px;"', html)]
    text_px = smallest_text_px()
    assert widths == [readable_min_width(1200, text_px), readable_min_width(200, text_px)]
    # shown at its min-width, the wide figure's text is at least 9 px (and not much more)
    assert MIN_TEXT_PX <= text_px * widths[0] / 1200 < MIN_TEXT_PX + 0.1
    assert html.count("course-figure-scroller") == 2
    page = (tmp_path / "out" / "page.html").read_text()
    assert "min-width" not in page and "course-figure-scroller" not in page


def test_readable_min_width_rejects_nonsense():
    sys.path.insert(0, str(ROOT / "_ext"))
    from course_html import readable_min_width

    assert readable_min_width(640, 13.9) == 415  # ceil(640 * 9 / 13.9)
    assert readable_min_width(100, 5.0) == 100  # never wider than the image itself
    with pytest.raises(ValueError, match="positive"):
        readable_min_width(0, 13.9)
