"""A static scan of submissions: a hint for the instructor, never a defence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .notebooks import _cells, _grade_id, _source

#: Code a student's notebook has no business containing: (pattern, reason).
#: A match does not change the score; it puts the submission on the list of
#: notebooks an instructor should read.
SUSPICIOUS_CODE: tuple[tuple[str, str], ...] = (
    (
        r"\bget_ipython\b|\bipykernel\b",
        "reaches into the IPython kernel, which can hide failing tests",
    ),
    (
        r"excepthook|set_custom_exc|input_transformers|ast_transformers|showtraceback",
        "changes how cells or errors are handled",
    ),
    (r"\bbuiltins\b|__builtins__", "changes Python's built-in functions"),
    (
        r"\bos\s*\.\s*_exit\b|\bsys\s*\.\s*exit\b|(?<![\w.])(?:exit|quit)\s*\("
        r"|\bos\s*\.\s*kill\b|\bsignal\s*\.",
        "exits or kills its own process",
    ),
    (
        r"(?<![\w.])(?:exec|eval|compile|__import__|setattr|vars)\s*\(|\bimportlib\b|\bctypes\b"
        r"|\bsys\s*\.\s*modules\b|__(?:dict|code|globals|class|setattr)__",
        "builds or patches code at run time",
    ),
    (
        r"^\s*(?:np|numpy|torch|nn|math|scipy|course_utils)(?:\s*\.\s*\w+)+\s*=(?!=)",
        "replaces a function or attribute of a library (monkeypatching)",
    ),
    (
        r"gradebook|nbgrader|HIDDEN TESTS|autograded|\.ipynb\b|\bsqlite",
        "reads grading files or notebooks",
    ),
    (
        r"\bsubprocess\b|\bsocket\b|\burllib\b|\brequests\b|\brmtree\b"
        r"|\bos\s*\.\s*(?:remove|unlink|system)\b|^\s*!|^\s*%+(?:bash|sh|script|system|sx)\b",
        "runs programs, deletes files or uses the network",
    ),
    (r"load_digits\s*\([^)]*['\"](?:test|all)['\"]", "loads the held-out test digits"),
    (r"load_pes_dataset\s*\([^)]*['\"](?:test|all)['\"]", "loads the held-out test configurations"),
    (r"\btorch\s*\.\s*load\b|\bpickle\b|\bjoblib\b", "loads saved objects (pretrained weights?)"),
)


def _without_comments(source: str) -> str:
    import io
    import tokenize

    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type != tokenize.COMMENT
        ]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source


def scan_submission(notebook: Path, protected_ids: Iterable[str] = ()) -> list[str]:
    """Reasons to read a submitted notebook by hand (see :data:`SUSPICIOUS_CODE`).

    Only the code the student controls is scanned: cells whose ``grade_id`` is
    in ``protected_ids`` are restored from the source by nbgrader, whatever
    the student put in them.  Comments are ignored.
    """
    try:
        cells = _cells(notebook)
    except (OSError, ValueError, KeyError, TypeError):
        return []  # autograding reports an unreadable notebook itself
    protected = set(protected_ids)
    code = "\n".join(
        _without_comments(_source(cell))
        for cell in cells
        if isinstance(cell, dict)
        and cell.get("cell_type") == "code"
        and _grade_id(cell) not in protected
    )
    flags = []
    for pattern, reason in SUSPICIOUS_CODE:
        match = re.search(pattern, code, flags=re.MULTILINE)
        if match:
            flags.append(f"{reason} ({match.group(0).strip()!r})")
    return flags


def _edited_cells(submission: Path, release: Path, protected_ids: Iterable[str]) -> list[str]:
    """Flags for test and read-only cells that a submission deleted or edited."""
    try:
        mine = {_grade_id(c): c for c in _cells(submission) if isinstance(c, dict)}
        original = {_grade_id(c): c for c in _cells(release)}
    except (OSError, ValueError, KeyError, TypeError):
        return []
    ids = [i for i in original if i in set(protected_ids)]
    deleted = [i for i in ids if i not in mine]
    edited = [
        i
        for i in ids
        if i in mine
        and (
            _source(mine[i]) != _source(original[i])
            or (mine[i].get("metadata", {}).get("nbgrader") or {}).get("points")
            != (original[i].get("metadata", {}).get("nbgrader") or {}).get("points")
        )
    ]
    flags = []
    if deleted:
        flags.append(
            f"deleted the test or read-only cells {', '.join(deleted)} "
            "(they are put back from the source)"
        )
    if edited:
        flags.append(
            f"edited the test or read-only cells {', '.join(edited)} "
            "(nbgrader put the originals back)"
        )
    return flags
