"""Grade many students at once: on this machine's cores, or on Dask workers on other machines.

Every student is graded in a private course folder of its own (:func:`grade_privately`):
the course's ``nbgrader_config.py``, the assignment's source and release, that student's
submission and a private SQLite gradebook in which only the assignment is registered.  That
is where ``nbgrader autograde`` writes, its notebook executed in the sandbox as always.  The
task returns the student's result, the grades of its private gradebook and its
``autograded/`` folder; the trusted parent process alone writes them into the course's
gradebook (:func:`merge_grades`) and folder.  So many gradings at once can't collide in the
gradebook (SQLite or PostgreSQL), and a worker needs no access to it.

:func:`grade_students` runs the tasks: in this process one after the other (``jobs=1``), on a
Dask ``LocalCluster`` of ``jobs`` workers, or on the workers of an existing
``dask scheduler`` (``scheduler="tcp://host:8786"``), with a progress bar that shows the
time left.  A worker needs the course's Python environment (``course_grader`` importable,
nbgrader, bubblewrap), not the course folder: the tasks carry what they grade.

Where the CPU goes (10 submissions of a tiny assignment, measured 2026-12-04): a student's
nbgrader ``autograde`` spent about 3.5 of its 8-9 CPU seconds importing nbgrader; its commands
are now forked from a process that imported it once (:mod:`course_grader.forkrun`), and about
5 s a student remain, 2-2.5 s of them the sandbox (bubblewrap, its Python, the kernel).  The
parallel run's own extra was this process: Dask's task profiler and event-loop ticks cost it
7 CPU seconds more than the serial run, about 0.6 s with :data:`_QUIET_CLUSTER`.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .commands import load_coursedir
from .report import StudentResult
from .sandbox import sandbox_problem
from .student import grade_student, student_id_problem

__all__ = ["CourseBundle", "grade_privately", "grade_students", "merge_grades", "pack", "unpack"]

#: Appended to the copy of ``nbgrader_config.py`` in a private course folder.
_PRIVATE_CONFIG = """
# --- course_grader.parallel: a private course folder for one student's grading ---
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
"""


def pack(folder: Path) -> bytes:
    """The folder ``folder`` as an uncompressed tar archive (symbolic links kept as links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".", recursive=True)
    return buffer.getvalue()


def unpack(data: bytes, folder: Path, *, links: bool = False) -> None:
    """Extract the archive ``data`` (from :func:`pack`) into ``folder``.

    Nothing lands outside ``folder``; with ``links=False`` (tarfile's ``data`` filter) no link
    pointing out of it is made either.  ``links=True`` keeps a submission's symbolic links, so
    that :func:`~course_grader.student.submission_problem` still sees and refuses them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(folder, filter="tar" if links else "data")


@dataclass
class CourseBundle:
    """What every grading task of one assignment needs, shipped once to each worker.

    ``source``, ``release`` and ``gradebook`` are bytes: the assignment's source and
    release folders (:func:`pack`) and a SQLite gradebook in which only the assignment is
    registered; ``options`` are :func:`~course_grader.student.grade_student`'s keywords.
    """

    assignment: str
    config: str
    source: bytes
    release: bytes
    gradebook: bytes
    options: dict = field(default_factory=dict)


@dataclass
class Graded:
    """What a task returns: the result, the private gradebook's grades, ``autograded/``."""

    result: StudentResult
    grades: dict | None = None
    autograded: bytes | None = None


def grade_privately(bundle: CourseBundle, student: str, submission: bytes) -> Graded:
    """Grade one student in a private course folder (see the module's doc); never raises
    for anything the submission holds."""
    assignment = bundle.assignment
    unsafe = bundle.options.get("unsafe", False)
    problem = None if unsafe else sandbox_problem()
    if problem:
        error = f"no sandbox can run on the grading machine: {problem}"
        return Graded(StudentResult(student, False, 0.0, error=error))
    with tempfile.TemporaryDirectory(prefix="course-grading-") as tmp:
        root = Path(tmp)
        (root / "nbgrader_config.py").write_text(bundle.config + _PRIVATE_CONFIG.format(root=tmp))
        (root / "gradebook.db").write_bytes(bundle.gradebook)
        unpack(bundle.source, root / "source" / assignment)
        unpack(bundle.release, root / "release" / assignment)
        unpack(submission, root / "submitted" / student / assignment, links=True)
        coursedir = load_coursedir(root)
        result = grade_student(
            coursedir,
            assignment,
            student,
            release_dir=root / "release" / assignment,
            **bundle.options,
        )
        db_url = coursedir.db_url
        grades = None if result.rejected else submission_grades(db_url, assignment, student)
        done = root / "autograded" / student / assignment
        autograded = pack(done) if done.is_dir() else None
    return Graded(result, grades, autograded)


def submission_grades(db_url: str, assignment: str, student: str) -> dict | None:
    """What autograding stored for ``student`` in the gradebook ``db_url`` (None: nothing)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": submission.timestamp,
            "notebooks": {
                nb.name: {
                    "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                }
                for nb in submission.notebooks
            },
        }


def merge_grades(db_url: str, assignment: str, student: str, grades: dict) -> None:
    """Write the grades of :func:`submission_grades` into the gradebook ``db_url``.

    Only what autograding sets is written (automatic scores and comments, the manual-grading
    mark, the timestamp): an instructor's manual scores and comments stay.
    """
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        stamp = {"timestamp": grades["timestamp"]} if grades["timestamp"] else {}
        submission = gb.update_or_create_submission(assignment, student, **stamp)
        for notebook in submission.notebooks:
            saved = grades["notebooks"].get(notebook.name, {"grades": {}, "comments": {}})
            for grade in notebook.grades:
                if grade.name in saved["grades"]:
                    grade.auto_score, grade.needs_manual_grade = saved["grades"][grade.name]
            for comment in notebook.comments:
                if comment.name in saved["comments"]:
                    comment.auto_comment = saved["comments"][comment.name]
        gb.db.commit()


#: Dask settings of the local cluster (see :func:`_on_dask`).
_QUIET_CLUSTER = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.worker.memory.monitor-interval": "5s",
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.profile.enabled": False,  # a stack sample of every thread each 10 ms
}


def _crashed(student: str, exc: BaseException) -> Graded:
    return Graded(StudentResult(student, False, 0.0, error=f"grading crashed: {exc!r}"[:300]))


def grade_students(
    bundle: CourseBundle,
    coursedir,
    students: Sequence[str],
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    say: Callable[[str], None] | None = None,
) -> list[StudentResult]:
    """Grade ``students`` (``jobs`` at a time, or on ``scheduler``'s workers) and store the
    results in the course ``coursedir``: its gradebook and ``autograded/`` folder.

    Returns the results in the order of ``students``.  ``say`` receives a line per student;
    with it, a progress bar on stderr shows the time left.
    """
    from tqdm import tqdm

    course_dir = Path(coursedir.root)
    submitted = course_dir / coursedir.submitted_directory
    results: dict[str, StudentResult] = {}
    bar = tqdm(total=len(students), unit="student", disable=say is None, dynamic_ncols=True)

    def store(student: str, graded: Graded) -> None:
        """The trusted parent's part: gradebook, ``autograded/``, progress."""
        result = graded.result
        try:
            if graded.grades is not None:
                merge_grades(coursedir.db_url, bundle.assignment, student, graded.grades)
            if graded.autograded is not None:
                folder = Path(
                    coursedir.format_path(
                        coursedir.autograded_directory, student, bundle.assignment
                    )
                )
                shutil.rmtree(folder, ignore_errors=True)
                unpack(graded.autograded, folder)
        except Exception as exc:  # noqa: BLE001 - one student never stops the class
            result.graded = False
            result.error = f"storing the grades failed: {exc!r}"[:300]
        results[student] = result
        bar.update()
        if say is not None:
            outcome = (
                f"{result.score_text()} automatic points"
                if result.graded
                else f"{result.status.upper()}: {result.error}"
            )
            with tqdm.external_write_mode():
                say(
                    f"[{len(results)}/{len(students)}] {student!r}: {outcome} "
                    f"({result.seconds:.0f} s)" + (" - flagged for review" if result.flags else "")
                )

    # Every student the gradebook will hold, in order now: grades.csv lists them in the order
    # they were added, whichever grading ends first.
    from nbgrader.api import Gradebook

    with Gradebook(coursedir.db_url) as gb:
        for student in students:
            if student_id_problem(student) is None:
                gb.update_or_create_student(student)

    def submission(student: str) -> bytes:
        return pack(submitted / student / bundle.assignment)

    try:
        if jobs <= 1 and not scheduler:
            for student in students:
                try:
                    graded = grade_privately(bundle, student, submission(student))
                except Exception as exc:  # noqa: BLE001
                    graded = _crashed(student, exc)
                store(student, graded)
        else:
            _on_dask(bundle, students, submission, store, jobs, scheduler)
    finally:
        bar.close()
    return [results[s] for s in students]


def _on_dask(bundle, students, submission, store, jobs, scheduler) -> None:
    """Run :func:`grade_privately` for every student on Dask; ``store`` each as it ends."""
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if not scheduler:
        # Workers in this process, one thread each: the work is done by the nbgrader and
        # sandbox subprocesses they start, and threads start at once where worker processes
        # take seconds.  No memory limit of Dask's own (the sandbox limits the student's
        # code) and no dashboard to bind a port for.  Tasks of many seconds each need no
        # work stealing, task profiler or 20 ms event-loop tick: an idle cluster so set up
        # costs 0.012 CPU seconds a second instead of 0.05-0.1.
        with dask.config.set(_QUIET_CLUSTER):
            cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=False,
                memory_limit=0,
                dashboard_address=None,
            )
    try:
        with Client(cluster or scheduler) as client:
            shared = client.scatter(bundle, broadcast=True)
            futures = {
                client.submit(grade_privately, shared, s, submission(s), pure=False): s
                for s in students
            }
            for future in as_completed(futures):
                student = futures[future]
                try:
                    graded = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker fails one student
                    graded = _crashed(student, exc)
                store(student, graded)
    finally:
        if cluster is not None:
            cluster.close()
