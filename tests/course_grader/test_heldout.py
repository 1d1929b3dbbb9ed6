"""Held-out scores computed by the grader from the exported model, not by the student's kernel.

The toy assignment of test_grade.py, with a read-only cell that exports ``double`` as a
TorchScript module; the grader's evaluator checks it on inputs drawn from a seed the
student never sees.  A submission that fools the in-kernel tests gains nothing, and is flagged.
"""

import copy
import shutil

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell
from nbgrader_pipeline import cell
from test_grade import _needs_sandbox, _submission, _toy_source
from tiny_assignment import meta

from course_grader import grade_assignment, run_nbgrader
from course_grader.heldout import Evaluator, evaluate_export

EXPORT = (
    "import torch\n"
    "class Doubler(torch.nn.Module):\n"
    "    def forward(self, x):\n"
    "        return double(x)\n"
    "torch.jit.trace(Doubler(), torch.ones(3)).save('doubler.pt')"
)
EVALUATOR = Evaluator(
    export="doubler.pt",
    script=(
        "def evaluate(path, seed):\n"
        "    import torch\n"
        "    x = torch.randn(100, generator=torch.Generator().manual_seed(seed))\n"
        "    return {'test_double': bool(torch.allclose(torch.jit.load(path)(x), 2 * x))}\n"
    ),
    tiers=("test_double",),
)
# In-kernel tests see 3 points for all three; the grader's own evaluation decides test_double.
EXPECTED = {"honest": 3, "ints_only": 1, "transformer": 1}


def _source():
    nb = _toy_source()
    export = new_code_cell(EXPORT, metadata=meta("export", locked=True))
    export.id = "export"
    nb.cells.insert(nb.cells.index(cell(nb, "test_triple")) + 1, export)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _needs_sandbox()
    course = tmp_path_factory.mktemp("heldout_course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    (course / "solutions" / "toy").mkdir(parents=True)
    nbformat.write(_source(), course / "solutions" / "toy" / "toy.ipynb")
    code, log = run_nbgrader(["generate_assignment", "toy", "--force", "--no-db"], course)
    assert code == 0, log
    release = nbformat.read(course / "exercises" / "toy" / "toy.ipynb", 4)
    subs = {
        "honest": _submission(release),
        # right for the integers of the in-kernel tests, wrong for tensors
        "ints_only": _submission(release, double="return 2 * x if isinstance(x, int) else x"),
        # every later cell (tests and the export) becomes `pass`
        "transformer": _submission(
            release,
            double="return 0",
            before="get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n",
        ),
    }
    for student, nb in subs.items():
        (course / "submitted" / student / "toy").mkdir(parents=True)
        nbformat.write(copy.deepcopy(nb), course / "submitted" / student / "toy" / "toy.ipynb")
    report = grade_assignment("toy", course, echo=None, feedback=False, evaluator=EVALUATOR)
    return report, course


@pytest.mark.slow
def test_held_out_tiers_come_from_the_graders_evaluation(graded):
    report, _ = graded
    assert {r.student: r.code_score for r in report.results} == EXPECTED
    assert not report.result("honest").flags
    flags = " ".join(report.result("ints_only").flags)
    assert "test_double: its own tests gave 2 points, the grader's clean evaluation 0" in flags
    flags = " ".join(report.result("transformer").flags)
    assert "the grader's clean evaluation 0 (no exported model (doubler.pt))" in flags


@pytest.mark.slow
def test_a_broken_export_is_reported_not_raised():
    _needs_sandbox()
    passed, reason = evaluate_export(EVALUATOR, b"not a TorchScript file", seed=1)
    assert passed is None and "the grader's evaluation failed" in reason


@pytest.mark.slow
def test_the_pes_evaluator_scores_the_exported_potential_itself(tmp_path):
    """The PES tiers come from the exported TorchScript potential, on configurations drawn
    with the grader's seed: the reference PES reaches every tier, a constant none."""
    _needs_sandbox()
    import torch

    from course_grader.heldout import EVALUATORS
    from course_utils.checks.pes_refit import PES_RMSE_TIERS
    from course_utils.pes import ReferencePotential

    evaluator = EVALUATORS["pes_refit"]
    example = torch.rand(4, 2, 3, dtype=torch.float64) + 1.0
    exact, constant = tmp_path / "exact.pt", tmp_path / "constant.pt"
    torch.jit.trace(ReferencePotential(), example, check_trace=False).save(str(exact))

    class Constant(torch.nn.Module):
        def forward(self, positions):
            return positions[:, 0, 0] * 0.0

    torch.jit.trace(Constant(), example).save(str(constant))
    tiers = {f"test_rmse_{t:.0f}" for t in PES_RMSE_TIERS}
    passed, reason = evaluate_export(evaluator, exact.read_bytes(), seed=12345)
    assert reason is None and passed == dict.fromkeys(tiers, True)
    passed, reason = evaluate_export(evaluator, constant.read_bytes(), seed=12345)
    assert reason is None and passed == dict.fromkeys(tiers, False)
