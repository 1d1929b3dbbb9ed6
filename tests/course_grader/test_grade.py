"""Tests for the course_grader package.

The pipeline tests grade a small made-up assignment ("toy") through the real
nbgrader commands, in a temporary course folder, with a 5-second cell limit:
one run grades honest, broken and hostile submissions side by side and shows
that every one of them is graded or reported, and that nobody else suffers.
The digit-classifier exercise itself is tested in test_exercise_digit_classifier.py.
"""

import copy
import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader_pipeline import cell, check_graded_or_reported
from tiny_assignment import meta, source_notebook

from course_grader import (
    ClearHiddenTracebacks,
    grade_assignment,
    hidden_test_lines,
    main,
    run_nbgrader,
    sandbox_problem,
    scan_submission,
    student_id_problem,
)

HIDDEN_LINE = "assert double(secret_argument_of_the_hidden_test) == 42, 'hidden check failed'"


def _toy_source():
    cells = [
        new_markdown_cell("# Toy assignment", metadata=meta("intro", locked=True)),
        new_code_cell("import math", metadata=meta("setup", locked=True)),
        new_code_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            metadata=meta("double", solution=True),
        ),
        new_code_cell(
            "assert double(2) == 4, 'double(2) should be 4'\n### BEGIN HIDDEN TESTS\n"
            "secret_argument_of_the_hidden_test = 21\n" + HIDDEN_LINE + "\n### END HIDDEN TESTS",
            metadata=meta("test_double", grade=True, locked=True, points=2),
        ),
        new_code_cell(
            "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION",
            metadata=meta("triple", solution=True),
        ),
        new_code_cell(
            "assert triple(2) == 6, 'triple(2) should be 6'",
            metadata=meta("test_triple", grade=True, locked=True, points=1),
        ),
        new_markdown_cell(
            "### BEGIN SOLUTION\nBecause two is twice one.\n### END SOLUTION",
            metadata=meta("why", grade=True, solution=True, points=2),
        ),
    ]
    return source_notebook(cells)


def _submission(release, double="return 2 * x", triple="return 3 * x", before=""):
    nb = copy.deepcopy(release)
    cell(nb, "double").source = f"{before}def double(x):\n    {double}"
    cell(nb, "triple").source = f"def triple(x):\n    {triple}"
    cell(nb, "why").source = "Because."
    return nb


# Automatic points (of 3) each submission must get, and why.
EXPECTED = {
    "honest": 3,  # right answers
    "blank": 0,  # the untouched release
    "wrong": 1,  # double fails only its hidden test; triple right
    "loops": 0,  # `while True` in double's cell: past the 5 s limit -> a failure, with its reason
    "exits": 1,  # sys.exit() is an ordinary error in IPython: double undefined
    "kills_kernel": 0,  # os._exit: grading fails -> 0, marked for manual grading
    "segfault": 0,  # a crash of the interpreter: the same
    "not_json": 0,  # broken file: grading fails -> 0
    "deletes_test": 1,  # wrong double, test cell deleted: the missing cell scores 0
    "edits_test": 1,  # wrong double, test cell replaced by `pass` worth 100: restored
    "hides_errors": 1,  # wrong double, exceptions swallowed by a custom handler: still 0
    "transformer": 3,  # wrong double, rewrites every later cell to `pass`: NOT caught (in-kernel)
    "reads_gradebook": 1,  # no gradebook in the sandbox: the cell fails, double undefined
    "vandal": 3,  # right answers; tries to write the gradebook, a classmate's notebook,
    #               the solutions and the network: nothing is there
    "daemon": 3,  # right answers; leaves processes behind (one holding its pipes)
    "memory_bomb": 3,  # right answers; allocates 8 GiB: MemoryError under the 4 GiB limit
    "floods": 3,  # right answers; prints 30 MB: cut to the output limit, with a note
    "empty": 0,  # an empty folder: a 0 row with its reason
    "misnamed": 0,  # 'Toy (1).ipynb': a 0 row with its reason
}
FAILED = {"loops", "kills_kernel", "segfault", "not_json", "empty", "misnamed"}
REJECTED = {"[glob]": "glob pattern", "--option": "starts with '-'"}
FLAGGED = {
    "exits",
    "kills_kernel",
    "segfault",
    "deletes_test",
    "edits_test",
    "hides_errors",
    "transformer",
    "reads_gradebook",
    "vandal",
    "daemon",
}
#: Marks the processes that the "daemon" submission leaves behind.
DAEMON_MARK = "6061.5"


def _vandal(course):
    """Code that would change grades, overwrite a classmate and leak the tests without a
    sandbox: every path is the real one, outside the sandbox."""
    gradebook = course / "gradebook.db"
    victim = course / "submitted" / "wrong" / "toy" / "toy.ipynb"
    solution = course / "solutions" / "toy" / "toy.ipynb"
    return (
        "import base64, sqlite3, urllib.request\n"
        "def attempt(what, action):\n"
        "    try:\n"
        "        action()\n"
        "        print(what, 'DONE')\n"
        "    except Exception as exc:\n"
        "        print(what, 'blocked:', type(exc).__name__, exc)\n"
        f"attempt('gradebook', lambda: sqlite3.connect('file:{gradebook}?mode=rw', uri=True)"
        ".execute('update grade set auto_score = 7').connection.commit())\n"
        f"attempt('leak', lambda: print(base64.b64encode(open('{gradebook}', 'rb').read())))\n"
        f"attempt('classmate', lambda: open('{victim}', 'w').write('{{}}'))\n"
        f"attempt('solutions', lambda: print(open('{solution}').read()))\n"
        "attempt('network', lambda: urllib.request.urlopen('http://1.1.1.1', timeout=3))\n"
    )


DAEMON = (
    "import os, subprocess\n"
    f"subprocess.Popen(['sleep', '{DAEMON_MARK}'], start_new_session=True)\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    f"    os.execvp('sleep', ['sleep', '{DAEMON_MARK}'])\n"
)


def _write_submissions(course, release):
    subs = {
        "honest": _submission(release),
        "blank": copy.deepcopy(release),
        "wrong": _submission(release, double="return 4"),
        "loops": _submission(release, before="while True:\n    pass\n"),
        "exits": _submission(release, before="import sys\nsys.exit(1)\n"),
        "kills_kernel": _submission(release, before="import os\nos._exit(0)\n"),
        "segfault": _submission(release, before="import ctypes\nctypes.string_at(0)\n"),
        "deletes_test": _submission(release, double="return 0"),
        "edits_test": _submission(release, double="return 0"),
        "hides_errors": _submission(
            release,
            double="return 0",
            before="get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n",
        ),
        "transformer": _submission(
            release,
            double="return 0",
            before="get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n",
        ),
        "reads_gradebook": _submission(
            release,
            before="import sqlite3\nfor (text,) in sqlite3.connect('../../../gradebook.db')"
            ".execute('select source from source_cell'):\n    print(text)\n",
        ),
        "vandal": _submission(release, before=_vandal(course)),
        "daemon": _submission(release, before=DAEMON),
        "memory_bomb": _submission(
            release,
            before="try:\n    bomb = bytearray(8 << 30)\nexcept MemoryError:\n"
            "    print('MemoryError: the bomb was stopped')\n",
        ),
        "floods": _submission(release, before="print('x' * 30_000_000)\n"),
    }
    subs["deletes_test"].cells.remove(cell(subs["deletes_test"], "test_double"))
    edited = cell(subs["edits_test"], "test_double")
    edited.source, edited.metadata.nbgrader.points = "pass", 100
    for student, nb in subs.items():
        folder = course / "submitted" / student / "toy"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "toy.ipynb")
    broken = course / "submitted" / "not_json" / "toy"
    broken.mkdir(parents=True)
    (broken / "toy.ipynb").write_text(nbformat.writes(subs["honest"])[:300])
    (course / "submitted" / "empty" / "toy").mkdir(parents=True)
    (course / "submitted" / "misnamed" / "toy").mkdir(parents=True)
    nbformat.write(subs["honest"], course / "submitted" / "misnamed" / "toy" / "Toy (1).ipynb")
    for student in REJECTED:
        (course / "submitted" / student / "toy").mkdir(parents=True)
        nbformat.write(subs["honest"], course / "submitted" / student / "toy" / "toy.ipynb")


def _toy_course(course, students=None):
    """A course with the toy assignment and the submissions of ``students`` (default: all)."""
    shutil.copy(ROOT / "nbgrader_config.py", course)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.Execute.timeout = 5  # tests: cut infinite loops quickly\n")
    (course / "solutions" / "toy").mkdir(parents=True)
    nbformat.write(_toy_source(), course / "solutions" / "toy" / "toy.ipynb")
    code, log = run_nbgrader(["generate_assignment", "toy", "--force", "--no-db"], course)
    assert code == 0, log
    _write_submissions(course, nbformat.read(course / "exercises" / "toy" / "toy.ipynb", 4))
    if students is not None:
        for folder in (course / "submitted").iterdir():
            if folder.name not in students:
                shutil.rmtree(folder)
    return course


def _needs_sandbox():
    problem = sandbox_problem()
    if problem:
        pytest.skip(f"NO SANDBOX CAN RUN HERE, the sandbox pipeline is NOT tested: {problem}")


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory):
    _needs_sandbox()
    return _toy_course(tmp_path_factory.mktemp("toy_course"))


@pytest.fixture(scope="module")
def report(toy_course):
    return grade_assignment("toy", toy_course, echo=None)


def _gradebook_scores(course, students):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            s: {g.name: g.score for g in gb.find_submission_notebook("toy", "toy", s).grades}
            for s in students
        }


# -- the pipeline -----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_submission_is_graded_or_reported(report):
    check_graded_or_reported(
        report,
        [*EXPECTED, *REJECTED],
        FAILED | set(REJECTED),
        {
            "kills_kernel": "kernel died",
            "segfault": "kernel died",
            "not_json": "not valid JSON",
            "loops": "cell 3 (double) ran past the 5 s limit",
            "empty": "the folder is empty",
            "misnamed": "found 'Toy (1).ipynb', expected 'toy.ipynb'",
        },
    )
    for student, reason in REJECTED.items():
        assert report.result(student).rejected and reason in report.result(student).error


@pytest.mark.slow
def test_scores_in_the_gradebook(report, toy_course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{toy_course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("toy", s).code_score for s in EXPECTED}
        failed_grade = gb.find_grade("test_triple", "toy", "toy", "kills_kernel")
        assert failed_grade.auto_score == 0 and failed_grade.needs_manual_grade
    assert scores == EXPECTED
    assert {r.student: r.code_score for r in report.results if not r.rejected} == EXPECTED
    assert all(r.max_code_score == 3 for r in report.results if not r.rejected)


@pytest.mark.slow
def test_student_code_runs_in_the_sandbox(report, toy_course):
    assert all(r.sandboxed for r in report.results if r.graded)
    vandal = (toy_course / "autograded" / "vandal" / "toy" / "toy.ipynb").read_text()
    for what in ("gradebook", "leak", "classmate", "solutions", "network"):
        assert f"{what} blocked:" in vandal and f"{what} DONE" not in vandal
    assert "Network is unreachable" in vandal
    assert "bomb was stopped" in (toy_course / "autograded/memory_bomb/toy/toy.ipynb").read_text()
    flood = toy_course / "autograded" / "floods" / "toy" / "toy.ipynb"
    assert flood.stat().st_size < 3_000_000 and "output cut" in flood.read_text()
    assert (toy_course / "feedback" / "floods" / "toy" / "toy.html").stat().st_size < 3_000_000


@pytest.mark.slow
def test_no_process_outlives_the_grading(report):
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if DAEMON_MARK.encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:
            continue
    assert not left, f"processes left behind by the 'daemon' submission: {left}"
    assert report.result("daemon").graded


@pytest.mark.slow
def test_honest_grades_do_not_depend_on_the_class(report, toy_course, tmp_path):
    alone = _toy_course(tmp_path, students={"honest", "wrong", "blank"})
    grade_assignment("toy", alone, echo=None, feedback=False)
    students = ["honest", "wrong", "blank"]
    assert _gradebook_scores(alone, students) == _gradebook_scores(toy_course, students)


@pytest.mark.slow
def test_timeout_is_a_failure_with_its_reason(report):
    loops = report.result("loops")
    assert not loops.graded and loops.code_score == 0
    assert loops.error == "cell 3 (double) ran past the 5 s limit"


@pytest.mark.slow
def test_suspicious_submissions_are_flagged_and_honest_ones_are_not(report):
    flagged = {r.student for r in report.results if r.flags}
    assert flagged == FLAGGED
    flags = {r.student: " ".join(r.flags) for r in report.results}
    assert "deleted the test or read-only cells test_double" in flags["deletes_test"]
    assert "edited the test or read-only cells test_double" in flags["edits_test"]
    assert "input_transformers" in flags["transformer"]


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests(report, toy_course):
    pages = sorted((toy_course / "feedback").rglob("*.html"))
    assert {p.parts[-3] for p in pages} == set(EXPECTED) - FAILED
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text and "secret_argument_of_the_hidden_test" not in text, page
    wrong = (toy_course / "feedback" / "wrong" / "toy" / "toy.html").read_text()
    assert "AssertionError: hidden check failed" in wrong  # the message, not the code


@pytest.mark.slow
def test_grades_csv_report_and_summary(report, toy_course):
    with open(report.grades_csv) as f:
        rows = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert rows == {s: float(v) for s, v in EXPECTED.items()}  # written answers not graded yet
    with open(toy_course / "grading_report.csv") as f:
        listed = {row["student"]: row for row in csv.DictReader(f)}
    assert set(listed) == set(EXPECTED) | set(REJECTED)
    assert listed["[glob]"]["status"] == "rejected" and "glob" in listed["[glob]"]["reason"]
    assert "ran past the 5 s limit" in listed["loops"]["reason"]
    assert "input_transformers" in listed["transformer"]["flags"]
    summary = report.summary()
    assert "kills_kernel: the kernel died" in summary
    assert "not_json: the notebook file is not valid JSON" in summary
    assert "transformer: changes how cells or errors are handled" in summary
    assert "honest" in summary and "3 / 3" in summary


@pytest.mark.slow
def test_reasons_and_flags_are_in_the_gradebook(report, toy_course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{toy_course / 'gradebook.db'}") as gb:
        notes = {
            s: " ".join(
                c.auto_comment or "" for c in gb.find_submission_notebook("toy", "toy", s).comments
            )
            for s in ("loops", "transformer", "empty", "honest")
        }
    assert "ran past the 5 s limit" in notes["loops"]
    assert "input_transformers" in notes["transformer"]
    assert "the folder is empty" in notes["empty"]
    assert "[grader]" not in notes["honest"]


# -- pieces -------------------------------------------------------------------------------------


def _notebook_file(tmp_path, *sources, grade_ids=None):
    cells = [new_code_cell(s) for s in sources]
    for c, gid in zip(cells, grade_ids or [None] * len(cells)):
        if gid:
            c.metadata["nbgrader"] = {"grade_id": gid}
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.mark.parametrize(
    "code",
    [
        "np.allclose = lambda *a, **k: True",
        "import builtins\nbuiltins.abs = lambda x: 0",
        "course_utils.checks.digit_classifier.__dict__['check'] = None",
        "get_ipython().set_custom_exc((Exception,), print)",
        "import os\nos._exit(0)",
        "exit()",
        "X, y = load_digits('test', return_X_y=True)",
        "model.load_state_dict(torch.load('weights.pt'))",
        "open('../../../gradebook.db').read()",
        "exec(base64.b64decode(payload))",
        "!rm -rf ~",
    ],
)
def test_scan_flags_code_that_students_do_not_need(tmp_path, code):
    assert scan_submission(_notebook_file(tmp_path, code))


@pytest.mark.parametrize(
    "code",
    [
        "model.eval()\nmodel = torch.compile(model)",
        "X, y = load_digits('train', return_X_y=True)",
        "torch.manual_seed(0)\nnp.random.seed(0)",
        "if np.allclose(a, b):\n    pass  # np.allclose = lambda: True would be cheating",
        "%matplotlib inline\nimport matplotlib.pyplot as plt",
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
    ],
)
def test_scan_leaves_ordinary_code_alone(tmp_path, code):
    assert scan_submission(_notebook_file(tmp_path, code)) == []


def test_scan_ignores_cells_that_nbgrader_restores(tmp_path):
    path = _notebook_file(tmp_path, "exec('x')", "sys.exit()", grade_ids=["test_a", "answer"])
    flags = scan_submission(path, protected_ids={"test_a"})
    assert len(flags) == 1 and "exits" in flags[0]
    assert scan_submission(tmp_path / "missing.ipynb") == []


def test_hidden_test_lines_are_the_distinctive_hidden_lines(tmp_path):
    path = tmp_path / "source.ipynb"
    nbformat.write(_toy_source(), path)
    assert hidden_test_lines([path]) == {HIDDEN_LINE, "secret_argument_of_the_hidden_test = 21"}


def test_clear_hidden_tracebacks_keeps_only_the_message():
    nb = _toy_source()
    error = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="hidden check failed",
        traceback=["Cell In[3], line 4", f"----> 4 {HIDDEN_LINE}"],
    )
    for grade_id in ("test_double", "test_triple"):
        cell(nb, grade_id).outputs = [copy.deepcopy(error)]
    nb, _ = ClearHiddenTracebacks().preprocess(nb, {})
    assert cell(nb, "test_double").outputs[0].traceback == ["AssertionError: hidden check failed"]
    assert cell(nb, "test_triple").outputs[0].traceback == error.traceback  # no hidden tests


def test_run_nbgrader_stops_at_the_timeout(tmp_path):
    code, log = run_nbgrader(["--version"], tmp_path, timeout=0.001)
    assert code == -9 and "stopped after" in log


def test_main_reports_usage_errors(tmp_path, capsys):
    assert main(["toy", "--course-dir", str(tmp_path)]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "solutions" / "toy").mkdir(parents=True)
    nbformat.write(_toy_source(), tmp_path / "solutions" / "toy" / "toy.ipynb")
    assert main(["toy", "--course-dir", str(tmp_path)]) == 1  # nothing submitted
    assert "no submissions found" in capsys.readouterr().out
    assert not (tmp_path / "gradebook.db").exists()


@pytest.mark.parametrize(
    "student, reason",
    [
        ("[glob]", "glob pattern"),
        ("a*", "glob pattern"),
        ("--student", "starts with '-'"),
        ("-x", "starts with '-'"),
        (".hidden", "starts with '.'"),
        ("two words", "' '"),
        ("", "empty"),
    ],
)
def test_student_ids_that_nbgrader_would_misread_are_rejected(student, reason):
    assert reason in student_id_problem(student)


@pytest.mark.parametrize("student", ["alice", "bob_2", "m.curie", "jo-anne", "müller", "a@b.ch"])
def test_ordinary_student_ids_pass(student):
    assert student_id_problem(student) is None


def test_submission_problems_name_what_was_found(tmp_path):
    from course_grader.student import submission_problem

    folder = tmp_path / "toy"
    folder.mkdir()
    assert "the folder is empty" in submission_problem(folder, ["toy.ipynb"])
    (folder / "notes.txt").write_text("hi")
    assert "no notebook in the folder (found 'notes.txt')" in submission_problem(
        folder, ["toy.ipynb"]
    )
    (folder / "Toy (1).ipynb").write_text("{}")
    assert submission_problem(folder, ["toy.ipynb"]) == (
        "found 'Toy (1).ipynb', expected 'toy.ipynb'"
    )
    (folder / "toy.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    assert "symbolic links (toy.ipynb)" in submission_problem(folder, ["toy.ipynb"])
    (folder / "toy.ipynb").unlink()
    (folder / "toy.ipynb").write_text("{}")
    assert submission_problem(folder, ["toy.ipynb"]) is None
