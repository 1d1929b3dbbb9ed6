"""Small fixes to the HTML pages Jupyter Book 1 writes (a local Sphinx extension).

Jupyter Book's extensions add some inline scripts twice under Sphinx 7.4 (sphinx-thebe's
``const THEBE_JS_URL = ...`` and sphinx-togglebutton's selector), once from the registry and
once again when the builder re-reads it with another priority. Declaring a ``const`` twice is
a script error in every page's console. This extension keeps the first copy of each script.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
