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
    infinite_loop   0  the training cell never ends: past the cell time limit, grading
                       fails with that reason, 0 and marked for manual grading
    kills_kernel    0  os._exit in the cost cell: grading fails, 0 and flagged
    not_json        0  a truncated file: grading fails, 0
    cheater         9  wrong sigmoid, untrained, and every trick in the book
                       (same 9 points as without the tricks)
    patcher         0  wrong sigmoid, untrained, and numpy/builtins monkeypatched:
                       every check after the patch fails

All of them are graded in one run of course_grader, which shows that
broken and hostile notebooks do not stop the others from being graded.
"""

import copy

import nbformat
import nbgrader_pipeline as pipeline
import pytest
from nbgrader_pipeline import Exercise, cell, solved_release, variant

from course_utils.checks.digit_classifier import DIGIT_TIERS

POINTS = {
    "test_sigmoid": 2,
    "test_forward": 3,
    "test_n_parameters": 2,
    "test_my_network": 1,
    "test_cost": 2,
    "test_gradient_descent_step": 2,
    "test_model": 2,
    "test_accuracy_85": 2,
    "test_accuracy_90": 2,
    "test_accuracy_94": 2,
}
EXERCISE = Exercise("digit_classifier", POINTS)
TIERS = ("test_accuracy_85", "test_accuracy_90", "test_accuracy_94")
_zero = EXERCISE.zero

EXPECTED = {
    "reference": _zero(),
    "untouched": _zero(*POINTS),
    "wrong_sigmoid": _zero("test_sigmoid", "test_forward"),
    "untrained": _zero(*TIERS),
    "wrong_shape": _zero("test_model", *TIERS),
    "infinite_loop": _zero(*POINTS),
    "kills_kernel": _zero(*POINTS),
    "not_json": _zero(*POINTS),
    "cheater": _zero("test_sigmoid", "test_forward", *TIERS),
    "patcher": _zero(*POINTS),
}
FAILED = {"kills_kernel", "not_json", "infinite_loop"}
FLAGGED = {"kills_kernel", "cheater", "patcher"}

# Typical mistakes, as a student would write them.
WRONG_SIGMOID = "def sigmoid(z):\n    return 1 / (1 + np.exp(z))"
UNTRAINED = "# I ran out of time before training the network.\nmodel.eval()"
WRONG_SHAPE = """class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return torch.softmax(self.layers(x), dim=1).T  # one column per digit


torch.manual_seed(0)
model = DigitNet()"""
NEVER_ENDS = "while True:  # waiting for a convergence that never comes\n    pass"
# Tricks that must gain nothing: they redefine the checks in the notebook,
# hide exceptions, try to replace the checks in their module, and (below) edit
# and delete test cells.
TRICKS = """
def assert_close(*args, **kwargs):
    pass


def check_accuracy_tier(*args, **kwargs):
    pass


quiet = check_digit_model = assert_equal = check_accuracy_tier
get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
import course_utils.checks.digit_classifier
try:
    course_utils.checks.digit_classifier.check_accuracy_tier = check_accuracy_tier
except AttributeError:
    pass
"""
PATCHES = """
import builtins
np.allclose = lambda *args, **kwargs: True
builtins.abs = lambda x: 0
"""


def _submissions():
    _, release, solved = solved_release(EXERCISE)
    subs = {
        "reference": solved,
        "untouched": copy.deepcopy(release),
        "wrong_sigmoid": variant(solved, sigmoid=WRONG_SIGMOID),
        "untrained": variant(solved, training=UNTRAINED),
        "wrong_shape": variant(solved, model=WRONG_SHAPE),
        "infinite_loop": variant(solved, training=NEVER_ENDS),
        "kills_kernel": variant(
            solved, cost="import os\nos._exit(1)\n" + cell(solved, "cost").source
        ),
        "cheater": variant(solved, sigmoid=WRONG_SIGMOID + "\n" + TRICKS, training=UNTRAINED),
        "patcher": variant(solved, sigmoid=WRONG_SIGMOID + "\n" + PATCHES, training=UNTRAINED),
    }
    cheater = subs["cheater"]
    for grade_id in ("test_sigmoid", "test_accuracy_94"):
        cell(cheater, grade_id).source = "pass"
        cell(cheater, grade_id).metadata.nbgrader.points = 100
    cheater.cells.remove(cell(cheater, "test_forward"))
    texts = {student: nbformat.writes(nb) for student, nb in subs.items()}
    texts["not_json"] = texts["reference"][:2000]  # a notebook truncated mid-save
    return texts


class TestDigitClassifier(pipeline.ExerciseTests):
    exercise = EXERCISE
    expected = EXPECTED
    tiers, tier_values = TIERS, DIGIT_TIERS
    tier_call = r"check_accuracy_tier\(model, ([0-9.]+)\)"
    # The reference's training cell takes about 8 s on a busy 2-core machine (one thread):
    # 60 s per cell is plenty and keeps the infinite loop from costing the course's 120 s.
    extra_config = "\nc.Execute.timeout = 60\n"
    feedback_says = {
        "untrained": "below the 85% tier",
        "wrong_shape": "but it returns shape (10, 16)",
        "reference": "the 94% tier is reached",
        "patcher": "this notebook has replaced",
    }
    wrong_answer = {"sigmoid": WRONG_SIGMOID}
    wrong_answer_errors = (  # test_sigmoid, and test_forward that uses sigmoid
        "sigmoid of the lecture's sums (-1.9, 3.1, -0.4) should be",
        "the hidden layer of the lecture's example should be",
    )

    def submissions(self):
        return _submissions()

    def tier_prose(self, tier):
        return f"at least {tier:.0%}".replace("%", " %")

    @pytest.mark.slow
    def test_everyone_is_graded_or_reported(self, graded):
        report, _ = graded
        pipeline.check_graded_or_reported(
            report,
            EXPECTED,
            FAILED,
            {
                "kills_kernel": "kernel died",
                "not_json": "not valid JSON",
                "infinite_loop": "(training) ran past the 60 s limit",
            },
        )

    @pytest.mark.slow
    def test_tricks_are_flagged_and_honest_work_is_not(self, graded):
        report, _ = graded
        assert {r.student for r in report.results if r.flags} == FLAGGED
        cheater = " ".join(report.result("cheater").flags)
        assert "deleted the test or read-only cells test_forward" in cheater
        assert "edited the test or read-only cells test_sigmoid, test_accuracy_94" in cheater
        assert "set_custom_exc" in cheater
        assert "monkeypatching" in " ".join(report.result("patcher").flags)
