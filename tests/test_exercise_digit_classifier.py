"""Exercise 1, the digit classifier, graded through the real nbgrader pipeline.

Everything runs in a temporary copy of the course (nbgrader_config.py,
solutions/, exercises/): no gradebook or submitted/ folder is ever created in
the repository.

The submissions are what students hand in: the release with its answer cells
filled in, from the reference solution and then broken in typical ways.
Automatic points per test cell (20 in all):

    test_sigmoid 2, test_forward 3, test_n_parameters 2, test_my_network 1,
    test_cost 2, test_gradient_descent_step 2, test_model 2,
    test_accuracy_85 2, test_accuracy_90 2, test_accuracy_94 2 (hidden)

and the expected scores, asserted cell by cell in EXPECTED:

    reference      20  everything right; trains in seconds
    untouched       0  the release as handed out
    wrong_sigmoid  15  1/(1 + exp(+z)): sigmoid and forward fail, the rest passes
    untrained      14  the network is defined but never trained: no accuracy tier
    wrong_shape    12  the network returns probabilities of shape (10, N): task 4 fails
    infinite_loop  14  the training cell never ends: cut by the cell timeout,
                       the untrained network is graded like `untrained`
    kills_kernel    0  os._exit in the cost cell: grading fails, 0 and flagged
    not_json        0  a truncated file: grading fails, 0
    cheater         9  wrong sigmoid, untrained, and every trick in the book
                       (same 9 points as without the tricks)
    patcher         0  wrong sigmoid, untrained, and numpy/builtins monkeypatched:
                       every check after the patch fails

All of them are graded in one run of course_utils.grading, which shows that
broken and hostile notebooks do not stop the others from being graded.
"""

import copy
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from course_utils.exercises import DIGIT_TIERS
from course_utils.grading import grade_assignment, hidden_test_lines, run_nbgrader

ASSIGNMENT = "digit_classifier"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

POINTS = {
    "test_sigmoid": 2, "test_forward": 3, "test_n_parameters": 2, "test_my_network": 1,
    "test_cost": 2, "test_gradient_descent_step": 2, "test_model": 2,
    "test_accuracy_85": 2, "test_accuracy_90": 2, "test_accuracy_94": 2,
}
TIERS = ("test_accuracy_85", "test_accuracy_90", "test_accuracy_94")


def _zero(*cells):
    return {cell: (0 if cell in cells else points) for cell, points in POINTS.items()}


EXPECTED = {
    "reference": _zero(),
    "untouched": _zero(*POINTS),
    "wrong_sigmoid": _zero("test_sigmoid", "test_forward"),
    "untrained": _zero(*TIERS),
    "wrong_shape": _zero("test_model", *TIERS),
    "infinite_loop": _zero(*TIERS),
    "kills_kernel": _zero(*POINTS),
    "not_json": _zero(*POINTS),
    "cheater": _zero("test_sigmoid", "test_forward", *TIERS),
    "patcher": _zero(*POINTS),
}
FAILED = {"kills_kernel", "not_json"}
FLAGGED = {"kills_kernel", "cheater", "patcher"}

# Typical mistakes, as a student would write them.
WRONG_SIGMOID = "def sigmoid(z):\n    return 1 / (1 + np.exp(z))"
UNTRAINED = "# I ran out of time before training the network.\nmodel.eval()"
WRONG_SHAPE = '''class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return torch.softmax(self.layers(x), dim=1).T  # one column per digit


torch.manual_seed(0)
model = DigitNet()'''
NEVER_ENDS = "while True:  # waiting for a convergence that never comes\n    pass"
# Tricks that must gain nothing: they redefine the checks in the notebook,
# hide exceptions, try to replace the checks in their module, and (below) edit
# and delete test cells.
TRICKS = '''
def assert_close(*args, **kwargs):
    pass


def check_accuracy_tier(*args, **kwargs):
    pass


quiet = check_digit_model = assert_equal = check_accuracy_tier
get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
import course_utils.exercises
try:
    course_utils.exercises.check_accuracy_tier = check_accuracy_tier
except AttributeError:
    pass
'''
PATCHES = '''
import builtins
np.allclose = lambda *args, **kwargs: True
builtins.abs = lambda x: 0
'''


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _cell(nb, grade_id):
    return next(c for c in nb.cells if _grade_id(c) == grade_id)


def _without_markers(source):
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def _submissions():
    source = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE, as_version=4)
    solved = copy.deepcopy(release)
    for cell in solved.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = _without_markers(_cell(source, _grade_id(cell)).source)

    def variant(**answers):
        nb = copy.deepcopy(solved)
        for grade_id, text in answers.items():
            _cell(nb, grade_id).source = text
        return nb

    subs = {
        "reference": solved,
        "untouched": copy.deepcopy(release),
        "wrong_sigmoid": variant(sigmoid=WRONG_SIGMOID),
        "untrained": variant(training=UNTRAINED),
        "wrong_shape": variant(model=WRONG_SHAPE),
        "infinite_loop": variant(training=NEVER_ENDS),
        "kills_kernel": variant(cost="import os\nos._exit(1)\n" + _cell(solved, "cost").source),
        "cheater": variant(sigmoid=WRONG_SIGMOID + "\n" + TRICKS, training=UNTRAINED),
        "patcher": variant(sigmoid=WRONG_SIGMOID + "\n" + PATCHES, training=UNTRAINED),
    }
    cheater = subs["cheater"]
    for grade_id in ("test_sigmoid", "test_accuracy_94"):
        _cell(cheater, grade_id).source = "pass"
        _cell(cheater, grade_id).metadata.nbgrader.points = 100
    cheater.cells.remove(_cell(cheater, "test_forward"))
    texts = {student: nbformat.writes(nb) for student, nb in subs.items()}
    texts["not_json"] = texts["reference"][:2000]  # a notebook truncated mid-save
    return texts


def _copy_course(dest: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", dest)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, dest / "solutions" / ASSIGNMENT)
    shutil.copytree(ROOT / "exercises" / ASSIGNMENT, dest / "exercises" / ASSIGNMENT)
    return dest


# -- the release, without running anything --------------------------------------------------


def test_release_and_source_hold_the_same_cells():
    source = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE, as_version=4)
    assert [_grade_id(c) for c in source.cells] == [_grade_id(c) for c in release.cells]
    graded = {_grade_id(c): c.metadata.nbgrader for c in source.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert {g: m["points"] for g, m in graded.items() if g.startswith("test_")} == POINTS
    written = [g for g, m in graded.items() if m.get("solution")]
    assert written == ["written_answer"] and graded["written_answer"]["points"] == 4
    assert _cell(source, "written_answer").cell_type == "markdown"


def test_hidden_tiers_are_the_documented_ones():
    source = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE, as_version=4)
    thresholds = [float(re.search(r"check_accuracy_tier\(model, ([0-9.]+)\)",
                                  _cell(source, tier).source).group(1)) for tier in TIERS]
    assert thresholds == list(DIGIT_TIERS)
    intro = _cell(source, "task4").source
    for tier in DIGIT_TIERS:
        assert f"at least {tier:.0%}".replace("%", " %") in intro
    for tier in TIERS:  # students see only a comment: the check itself is hidden
        lines = [line for line in _cell(release, tier).source.splitlines() if line.strip()]
        assert lines and all(line.startswith("#") for line in lines)


def test_release_contains_no_solution_or_hidden_test():
    text = RELEASE.read_text()
    assert not [m for m in MARKERS if m in text]
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    source = nbformat.read(SOURCE, as_version=4)
    solution_lines = {
        line.strip()
        for cell in source.cells
        for block in re.findall(r"BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, re.S)
        for line in block.splitlines() if len(line.strip()) >= 25
    }
    secrets = solution_lines | hidden_test_lines([SOURCE])
    assert len(secrets) > 20, "the check would be nearly empty"
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"solution or hidden-test lines in the release: {leaked[:3]}"


@pytest.mark.slow
def test_committed_release_is_what_nbgrader_generates(tmp_path):
    course = _copy_course(tmp_path)
    shutil.rmtree(course / "exercises")
    code, log = run_nbgrader(["generate_assignment", ASSIGNMENT, "--force", "--no-db"], course)
    assert code == 0, log
    generated = sorted(p.relative_to(course) for p in (course / "exercises").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises" / ASSIGNMENT).rglob("*")
                       if p.is_file())
    assert generated == committed, "exercises/ holds other files than nbgrader generates"
    for rel in generated:
        assert (course / rel).read_bytes() == (ROOT / rel).read_bytes(), (
            f"{rel} differs from what nbgrader generates from solutions/: run "
            f"`make release` (nbgrader generate_assignment {ASSIGNMENT} --force --no-db)"
        )
    assert not (course / "gradebook.db").exists()


# -- grading a class ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grading run over all submissions; returns (report, course folder)."""
    course = _copy_course(tmp_path_factory.mktemp("digit_course"))
    with open(course / "nbgrader_config.py", "a") as f:
        # The reference's training cell takes about 8 s on a busy 2-core machine (one
        # thread): 30 s per cell is plenty and keeps the infinite loop from costing
        # the course's 120 s.
        f.write("\nc.Execute.timeout = 30\n")
    for student, text in _submissions().items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
    # One thread per kernel: a shared test machine makes PyTorch's thread pool crawl.
    report = grade_assignment(ASSIGNMENT, course, extra_env={"OMP_NUM_THREADS": "1"}, echo=None)
    assert not (ROOT / "gradebook.db").exists() and not (ROOT / "submitted").exists()
    return report, course


def _cell_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in notebook.grades if g.name in POINTS}


@pytest.mark.slow
def test_everyone_is_graded_or_reported(graded):
    report, _ = graded
    assert sorted(r.student for r in report.results) == sorted(EXPECTED)
    assert {r.student for r in report.failed} == FAILED
    assert "kernel died" in report.result("kills_kernel").error
    assert "not valid JSON" in report.result("not_json").error


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores_per_test_cell(graded, student):
    report, course = graded
    assert _cell_scores(course, student) == EXPECTED[student]
    result = report.result(student)
    assert result.code_score == sum(EXPECTED[student].values())
    assert result.max_code_score == 20


@pytest.mark.slow
def test_reference_autograde_time_is_recorded(graded, record_property):
    report, _ = graded
    seconds = report.result("reference").seconds
    record_property("reference_autograde_seconds", round(seconds, 1))
    print(f"\nautograding the reference solution took {seconds:.1f} s (budget: 90 s)")


@pytest.mark.slow
def test_written_answer_waits_for_an_instructor(graded):
    report, course = graded
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        answered = gb.find_grade("written_answer", ASSIGNMENT, ASSIGNMENT, "reference")
        blank = gb.find_grade("written_answer", ASSIGNMENT, ASSIGNMENT, "untouched")
        assert answered.auto_score is None and answered.needs_manual_grade
        assert blank.auto_score == 0 and not blank.needs_manual_grade  # nothing to read
    assert report.result("reference").needs_manual_grade


@pytest.mark.slow
def test_tricks_are_flagged_and_honest_work_is_not(graded):
    report, _ = graded
    assert {r.student for r in report.results if r.flags} == FLAGGED
    cheater = " ".join(report.result("cheater").flags)
    assert "deleted the test or read-only cells test_forward" in cheater
    assert "edited the test or read-only cells test_sigmoid, test_accuracy_94" in cheater
    assert "set_custom_exc" in cheater
    assert "monkeypatching" in " ".join(report.result("patcher").flags)


def _feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


@pytest.mark.slow
def test_feedback_explains_failures_without_hidden_tests(graded):
    report, course = graded
    secrets = hidden_test_lines([SOURCE])
    for r in report.results:
        if r.graded:
            page = _feedback(course, r.student)
            assert not [m for m in MARKERS if m in page], r.student
            plain = re.sub(r"<[^>]+>", "", page)
            assert not [s for s in secrets if s in plain], r.student
    assert "below the 85% tier" in _feedback(course, "untrained")
    assert "but it returns shape (10, 16)" in _feedback(course, "wrong_shape")
    assert "the 94% tier is reached" in _feedback(course, "reference")
    assert "this notebook has replaced" in _feedback(course, "patcher")


@pytest.mark.slow
def test_validate_button_checks_the_visible_tests(tmp_path, monkeypatch):
    """What the Validate button runs: the visible tests pass for an untrained network
    (the accuracy tiers are hidden), and a wrong sigmoid is reported with its message."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    untrained = nbformat.reads(_submissions()["untrained"], 4)
    wrong = copy.deepcopy(untrained)
    _cell(wrong, "sigmoid").source = WRONG_SIGMOID
    results = {}
    for name, nb in (("untrained", untrained), ("wrong", wrong)):
        (tmp_path / name).mkdir()
        path = tmp_path / name / f"{ASSIGNMENT}.ipynb"
        nbformat.write(nb, path)
        results[name] = Validator(config=config).validate(str(path))
    assert results["untrained"] == {}
    failed = results["wrong"]["failed"]
    assert len(failed) == 2  # test_sigmoid, and test_forward that uses sigmoid
    assert "sigmoid of the lecture's sums (-1.9, 3.1, -0.4) should be" in failed[0]["raw_error"]
    assert "the hidden layer of the lecture's example should be" in failed[1]["raw_error"]
