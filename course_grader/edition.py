"""The student edition: the course without solutions, hidden tests or grading code.

Students clone or download the edition, never the instructor's repository (whose
``solutions/`` holds the model answers and hidden tests). The edition is written from a
git commit (``HEAD`` by default), so what it contains is exactly what was committed:

    make student-edition                      # writes _build/student-edition/
    python -m course_grader.edition DEST [--ref REF] [--force]

It keeps the chapters, the exercises (nbgrader's student versions), ``course_utils``
(with the in-kernel exercise checks, ``course_utils/checks``, that students' notebooks
call), the book's configuration and the set-up (Makefile, pyproject.toml,
environment.yml, nbgrader_config.py). It leaves out ``solutions/``, the instructor's
package ``course_grader/``, the test suite and the CI scripts, and checks the result
for solution and hidden-test text before it returns.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from course_grader.notebooks import markers_in, secret_lines

__all__ = ["INSTRUCTOR_ONLY", "write_student_edition", "leaks"]

ROOT = Path(__file__).resolve().parents[1]
# Top-level paths that stay in the instructor's repository.
INSTRUCTOR_ONLY = ("solutions", "course_grader", "tests", ".ci", ".github")
NOTE = (
    "> **Student edition.** This copy of the course has the chapters, the exercises and the\n"
    "> `course_utils` package, without model solutions or grading tools. Instructors work in the\n"
    "> full repository.\n\n"
)


def _archive(root: Path, ref: str, dest: Path) -> None:
    tar = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=root, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")


def _strip_instructor_setup(dest: Path) -> None:
    """Point the set-up files at what the edition contains."""
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text()
    # The instructor's package is not in the edition, so pip must not look for it.
    text = re.sub(r',\s*"course_grader"', "", text)
    pyproject.write_text(text)
    readme = dest / "README.md"
    if readme.exists():
        readme.write_text(NOTE + readme.read_text())


def leaks(folder: Path, solutions: Path) -> list[str]:
    """Files in ``folder`` that contain nbgrader markers or lines of the model solutions
    and hidden tests in ``solutions`` (as ``"path: what"``); empty if clean.

    The package ``course_utils`` is only searched for markers: it is the public library the
    answers call, so generic lines such as ``x = np.asarray(x, dtype=float)`` occur in both.
    """
    secrets = secret_lines(sorted(solutions.rglob("*.ipynb")))
    # A line that a chapter also shows (an import, a plotting call) reveals nothing.
    for nb in (folder / "chapters").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            secrets -= {line.strip() for line in "".join(cell["source"]).splitlines()}
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(errors="ignore")
        for marker in markers_in(text):
            found.append(f"{path.relative_to(folder)}: marker {marker!r}")
        if path.suffix == ".py" and path.relative_to(folder).parts[0] == "course_utils":
            continue  # the public library: its code lines are shared with answers by design
        for line in secrets:
            if line in text:
                found.append(f"{path.relative_to(folder)}: solution line {line!r}")
    return found


def write_student_edition(
    dest: str | Path, *, root: str | Path = ROOT, ref: str = "HEAD", force: bool = False
) -> Path:
    """Write the student edition of the course at ``ref`` into ``dest``.

    Parameters
    ----------
    dest : path
        Folder to create. It must not exist unless ``force`` is true (then it is replaced).
    root : path
        The instructor's repository (a git working tree).
    ref : str
        The commit, branch or tag to take the files from.
    force : bool
        Replace ``dest`` if it exists.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    FileExistsError
        ``dest`` exists and ``force`` is false.
    RuntimeError
        The edition would contain solution or hidden-test text (nothing is left behind).
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or dest in root.parents:
        raise ValueError(f"the edition cannot replace the course itself ({dest}).")
    if dest.exists():
        if not force:
            raise FileExistsError(f"{dest} exists; pass force=True (--force) to replace it.")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        _archive(root, ref, dest)
        for name in INSTRUCTOR_ONLY:
            path = dest / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        _strip_instructor_setup(dest)
        found = leaks(dest, root / "solutions")
        if found:
            raise RuntimeError(
                "the student edition would reveal solutions or hidden tests:\n  "
                + "\n  ".join(found[:20])
            )
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder to write (e.g. _build/student-edition)")
    parser.add_argument("--ref", default="HEAD", help="git commit, branch or tag (HEAD)")
    parser.add_argument("--force", action="store_true", help="replace DEST if it exists")
    args = parser.parse_args(argv)
    try:
        dest = write_student_edition(args.dest, ref=args.ref, force=args.force)
    except (FileExistsError, RuntimeError, ValueError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    n = sum(1 for p in dest.rglob("*") if p.is_file())
    print(f"Wrote the student edition ({n} files) to {dest}.")
    print("Publish it as its own repository; students clone that, never this one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
