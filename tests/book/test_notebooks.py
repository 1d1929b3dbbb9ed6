"""Stored notebooks carry no outputs, the TOC lists only real pages, and every
chapter in the TOC executes without error in the book build."""

import subprocess

import nbformat
import pytest
from conftest import ROOT, executed_notebook, toc_files, toc_path


def _tracked_notebooks():
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    paths = [ROOT / p for p in out.stdout.split()] if out.returncode == 0 else []
    # Also notebooks not yet committed (a fresh, untracked chapter must obey too).
    for folder in ("chapters", "exercises", "solutions"):
        paths += [
            p for p in (ROOT / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
        ]
    return sorted(set(paths))


NOTEBOOKS = _tracked_notebooks()


def test_there_are_notebooks():
    assert any(p.parent.name == "chapters" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; "
        "clear them (JupyterLab: Edit > Clear Outputs of All Cells) before committing"
    )


@pytest.mark.parametrize("entry", toc_files())
def test_toc_lists_only_pages_that_exist(entry):
    assert toc_path(entry).exists()


EXECUTED = [e for e in toc_files() if not e.startswith("exercises/")]


@pytest.mark.slow
@pytest.mark.parametrize("entry", EXECUTED)
def test_toc_notebook_executes_without_error(built_book, entry):
    path = toc_path(entry)
    if path.suffix != ".ipynb":
        pytest.skip("not a notebook")
    # Only notebooks that executed without error (and are up to date) are in the cache.
    try:
        nb = executed_notebook(built_book, path.relative_to(ROOT))
    except KeyError:
        pytest.fail(f"{entry} has no successful execution in the book's cache")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    assert sum(c.get("execution_count") is not None for c in nb.cells) == n_code
