"""The book's writing conventions (README, "Writing a chapter"): figures with captions, labels
and alt text; chapters and exercises linked, not named; citations that resolve to
references.bib; glossary terms that exist; titles without TeX.

Pages are discovered from _toc.yml, so a new chapter is checked as soon as it is listed. The
fast tests read the stored notebooks; the slow ones read the built site and its executed
notebooks."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, executed_notebook, toc_files, toc_path

# Spans that are links, roles, code or maths already: nothing inside them is checked.
_PROTECTED = re.compile(
    r"\[[^\]]*\]\([^)]*\)"  # [text](target)
    r"|\{[a-z:-]+\}`[^`]*`"  # {role}`...`
    r"|`[^`]*`"  # inline code
    r"|\$\$.*?\$\$|\$[^$\n]*\$"  # maths
    r"|^#+ [^\n]*$",  # headings (a page title may say "Exercise 1: ...")
    re.S | re.M,
)
# "chapter 3", "exercise 2"; a range such as "chapters 1 to 5" names no single page.
_MENTION = re.compile(r"\b(?:chapters?|exercises?)\s+\d+(?!\d|\s*(?:to|–|-)\s*\d)", re.I)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
_TERM = re.compile(r"\{term\}`([^`]*)`")
# Top-level lines that put a figure on the page.
_FIGURE_LINE = re.compile(r"^(?:plt\.show\(\)|(?:fig|ax|axes|_)\s*=\s*plot_\w+\(|plot_\w+\()", re.M)
_FIG_NAME = re.compile(r"^fig-\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*$")


def _toc():
    import yaml

    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def numbered_chapters() -> list[str]:
    """TOC entries of the numbered chapters, in order: entry i is chapter i + 1."""
    return [
        c["file"]
        for part in _toc().get("parts", [])
        if part.get("numbered")
        for c in part["chapters"]
    ]


PAGES = toc_files()
NOTEBOOK_PAGES = [e for e in PAGES if toc_path(e).suffix == ".ipynb"]
CHAPTERS = numbered_chapters()


def _markdown_cells(entry: str) -> list[str]:
    path = toc_path(entry)
    if path.suffix == ".md":
        return [path.read_text()]
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def _unprotected(text: str) -> str:
    return _PROTECTED.sub(" ", text)


def _figure_cells(entry: str):
    nb = nbformat.read(toc_path(entry), as_version=4)
    return [
        (i, c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and _FIGURE_LINE.search(c.source)
    ]


def test_the_chapters_are_numbered():
    assert CHAPTERS, "_toc.yml has no part with `numbered: true`"
    assert CHAPTERS[0] == "chapters/01_introduction"
    for n, entry in enumerate(CHAPTERS, start=1):
        assert Path(entry).name.startswith(f"{n:02d}_"), (
            f"{entry} is chapter {n} in _toc.yml: its file name should start with {n:02d}_"
        )


@pytest.mark.parametrize("entry", [e for e in NOTEBOOK_PAGES if e.startswith("chapters/")])
def test_every_figure_has_a_caption_a_label_and_alt_text(entry):
    cells = _figure_cells(entry)
    problems = []
    for i, cell in cells:
        meta = cell.metadata.get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        caption, name, alt = figure.get("caption", ""), figure.get("name", ""), image.get("alt", "")
        if len(caption.split()) < 5:
            problems.append(f"cell {i}: no caption (metadata mystnb.figure.caption)")
        if not _FIG_NAME.match(name) or not name.startswith(f"fig-{Path(entry).name[:2]}-"):
            problems.append(
                f"cell {i}: label {name!r} should look like fig-{Path(entry).name[:2]}-slug"
            )
        if len(alt.split()) < 6 or re.search(r"\.(png|svg|jpe?g)\b|_build|_images", alt):
            problems.append(f"cell {i}: alt text {alt!r} does not describe the figure")
        if alt and alt.strip() == caption.strip():
            problems.append(f"cell {i}: the alt text repeats the caption; describe what is seen")
    assert not problems, f"{entry} (see README, 'Writing a chapter'):\n" + "\n".join(problems)


_FIGSIZE = re.compile(r"figsize\s*=\s*\(\s*([\d.]+)\s*,")


@pytest.mark.parametrize("entry", [e for e in NOTEBOOK_PAGES if e.startswith("chapters/")])
def test_figures_are_narrow_enough_to_keep_text_readable(entry):
    """At 100 dpi a figure much wider than 10 in is shrunk so far on the 672 px text column that
    10 pt text falls below 9 px (README, 'Writing a chapter'); measured: 11 in gives 10.1 px
    after Matplotlib's tight cropping, 15 in gave 6.2 px."""
    wide = [
        (i, float(m.group(1)))
        for i, cell in _figure_cells(entry)
        for m in _FIGSIZE.finditer(cell.source)
        if float(m.group(1)) > 11
    ]
    assert not wide, f"{entry}: figures wider than 11 in (cell, width): {wide}; stack panels"


def test_figure_labels_are_unique_in_the_book():
    names = [
        cell.metadata["mystnb"]["figure"]["name"]
        for entry in NOTEBOOK_PAGES
        for _, cell in _figure_cells(entry)
        if "name" in cell.metadata.get("mystnb", {}).get("figure", {})
    ]
    assert names, "no figure labels found at all"
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"figure labels used twice: {duplicates}"


@pytest.mark.parametrize("entry", PAGES)
def test_chapters_and_exercises_are_linked_not_just_named(entry):
    unlinked = [
        m.group(0) for text in _markdown_cells(entry) for m in _MENTION.finditer(_unprotected(text))
    ]
    assert not unlinked, (
        f"{entry}: {unlinked} should be links, e.g. [chapter 3](03_gradient_descent.ipynb) "
        "(README, 'Writing a chapter')"
    )


@pytest.mark.parametrize("entry", PAGES)
def test_chapter_links_point_at_the_chapter_with_that_number(entry):
    here = toc_path(entry).parent
    wrong = []
    for text in _markdown_cells(entry):
        for label, target in _LINK.findall(text):
            m = re.fullmatch(r"\**chapter (\d+)\**", label.strip(), re.I)
            if not m or target.startswith(("http:", "https:")):
                continue
            n = int(m.group(1))
            resolved = os.path.normpath(here / target.split("#")[0])
            expected = (
                str(toc_path(CHAPTERS[n - 1])) if 1 <= n <= len(CHAPTERS) else "no such chapter"
            )
            if resolved != expected:
                wrong.append(f"[{label}]({target}) -> {expected}")
    assert not wrong, f"{entry}: links whose number and target disagree: {wrong}"


def test_chapter_1_links_every_chapter_and_exercise():
    text = "\n".join(_markdown_cells(CHAPTERS[0]))
    here = toc_path(CHAPTERS[0]).parent
    targets = {os.path.normpath(here / t.split("#")[0]) for _, t in _LINK.findall(text)}
    wanted = CHAPTERS[1:] + [e for e in PAGES if e.startswith("exercises/")]
    missing = [e for e in wanted if str(toc_path(e)) not in targets]
    assert not missing, f"chapter 1's list of chapters does not link {missing}"


@pytest.mark.parametrize("entry", PAGES)
def test_page_title_is_plain_text(entry):
    texts = _markdown_cells(entry)
    titles = [line for t in texts for line in t.splitlines() if re.match(r"#{1,2} ", line)]
    assert titles and titles[0].startswith("# "), f"{entry} has no '# Title' in its first cell"
    tex = [t for t in titles if re.search(r"\$|\\\(|\\[a-zA-Z]", t)]
    assert not tex, (
        f"{entry}: headings with TeX {tex}; write O₂ rather than O$_2$ (titles show up "
        "unrendered in the tab, the sidebar and the search results)"
    )


def _bib_entries():
    from pybtex.database import parse_file

    return parse_file(str(ROOT / "references.bib")).entries


def _cited_keys() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for entry in PAGES:
        for text in _markdown_cells(entry):
            for group in _CITE.findall(text):
                for key in group.split(","):
                    cited.setdefault(key.strip(), []).append(entry)
    return cited


def test_references_bib_parses_and_dois_are_well_formed():
    entries = _bib_entries()
    assert len(entries) >= 10
    bad = {
        k: e.fields["doi"]
        for k, e in entries.items()
        if "doi" in e.fields and not re.fullmatch(r"10\.\d{4,9}/\S+", e.fields["doi"])
    }
    assert not bad, f"malformed DOIs (write them without https://doi.org/): {bad}"


def test_every_citation_is_in_references_bib_and_every_entry_is_cited():
    entries, cited = _bib_entries(), _cited_keys()
    unknown = {k: v for k, v in cited.items() if k not in entries}
    assert not unknown, f"cited but not in references.bib: {unknown}"
    uncited = sorted(set(entries) - set(cited))
    assert not uncited, f"in references.bib but cited nowhere in the book: {uncited}"


def _glossary_terms() -> set[str]:
    text = (ROOT / "reference" / "glossary.md").read_text()
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "reference/glossary.md has no {glossary} directive"
    return {line.strip() for line in block.group(1).splitlines() if re.match(r"^\S", line)}


def _term_target(role_text: str) -> str:
    m = re.search(r"<([^>]+)>\s*$", role_text)
    return (m.group(1) if m else role_text).strip()


def test_glossary_terms_are_linked_from_the_chapters():
    terms = {t.lower() for t in _glossary_terms()}
    used: dict[str, list[str]] = {}
    for entry in PAGES:
        for text in _markdown_cells(entry):
            for role in _TERM.findall(text):
                used.setdefault(_term_target(role).lower(), []).append(entry)
    unknown = {t: e for t, e in used.items() if t not in terms}
    assert not unknown, f"{{term}} roles whose term is not in the glossary: {unknown}"
    in_chapters = {t for t, e in used.items() if any(x.startswith("chapters/") for x in e)}
    never = sorted(terms - in_chapters)
    assert not never, f"glossary terms no chapter links with {{term}}: {never}"


# --- the built site -------------------------------------------------------------------------

_LEFTOVERS = [
    (re.compile(r"ran in \d+(\.\d+)? ?s\b"), "a timing line"),
    (re.compile(r"(?<![\w.])-?\d\.\d{12,}(e[-+]?\d+)?"), "a float printed to full precision"),
    (re.compile(r"^\(['\"].*['\"],\s*.*\)$", re.M), "a tuple repr"),
    (re.compile(r"^<(matplotlib|Figure)[^>]*>$", re.M), "an object repr"),
]


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in NOTEBOOK_PAGES if e.startswith("chapters/")])
def test_executed_chapters_show_no_leftovers(built_book, entry):
    nb = executed_notebook(built_book, toc_path(entry).relative_to(ROOT))
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook"):
                continue  # glued values are not shown
            text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
            data = out.get("data", {})
            if "image/png" in data or "application/vnd.jupyter.widget-view+json" in data:
                continue
            for pattern, what in _LEFTOVERS:
                if pattern.search(text):
                    found.append(f"cell {i}: {what}: {text.strip()[:80]!r}")
    assert not found, f"{entry} shows output that means nothing to a reader:\n" + "\n".join(found)


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in PAGES if e.startswith("chapters/")])
def test_built_figures_are_numbered_captioned_and_described(built_book, entry):
    html = (built_book / f"{entry}.html").read_text()
    images = re.findall(r"<img [^>]*>", html)
    content = [i for i in images if "_images/" in i]
    figures = re.findall(r"<figure[^>]*>(.*?)</figure>", html, re.S)
    bare = [i for i in content if not any(i in f for f in figures)]
    assert not bare, f"{entry}: images outside a numbered figure: {bare[:3]}"
    for fig in figures:
        assert re.search(r'class="caption-number">Fig\. \d+\.\d+', fig), (
            f"{entry}: unnumbered figure"
        )
        alt = re.search(r'alt="([^"]*)"', fig)
        assert alt and len(alt.group(1).split()) >= 6 and "_images" not in alt.group(1), (
            f"{entry}: figure without real alt text: {fig[:200]}"
        )


@pytest.mark.slow
def test_the_site_has_a_glossary_bibliography_and_index(built_book):
    glossary = (built_book / "reference" / "glossary.html").read_text()
    assert glossary.count('<dt id="term-') >= 30
    bibliography = (built_book / "reference" / "bibliography.html").read_text()
    assert bibliography.count('role="doc-biblioentry"') == len(_bib_entries())
    assert "https://doi.org/" in bibliography
    genindex = (built_book / "genindex.html").read_text()
    assert "overfitting" in genindex
    assert (
        'href="../genindex.html"' in (built_book / "reference" / "general_index.html").read_text()
    )


@pytest.mark.slow
@pytest.mark.parametrize("entry", PAGES)
def test_page_titles_in_the_site_have_no_tex(built_book, entry):
    html = (built_book / f"{entry}.html").read_text()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert not re.search(r"\\\(|\\\)|\$|\\[a-z]", title), f"{entry}: <title>{title}</title>"
