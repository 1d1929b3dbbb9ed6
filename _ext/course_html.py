"""Small fixes to the HTML pages Jupyter Book 1 writes (a local Sphinx extension).

1. Jupyter Book's extensions add some inline scripts twice under Sphinx 7.4 (sphinx-thebe's
   ``const THEBE_JS_URL = ...`` and sphinx-togglebutton's selector), once from the registry and
   once again when the builder re-reads it with another priority. Declaring a ``const`` twice is
   a script error in every page's console. This extension keeps the first copy of each script.
2. Figures that notebooks drew are never shrunk so far that their text is under
   :data:`MIN_TEXT_PX` CSS pixels. The theme scales an image down to the width of the page
   (``max-width: 100%``); on a phone that makes a 640-pixel figure's 14-pixel tick labels 8 px.
   Each output image gets ``min-width`` = its natural width x 9 px / its text size
   (:func:`course_utils.plotting.smallest_text_px`), which wins over ``max-width``; the cell
   output then scrolls sideways (``_static/course.css``, with a cue from ``_static/course.js``).
   A figure that fits the page is shown as before.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from docutils import nodes

MIN_TEXT_PX = 9.0  # smallest legible figure text on screen, in CSS pixels
READABLE_CLASS = "course-readable"  # on the <img>
SCROLLER_CLASS = "course-figure-scroller"  # on the element around it, which scrolls


def _script_key(script) -> tuple:
    """What makes two scripts the same: their file and inline body (not their priority)."""
    attributes = getattr(script, "attributes", {})
    filename = getattr(script, "filename", str(script)) or ""  # None and "" both mean inline
    return filename, attributes.get("body", "")


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def png_width(path: Path) -> int | None:
    """Width in pixels from a PNG file's header, or None if the file is not a PNG."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">I", head[16:20])[0]


def readable_min_width(natural_px: int, text_px: float, min_text_px: float = MIN_TEXT_PX) -> int:
    """Narrowest width (CSS px) at which an image's ``text_px`` text stays ``min_text_px``.

    Never more than the natural width (an image is not blown up), rounded up.
    """
    if natural_px <= 0 or text_px <= 0:
        raise ValueError(f"widths and text sizes must be positive: {natural_px}, {text_px}")
    return min(natural_px, math.ceil(natural_px * min_text_px / text_px))


def _is_output(node: nodes.Element) -> bool:
    parent = node.parent
    while parent is not None:
        if "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


def mark_output_figures(app, doctree, docname) -> None:
    """Give every PNG a notebook drew its readable minimum width (``course_min_width``)."""
    from course_utils.plotting import smallest_text_px

    text_px = smallest_text_px()
    for image in doctree.findall(nodes.image):
        if not _is_output(image):
            continue
        natural = png_width(Path(app.srcdir) / image["uri"])
        if natural:
            image["course_min_width"] = readable_min_width(natural, text_px)
            image["classes"].append(READABLE_CLASS)
            image.parent["classes"].append(SCROLLER_CLASS)


def visit_image(self, node) -> None:
    """The theme's ``<img>``, with ``min-width`` when the image has a readable minimum."""
    type(self).visit_image(self, node)
    width = node.get("course_min_width")
    if not width or not self.body[-1].startswith("<img "):
        return
    tag = self.body[-1]
    rule = f"min-width: {width}px;"
    if ' style="' in tag:
        tag = tag.replace(' style="', f' style="{rule} ', 1)
    else:
        tag = tag.replace("<img ", f'<img style="{rule}" ', 1)
    self.body[-1] = tag


def depart_image(self, node) -> None:
    type(self).depart_image(self, node)


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("doctree-resolved", mark_output_figures)
    app.add_node(nodes.image, override=True, html=(visit_image, depart_image))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
