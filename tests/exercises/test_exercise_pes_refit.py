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

All of them are graded in one run of course_grader.
"""

import copy

import nbformat
import nbgrader_pipeline as pipeline
import pytest
from nbgrader_pipeline import Exercise, cell, solved_release, variant

from course_utils.checks.pes_refit import PES_RMSE_TIERS

POINTS = {
    "test_exchange_atoms": 1,
    "test_c4v_images": 3,
    "test_collision": 2,
    "test_inputs": 1,
    "test_standardisation": 2,
    "test_model": 2,
    "test_rmse_500": 2,
    "test_rmse_300": 2,
    "test_rmse_250": 2,
    "test_calculator": 2,
    "test_path": 2,
}
EXERCISE = Exercise("pes_refit", POINTS)
TIERS = ("test_rmse_500", "test_rmse_300", "test_rmse_250")
_zero = EXERCISE.zero


EXPECTED = {
    "reference": _zero(),
    "untouched": _zero(*POINTS),
    "naive": _zero(
        "test_inputs", "test_standardisation", "test_model", *TIERS, "test_calculator", "test_path"
    ),
    "leaky": _zero("test_standardisation"),
    "untrained": _zero(*TIERS, "test_path"),
    "kj_per_mol": _zero("test_standardisation", *TIERS, "test_path"),
    "wrong_shape": _zero("test_model", *TIERS, "test_calculator", "test_path"),
}

# Typical mistakes, as a student would write them.
SHORT_TRAINING = (
    "epochs, batch_size, max_lr = 600, 64, 3e-3",
    "epochs, batch_size, max_lr = 5, 64, 3e-3",
)
UNTRAINED = "# I ran out of time before training the network.\nmodel.eval()"
LEAKY_STATISTICS = """
coords_test, E_test = load_pes_dataset("test", return_X_y=True)
Q_all = symmetry_coordinates(np.concatenate([coords_train, coords_val, coords_test]))
E_all = np.concatenate([E_train, E_val, E_test])
x_mean, x_std = Q_all.mean(axis=0), Q_all.std(axis=0)  # statistics of every point we have
y_mean, y_std = float(E_all.mean()), float(E_all.std())
"""
KJ_PER_MOL = """
E_train = E_train * 96.485  # kJ/mol are the units I know from chemistry
E_val = E_val * 96.485
"""
WRONG_SHAPE_MODEL = """torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(10, 128), nn.SiLU(),
    nn.Linear(128, 128), nn.SiLU(),
    nn.Linear(128, 10),
)"""


def _submissions():
    _, release, solved = solved_release(EXERCISE)
    standardise = cell(solved, "standardise").source
    short_training = cell(solved, "training").source.replace(*SHORT_TRAINING)
    assert short_training != cell(solved, "training").source
    subs = {
        "reference": solved,
        "untouched": copy.deepcopy(release),
        "naive": variant(
            solved,
            standardise=standardise.replace("(coords_train)", "(coords_train, naive=True)").replace(
                "(coords_val)", "(coords_val, naive=True)"
            ),
            model=cell(solved, "model").source.replace("nn.Linear(10, 128)", "nn.Linear(7, 128)"),
            training=short_training,
        ),
        "leaky": variant(
            solved,
            standardise=standardise.replace(
                "x_train = as_tensor", LEAKY_STATISTICS.strip() + "\n\n\nx_train = as_tensor", 1
            ),
        ),
        "untrained": variant(solved, training=UNTRAINED),
        "kj_per_mol": variant(
            solved, standardise=KJ_PER_MOL.strip() + "\n" + standardise, training=short_training
        ),
        "wrong_shape": variant(solved, model=WRONG_SHAPE_MODEL, training=short_training),
    }
    return {student: nbformat.writes(nb) for student, nb in subs.items()}


class TestPesRefit(pipeline.ExerciseTests):
    exercise = EXERCISE
    expected = EXPECTED
    tiers, tier_values = TIERS, PES_RMSE_TIERS
    tier_call = r"check_rmse_tier\(model, x_mean, x_std, y_mean, y_std, ([0-9.]+)\)"
    # The per-cell limit stays at the course's 120 s: the reference trains in 30-45 s.
    feedback_says = {
        "reference": "the 250 meV tier is reached",
        "naive": "Seven values suggest the naive coordinates",
        "leaky": "let information about those points leak",
        "untrained": "above the 500 meV tier",
        "kj_per_mol": "Keep energies in eV",
        "wrong_shape": "but it returns shape (4000, 10)",
    }
    wrong_answer = {  # forgets that phi turns too
        "exchange_atoms": (
            "def exchange_atoms(coords):\n    swapped = np.array(coords, dtype=float)\n"
            "    swapped[..., 4] = np.pi - swapped[..., 4]\n    return swapped"
        )
    }
    wrong_answer_errors = ("the atom positions of exchange_atoms(one) (atoms swapped) should be",)
    validate_env = {"COURSE_PROGRESS": "0"}

    def submissions(self):
        return _submissions()

    def tier_prose(self, tier):
        return f"RMSE at most {tier:.0f} meV"

    def test_release_and_source_hold_the_same_cells(self):
        source = pipeline.check_same_cells(EXERCISE)
        intro = cell(source, "intro").source
        assert f"{sum(POINTS.values())} graded automatically, 4 by an instructor" in intro

    def test_hidden_tiers_are_the_documented_ones(self):
        super().test_hidden_tiers_are_the_documented_ones()
        assert [f"test_rmse_{t:.0f}" for t in PES_RMSE_TIERS] == list(TIERS)

    def test_release_contains_no_solution_or_hidden_test(self):
        source = pipeline.check_release_hides_solutions(EXERCISE)
        assert 'load_pes_dataset("test"' not in cell(source, "training").source

    @pytest.mark.slow
    def test_everyone_is_graded(self, graded):
        report, _ = graded
        assert sorted(r.student for r in report.results) == sorted(EXPECTED)
        assert not report.failed, [(r.student, r.error) for r in report.failed]
        assert report.grades_csv is not None and not report.problems
