"""The built website in a real browser: headless Chromium, driven by Playwright.

Every page the TOC lists is opened at a desktop and a phone width from a local web server
(the site must work without the internet), and checked for what a reader meets: console
errors, requests to other hosts, typeset maths, loaded figures with real alt text, figure
text large enough to read (measured: the shown/natural width of the image times the size of
the figures' text), figures wider than the page scrolling with a visible cue, sidebars that
open, display maths that fits or scrolls, and explorers that respond to their sliders.
Search is tried once. A screenshot of every page is saved under ``_build/screenshots/<width>/``.

Needs Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it) and the pip
package ``playwright`` (``playwright install`` is not needed). Without Chromium the tests
skip with the reason, unless ``COURSE_REQUIRE_BROWSER=1`` (set by CI), where they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import BUILD, toc_files

from course_utils.plotting import smallest_text_px

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = BUILD / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
MIN_TEXT_PX = 9.0  # smallest legible figure text on screen, in CSS pixels


def _require_browser():
    reasons = []
    if not CHROMIUM.exists():
        reasons.append(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the Python package playwright is not installed (pip install playwright)")
    if reasons:
        message = "BROWSER TESTS NOT RUN: " + "; ".join(reasons)
        if os.environ.get("COURSE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served on a free localhost port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


class Visit:
    """One page in one viewport, with everything that went wrong on the way."""

    def __init__(self, browser, site, entry, width):
        self.site, self.problems, self.outside = site, [], []
        self.context = browser.new_context(**VIEWPORTS[width], device_scale_factor=1)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        self.page.on("response", self._response)
        self.page.goto(f"{site}{entry}.html", wait_until="load")
        self.page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
        self.page.evaluate(
            "() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null"
        )

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.site) or urlsplit(url).scheme in ("data", "blob"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _response(self, response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def close(self):
        self.context.close()


def _check_maths(page) -> list[str]:
    found = page.evaluate(
        """() => ({
        source: document.querySelectorAll('.math, span.math, div.math').length,
        typeset: document.querySelectorAll('mjx-container').length,
    })"""
    )
    problems = []
    if found["source"] and not found["typeset"]:
        problems.append(f"{found['source']} maths elements but no MathJax output")
    return problems


def _check_display_maths_fit(page) -> list[str]:
    """Display equations may be wider than the screen only if their box scrolls."""
    bad = page.evaluate(
        """() => Array.from(document.querySelectorAll('mjx-container[display="true"]'))
          .filter(m => {
            // the equation's own box, and every box around it, must end inside the screen
            // or scroll: content past a box that does not scroll is cut off
            for (let e = m; e && e !== document.body; e = e.parentElement) {
                const style = getComputedStyle(e);
                const scrolls = ['auto', 'scroll'].includes(style.overflowX);
                if (e.scrollWidth > e.clientWidth + 1 && !scrolls) return true;
                if (scrolls) return e.getBoundingClientRect().right > window.innerWidth + 1;
            }
            return m.getBoundingClientRect().right > window.innerWidth + 1;
        }).map(m => (m.closest('div.math') || m).textContent.slice(0, 60))"""
    )
    return [f"display maths cut off: {text!r}" for text in bad]


def _check_images(page, font_px: float) -> list[str]:
    images = page.evaluate(
        """() => Array.from(document.querySelectorAll('article img')).map(i => ({
            src: i.getAttribute('src'), alt: i.getAttribute('alt') || '',
            natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
            output: !!i.closest('.cell_output, .output'),
            box: i.parentElement.clientWidth,
            scrolls: ['auto', 'scroll'].includes(getComputedStyle(i.parentElement).overflowX),
            cue: !['none', 'normal', ''].includes(
                getComputedStyle(i.parentElement, '::before').content),
        }))"""
    )
    problems = []
    for img in images:
        name = img["src"].split("/")[-1][:60]
        if img["natural"] == 0:
            problems.append(f"image not loaded: {name}")
            continue
        alt = img["alt"].strip()
        if (
            not alt
            or re.search(r"\.(png|jpe?g|svg|gif|webp)$", alt, re.I)
            or "/" in alt
            and " " not in alt
        ):
            problems.append(f"image {name} has no real alt text (alt={alt!r})")
        if img["output"] and img["shown"] > 0:
            on_screen = font_px * img["shown"] / img["natural"]
            if on_screen < MIN_TEXT_PX:
                problems.append(
                    f"figure {name}: text {on_screen:.1f} px on screen < {MIN_TEXT_PX} px "
                    f"(drawn {img['natural']} px wide, shown {img['shown']:.0f} px)"
                )
            if img["shown"] > img["box"] + 1 and not (img["scrolls"] and img["cue"]):
                problems.append(
                    f"figure {name} is wider than the page ({img['shown']:.0f} > "
                    f"{img['box']} px) but does not scroll with a visible cue"
                )
    return problems


def _visible(page, selector) -> bool:
    return page.evaluate(
        """(sel) => { const e = document.querySelector(sel); if (!e) return false;
            const r = e.getBoundingClientRect(), s = getComputedStyle(e);
            return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 50
                   && r.right > 50 && r.left < window.innerWidth - 50; }""",
        selector,
    )


def _check_drawers(page, width) -> list[str]:
    """The chapter list and the page contents open from their buttons."""
    problems = []
    drawers = [
        ("chapter list", ".primary-toggle", ".bd-sidebar-primary"),
        ("page contents", ".secondary-toggle", ".bd-sidebar-secondary"),
    ]
    for name, button, drawer in drawers:
        toggles = page.locator(f"{button}:visible")
        if toggles.count() == 0:
            if name == "chapter list":
                problems.append(f"no visible button opens the {name}")
            continue
        before = _visible(page, drawer)
        if width == "phone" and before:
            problems.append(f"the {name} covers the page before it is opened")
        toggles.first.click()
        page.wait_for_timeout(400)  # the drawer slides in
        after = _visible(page, drawer)
        if width == "phone":
            name_part = name.replace(" ", "-")
            shot = SCREENSHOTS / width / f"{page.url.split('/')[-1][:-5]}__{name_part}-open.png"
            page.screenshot(path=str(shot))
        if width == "phone" and not after:
            problems.append(f"the {name} does not open from its button")
        if width == "desktop" and name == "chapter list" and before == after:
            problems.append(f"the {name} button does not show or hide it")
        page.keyboard.press("Escape")
        page.reload(wait_until="load")
    return problems


def _check_explorers(page) -> tuple[int, list[str]]:
    explorers = page.locator(".course-explorer")
    problems = []
    for i in range(explorers.count()):
        explorer = explorers.nth(i)
        explorer.scroll_into_view_if_needed()
        box = explorer.locator("svg").bounding_box()
        if not box or box["height"] < 100 or box["width"] < 200:
            problems.append(f"explorer {i} is blank or tiny: {box}")
            continue
        before = explorer.locator("svg").inner_html()
        slider = explorer.locator("input[type=range]").first
        maximum = slider.get_attribute("max")
        value = slider.input_value()
        slider.fill("0" if value != "0" else maximum)
        after = explorer.locator("svg").inner_html()
        if after == before:
            problems.append(f"explorer {i}: moving a slider does not change the plot")
    return explorers.count(), problems


PAGES = toc_files()
EXPLORERS_SEEN: dict[str, int] = {}


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("entry", PAGES)
def test_page_works_offline(browser, site, entry, width):
    visit = Visit(browser, site, entry, width)
    page = visit.page
    try:
        problems = _check_maths(page)
        problems += _check_images(page, smallest_text_px())
        if width == "phone":
            problems += _check_display_maths_fit(page)
        n_explorers, explorer_problems = _check_explorers(page)
        EXPLORERS_SEEN[f"{entry}@{width}"] = n_explorers
        problems += explorer_problems
        shot = SCREENSHOTS / width / (entry.replace("/", "__") + ".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shot), full_page=True)
        problems += _check_drawers(page, width)
        problems = visit.problems + problems  # console errors from every step
        problems += [f"request left the site: {url}" for url in sorted(set(visit.outside))]
    finally:
        visit.close()
    assert not problems, f"{entry} ({width}):\n  " + "\n  ".join(dict.fromkeys(problems))


def test_explorers_were_exercised():
    """The page checks above saw at least one explorer (else they checked nothing)."""
    if not EXPLORERS_SEEN:
        pytest.skip("the page tests did not run")
    assert sum(EXPLORERS_SEEN.values()) > 0, "no page of the book has an explorer"


@pytest.mark.parametrize("word", ["neuron", "overfitting"])
def test_search_finds_a_word(browser, site, word):
    visit = Visit(browser, site, "search", "desktop")
    try:
        visit.page.goto(f"{site}search.html?q={word}", wait_until="load")
        results = visit.page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        assert results.count() > 0, f"searching for {word!r} found nothing"
        assert not visit.outside, f"requests left the site: {visit.outside}"
    finally:
        visit.close()
