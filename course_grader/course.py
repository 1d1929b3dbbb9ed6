"""The course folder as the maintainer's tools see it: its table of contents and copies of it.

Used by the grader, the benchmark (``.ci/benchmark.py``) and the tests, so that
each of these is written once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

__all__ = ["copy_course", "toc_entries", "toc_path"]


def toc_entries(root: str | Path) -> list[str]:
    """Every page ``_toc.yml`` lists, in order, as paths relative to ``root`` without suffix."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    entries = [toc["root"]]

    def walk(items):
        for item in items:
            if "file" in item:
                entries.append(item["file"])
            walk(item.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return entries


def toc_path(root: str | Path, entry: str) -> Path:
    """The file behind a TOC entry (``.ipynb`` or ``.md``)."""
    for suffix in (".ipynb", ".md"):
        path = Path(root) / f"{entry}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"_toc.yml lists {entry!r} but no such page exists under {root}")


def copy_course(root: str | Path, dest: str | Path, assignments: Iterable[str]) -> Path:
    """Copy what grading needs (``nbgrader_config.py``, sources and releases) to ``dest``."""
    root, dest = Path(root), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest)
    for assignment in assignments:
        for folder in ("solutions", "exercises"):
            shutil.copytree(root / folder / assignment, dest / folder / assignment)
    return dest
