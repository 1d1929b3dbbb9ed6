"""The set-up cell at the top of every chapter, for readers who open it in Google Colab.

Colab starts from a bare Python without the course's package, so a chapter launched there
installs it first. The cell does nothing anywhere else, and the website hides it (tag
``remove-cell``). The repository it installs from is the one set in ``_config.yml``.

    python .ci/colab_cell.py            # insert or refresh the cell in every chapter in _toc.yml
    python .ci/colab_cell.py --check    # exit 1, naming the chapters whose cell is missing or stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "colab-setup"
# What Colab lacks of what the chapters import (Colab ships torch, numpy, scipy, matplotlib,
# scikit-learn, tqdm and ipywidgets). The course package itself is installed without its
# dependencies: those would replace Colab's own Jupyter stack.
COLAB_EXTRAS = ["myst-nb", "ase", "optuna", "mlxtend", "tblite"]


def chapters() -> list[Path]:
    """The chapter notebooks the TOC lists (every .ipynb under chapters/)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            entries.append(chapter["file"])
            entries += [s["file"] for s in chapter.get("sections", [])]
    paths = [ROOT / f"{e}.ipynb" for e in entries if e.startswith("chapters/")]
    return [p for p in paths if p.exists()]


def cell_source() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"].get("branch", "main")
    return (
        "# Google Colab only: install the course's package and what Colab lacks (elsewhere,\n"
        "# `make book`, `make lab` or environment.yml installed them already).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet --no-deps "course-utils @ git+{repo}@{branch}"\n'
        f"    %pip install --quiet {' '.join(COLAB_EXTRAS)}"
    )


def _find(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if TAG in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def add_cell(nb) -> bool:
    """Insert the cell before the first code cell, or refresh it; True if ``nb`` changed."""
    source = cell_source()
    found = _find(nb)
    if found is not None:
        if nb.cells[found].source == source:
            return False
        nb.cells[found].source = source
        return True
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell", TAG]})
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    return True


def problems(path: Path) -> str | None:
    nb = nbformat.read(path, as_version=4)
    found = _find(nb)
    if found is None:
        return "has no Colab set-up cell"
    cell = nb.cells[found]
    if cell.source != cell_source():
        return "has an outdated Colab set-up cell"
    if "remove-cell" not in cell.metadata.get("tags", []):
        return "shows its Colab set-up cell on the website (tag it remove-cell)"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    if found != first_code:
        return "runs code before its Colab set-up cell"
    return None


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = [f"{p.relative_to(ROOT)} {msg}" for p in chapters() if (msg := problems(p))]
        for line in bad:
            print(line)
        if bad:
            print("Run `python .ci/colab_cell.py` to insert or refresh the cells.")
        return 1 if bad else 0
    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        if add_cell(nb):
            nbformat.write(nb, path)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
