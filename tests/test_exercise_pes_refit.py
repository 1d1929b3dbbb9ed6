"""Exercise 2, the neural-network refit of the O2/Pd(100) PES, graded through nbgrader.

Everything runs in a temporary copy of the course (nbgrader_config.py,
solutions/, exercises/): no gradebook or submitted/ folder is ever created in
the repository.

The submissions are what students hand in: the release with its answer cells
filled in, from the reference solution and then broken in typical ways.
Automatic points per test cell (21 in all):

    test_exchange_atoms 1, test_c4v_images 3, test_collision 2, test_inputs 1,
    test_standardisation 2 (hidden), test_model 2, test_rmse_500 2,
    test_rmse_300 2, test_rmse_250 2 (hidden), test_calculator 2, test_path 2 (hidden)

and the expected scores, asserted cell by cell in EXPECTED:

    reference    21  everything right; trains in about 30-45 s
    untouched     0  the release as handed out
    naive         6  the naive coordinates Q1-Q7 as inputs (a 7-input network):
                     tasks 1 and 2 only; the inputs, the model, the calculator
                     (PESCalculator rejects a 7-input network) all fail
    leaky        19  standardisation statistics from training + validation + test
                     points: only the hidden leakage check fails
    untrained    13  the network is never trained: no error tier, and its path
                     is far from the reference
    kj_per_mol   11  energies converted to kJ/mol before standardising: the
                     statistics check, the error tiers and the path fail
    wrong_shape   9  the network ends in 10 outputs: interface, tiers and the
                     calculator (which rejects it) fail

All of them are graded in one run of course_utils.grading.
"""

import copy
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from course_utils.grading import grade_assignment, hidden_test_lines, run_nbgrader
from course_utils.pes_exercise import PES_RMSE_TIERS

ASSIGNMENT = "pes_refit"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

POINTS = {
    "test_exchange_atoms": 1, "test_c4v_images": 3, "test_collision": 2, "test_inputs": 1,
    "test_standardisation": 2, "test_model": 2, "test_rmse_500": 2, "test_rmse_300": 2,
    "test_rmse_250": 2, "test_calculator": 2, "test_path": 2,
}
TIERS = ("test_rmse_500", "test_rmse_300", "test_rmse_250")


def _zero(*cells):
    return {cell: (0 if cell in cells else points) for cell, points in POINTS.items()}


EXPECTED = {
    "reference": _zero(),
    "untouched": _zero(*POINTS),
    "naive": _zero("test_inputs", "test_standardisation", "test_model", *TIERS,
                   "test_calculator", "test_path"),
    "leaky": _zero("test_standardisation"),
    "untrained": _zero(*TIERS, "test_path"),
    "kj_per_mol": _zero("test_standardisation", *TIERS, "test_path"),
    "wrong_shape": _zero("test_model", *TIERS, "test_calculator", "test_path"),
}

# Typical mistakes, as a student would write them.
SHORT_TRAINING = ("epochs, batch_size, max_lr = 600, 64, 3e-3",
                  "epochs, batch_size, max_lr = 5, 64, 3e-3")
UNTRAINED = "# I ran out of time before training the network.\nmodel.eval()"
LEAKY_STATISTICS = '''
coords_test, E_test = load_pes_dataset("test", return_X_y=True)
Q_all = symmetry_coordinates(np.concatenate([coords_train, coords_val, coords_test]))
E_all = np.concatenate([E_train, E_val, E_test])
x_mean, x_std = Q_all.mean(axis=0), Q_all.std(axis=0)  # statistics of every point we have
y_mean, y_std = float(E_all.mean()), float(E_all.std())
'''
KJ_PER_MOL = '''
E_train = E_train * 96.485  # kJ/mol are the units I know from chemistry
E_val = E_val * 96.485
'''
WRONG_SHAPE_MODEL = '''torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(10, 128), nn.SiLU(),
    nn.Linear(128, 128), nn.SiLU(),
    nn.Linear(128, 10),
)'''


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
    standardise = _cell(solved, "standardise").source
    short_training = _cell(solved, "training").source.replace(*SHORT_TRAINING)
    assert short_training != _cell(solved, "training").source

    def variant(**answers):
        nb = copy.deepcopy(solved)
        for grade_id, text in answers.items():
            _cell(nb, grade_id).source = text
        return nb

    subs = {
        "reference": solved,
        "untouched": copy.deepcopy(release),
        "naive": variant(
            standardise=standardise.replace("(coords_train)", "(coords_train, naive=True)")
                                   .replace("(coords_val)", "(coords_val, naive=True)"),
            model=_cell(solved, "model").source.replace("nn.Linear(10, 128)", "nn.Linear(7, 128)"),
            training=short_training),
        "leaky": variant(standardise=standardise.replace(
            "x_train = as_tensor", LEAKY_STATISTICS.strip() + "\n\n\nx_train = as_tensor", 1)),
        "untrained": variant(training=UNTRAINED),
        "kj_per_mol": variant(standardise=KJ_PER_MOL.strip() + "\n" + standardise,
                              training=short_training),
        "wrong_shape": variant(model=WRONG_SHAPE_MODEL, training=short_training),
    }
    return {student: nbformat.writes(nb) for student, nb in subs.items()}


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
    intro = _cell(source, "intro").source
    assert f"{sum(POINTS.values())} graded automatically, 4 by an instructor" in intro


def test_hidden_tiers_are_the_documented_ones():
    source = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE, as_version=4)
    thresholds = [float(re.search(r"check_rmse_tier\(model, x_mean, x_std, y_mean, y_std, "
                                  r"([0-9.]+)\)", _cell(source, tier).source).group(1))
                  for tier in TIERS]
    assert thresholds == list(PES_RMSE_TIERS)
    assert [f"test_rmse_{t:.0f}" for t in PES_RMSE_TIERS] == list(TIERS)
    intro = _cell(source, "task4").source
    for tier in PES_RMSE_TIERS:
        assert f"RMSE at most {tier:.0f} meV" in intro
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
    assert "load_pes_dataset(\"test\"" not in _cell(source, "training").source


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
    course = _copy_course(tmp_path_factory.mktemp("pes_course"))
    for student, text in _submissions().items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
    # One thread per kernel: a shared test machine makes PyTorch's thread pool crawl.
    # The per-cell limit stays at the course's 120 s: the reference trains in 30-45 s.
    report = grade_assignment(ASSIGNMENT, course, extra_env={"OMP_NUM_THREADS": "1"}, echo=None)
    assert not (ROOT / "gradebook.db").exists() and not (ROOT / "submitted").exists()
    return report, course


def _cell_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in notebook.grades if g.name in POINTS}


@pytest.mark.slow
def test_everyone_is_graded(graded):
    report, _ = graded
    assert sorted(r.student for r in report.results) == sorted(EXPECTED)
    assert not report.failed, [(r.student, r.error) for r in report.failed]
    assert report.grades_csv is not None and not report.problems


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores_per_test_cell(graded, student):
    report, course = graded
    assert _cell_scores(course, student) == EXPECTED[student]
    result = report.result(student)
    assert result.code_score == sum(EXPECTED[student].values())
    assert result.max_code_score == 21


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


def _feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


@pytest.mark.slow
def test_feedback_explains_failures_without_hidden_tests(graded):
    report, course = graded
    secrets = hidden_test_lines([SOURCE])
    for r in report.results:
        page = _feedback(course, r.student)
        assert not [m for m in MARKERS if m in page], r.student
        plain = re.sub(r"<[^>]+>", "", page)
        assert not [s for s in secrets if s in plain], r.student
    assert "the 250 meV tier is reached" in _feedback(course, "reference")
    assert "Seven values suggest the naive coordinates" in _feedback(course, "naive")
    assert "let information about those points leak" in _feedback(course, "leaky")
    assert "above the 500 meV tier" in _feedback(course, "untrained")
    assert "Keep energies in eV" in _feedback(course, "kj_per_mol")
    assert "but it returns shape (4000, 10)" in _feedback(course, "wrong_shape")


@pytest.mark.slow
def test_validate_button_checks_the_visible_tests(tmp_path, monkeypatch):
    """What the Validate button runs: the visible tests pass for an untrained network
    (the error tiers and the leakage check are hidden), and a wrong exchange of the atoms
    is reported with its message."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    untrained = nbformat.reads(_submissions()["untrained"], 4)
    wrong = copy.deepcopy(untrained)
    _cell(wrong, "exchange_atoms").source = (  # forgets that phi turns too
        "def exchange_atoms(coords):\n    swapped = np.array(coords, dtype=float)\n"
        "    swapped[..., 4] = np.pi - swapped[..., 4]\n    return swapped")
    results = {}
    for name, nb in (("untrained", untrained), ("wrong", wrong)):
        (tmp_path / name).mkdir()
        path = tmp_path / name / f"{ASSIGNMENT}.ipynb"
        nbformat.write(nb, path)
        results[name] = Validator(config=config).validate(str(path))
    assert results["untrained"] == {}
    failed = results["wrong"]["failed"]
    assert len(failed) == 1
    assert "the atom positions of exchange_atoms(one) (atoms swapped) should be" in (
        failed[0]["raw_error"])
