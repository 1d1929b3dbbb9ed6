"""The built website: a page per TOC entry, launch buttons, offline maths, and
no solution or hidden test anywhere."""

import json

import pytest
from conftest import ROOT, toc_files

from course_grader.notebooks import markers_in, secret_lines

pytestmark = pytest.mark.slow


def _site_files(html_dir):
    return [
        p
        for p in html_dir.rglob("*")
        if p.is_file()
        and p.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py"}
        and "mathjax" not in p.parts
    ]


def test_index_and_a_page_for_every_toc_entry(built_book):
    assert (built_book / "index.html").exists()
    missing = [e for e in toc_files() if not (built_book / f"{e}.html").exists()]
    assert not missing, f"no page built for {missing}"
    landing = (built_book / f"{toc_files()[0]}.html").read_text()
    assert "Neural networks for computational chemistry" in landing
    intro = (built_book / "chapters" / "01_introduction.html").read_text()
    assert "<img" in intro, "the introduction's figure was not rendered"


def test_site_has_no_solution_markers(built_book):
    leaks = [
        (str(p.relative_to(built_book)), m)
        for p in _site_files(built_book)
        for m in markers_in(p.read_text(errors="ignore"))
    ]
    assert not leaks, f"solution or hidden-test markers in the site: {leaks}"


def _secret_lines():
    """Distinctive lines of solution regions and hidden tests in solutions/ that no public
    page (chapter or release) shows."""
    public = set()
    for nb_path in list((ROOT / "chapters").glob("*.ipynb")) + list(
        (ROOT / "exercises").rglob("*.ipynb")
    ):
        for cell in json.loads(nb_path.read_text())["cells"]:
            public.update(line.strip() for line in "".join(cell["source"]).splitlines())
    return secret_lines((ROOT / "solutions").rglob("*.ipynb")) - public


def test_site_contains_no_solution_or_hidden_test_code(built_book):
    secrets = _secret_lines()
    if not list((ROOT / "solutions").rglob("*.ipynb")):
        pytest.skip("no exercise sources yet")
    assert secrets, "found no solution lines to look for; the check would be empty"
    site = "\n".join(p.read_text(errors="ignore") for p in _site_files(built_book))
    leaked = sorted(s for s in secrets if s in site)
    assert not leaked, (
        f"{len(leaked)} solution/hidden-test lines reached the site, e.g. {leaked[:3]}"
    )


def test_exercise_pages_are_shown_unexecuted(built_book):
    pages = [e for e in toc_files() if e.startswith("exercises/")]
    assert pages, "the TOC lists no exercise"
    for entry in pages:
        page = (built_book / f"{entry}.html").read_text()
        assert "YOUR CODE HERE" in page, f"{entry}: the student version is not what is shown"
        assert "Traceback" not in page and 'class="output' not in page, f"{entry} was executed"


def test_launch_buttons_use_the_configured_repository(built_book):
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    owner_name = repo.split("github.com/")[-1]
    page = (built_book / "chapters" / "01_introduction.html").read_text()
    assert "mybinder.org/v2/gh/" + owner_name in page
    assert "colab.research.google.com/github/" + owner_name in page
    hub = (config["launch_buttons"].get("jupyterhub_url") or "").rstrip("/")
    if hub:  # one setting: the hub's address; nbgitpuller clones the repository there
        assert f"{hub}/hub/user-redirect/git-pull?repo=" in page
    else:  # unset: no button pointing at a hub that does not exist
        assert "hub/user-redirect/git-pull" not in page


def test_no_page_loads_code_from_another_site(built_book):
    """No CDN: the widget manager and require.js are not needed (explorers are self-contained)."""
    for page in built_book.rglob("*.html"):
        html = page.read_text()
        for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com/@jupyter-widgets"):
            assert f'src="https://{cdn}' not in html, f"{page.name} loads a script from {cdn}"


def test_maths_is_served_from_the_site_itself(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()
    page = (built_book / "chapters" / "01_introduction.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in page
    assert "cdn.jsdelivr.net/npm/mathjax" not in page
