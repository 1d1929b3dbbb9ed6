"""Exercise 2, the neural-network refit of the O2/Pd(100) PES, graded through nbgrader.

Everything runs in a temporary copy of the course (nbgrader_config.py,
solutions/, exercises/): no gradebook or submitted/ folder is ever created in
the repository.

The submissions are what students hand in: the release with its answer cells
filled in, from the reference solution and then broken in typical (or hostile) ways.
Automatic points per test cell (24 in all):

    test_exchange_atoms 1, test_c4v_images 3, test_collision 2, test_inputs 1,
    test_standardisation 2 (hidden), test_loss 2, test_training 1, test_model 2,
    test_rmse_500 2, test_rmse_250 2, test_rmse_150 2 (hidden, scored by the grader
    from the exported potential on fresh configurations), test_calculator 2,
    test_path 2 (hidden)

and the expected scores, asserted cell by cell in EXPECTED:

    reference     24  everything right; trains 70 epochs on energies and forces
    untouched      0  the release as handed out
    q_inputs       8  Q1..Q10 instead of the atom-centred inputs: the statistics have
                      10 entries, AtomCentredPotential rejects them, everything after fails
    leaky         22  standardisation statistics from training + validation + test
                      points: only the hidden leakage check fails
    untrained     15  the network is never trained (history = []): the visible training
                      check, the error tiers and the path fail
    kj_per_mol    13  energies converted to kJ/mol before standardising: the statistics
                      check, the error tiers and the path fail, and the training (forces
                      in eV/Å over an energy scale in kJ/mol) does not converge
    wrong_shape   11  the network ends in 10 outputs: the training cell stops at its first
                      validation printout (epoch 10 of 70), so the training check fails too,
                      and then the contract, tiers, calculator and path
    flat_targets  14  y_train of shape (4000,) and never trained
    relabeller    15  untrained, and the in-kernel check rewired through the check
                      function's __globals__ so that every in-kernel tier passes: the
                      grader's own evaluation of the exported potential gives 0, flagged

All of them are graded in one run of course_grader.

CALIBRATION of the tiers (course_utils.checks.pes_refit.PES_RMSE_TIERS = 500, 250, 150 meV),
measured with ``fit_potential`` (the reference's loop: Adam, batch 128, lr 3e-3, cosine),
AtomCentredPotential((64, 64)), 4,000 training points, seeds 0-4, energy RMSE on three
fresh test draws (load_pes_dataset("test", seed=101/202/303)), one thread, 2-core machine
under load (the CPU time is the stable number):

    energies + forces, 70 epochs (the reference): 80-140 meV, forces 0.36-0.61 eV/Å,
        17.6-22.3 s CPU per fit
    energies + forces, 40 epochs: 135-218 meV for seeds 0-3, 295-324 meV for seed 4,
        7.5-10.9 s CPU
    energies only, 40 epochs (the chapter-level baseline): 385-435 meV, 4.3-6.9 s CPU

so the baseline reaches the 500 meV tier, a short force fit 250 meV, and the reference
(every seed and draw) 150 meV.
"""

import copy

import nbformat
import nbgrader_pipeline as pipeline
import pytest
from nbgrader_pipeline import Exercise, cell, solved_release, validate, variant

from course_grader.heldout import EVALUATORS
from course_utils.checks.pes_refit import PES_RMSE_TIERS

POINTS = {
    "test_exchange_atoms": 1,
    "test_c4v_images": 3,
    "test_collision": 2,
    "test_inputs": 1,
    "test_standardisation": 2,
    "test_loss": 2,
    "test_training": 1,
    "test_model": 2,
    "test_rmse_500": 2,
    "test_rmse_250": 2,
    "test_rmse_150": 2,
    "test_calculator": 2,
    "test_path": 2,
}
EXERCISE = Exercise("pes_refit", POINTS)
TIERS = ("test_rmse_500", "test_rmse_250", "test_rmse_150")
_zero = EXERCISE.zero
_AFTER_MODEL = ("test_training", "test_model", *TIERS, "test_calculator", "test_path")

EXPECTED = {
    "reference": _zero(),
    "untouched": _zero(*POINTS),
    "q_inputs": _zero("test_inputs", "test_standardisation", *_AFTER_MODEL),
    "leaky": _zero("test_standardisation"),
    "untrained": _zero("test_training", *TIERS, "test_path"),
    "kj_per_mol": _zero("test_standardisation", "test_training", *TIERS, "test_path"),
    "wrong_shape": _zero("test_training", "test_model", *TIERS, "test_calculator", "test_path"),
    "flat_targets": _zero("test_inputs", "test_training", *TIERS, "test_path"),
    "relabeller": _zero("test_training", *TIERS, "test_path"),
}
FLAGGED = {"relabeller"}

# Typical mistakes, as a student would write them.
SHORT_TRAINING = (
    "epochs, batch_size, lr = 70, 128, 3e-3",
    "epochs, batch_size, lr = 20, 128, 3e-3",
)
UNTRAINED = "# I ran out of time before training the network.\nhistory = []\npotential.eval()"
LEAKY_STATISTICS = """
coords_test, E_test = load_pes_dataset("test", return_X_y=True)
f_all = atom_centred_features(to_cartesian(np.concatenate([coords_train, coords_val, coords_test])))
E_all = np.concatenate([E_train, E_val, E_test])
x_mean, x_std = f_all.mean(axis=0), f_all.std(axis=0)  # statistics of every point we have
y_mean, y_std = float(E_all.mean()), float(E_all.std())
"""
KJ_PER_MOL = """
E_train = E_train * 96.485  # kJ/mol are the units I know from chemistry
E_val = E_val * 96.485
"""
WRONG_SHAPE_MODEL = """torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(39, 64), torch.nn.SiLU(), torch.nn.Linear(64, 10))
potential = AtomCentredPotential(x_mean=x_mean, x_std=x_std, y_mean=y_mean, y_std=y_std, net=net)
"""
# Tampering with the in-kernel check: the check function's module globals are a plain
# dict, whatever the module's read-only attributes say.
RELABEL = """
import course_utils.checks.pes_refit as checks

checks.check_rmse_tier.__globals__["held_out_rmse"] = lambda potential: 0.0
"""


def _submissions():
    _, release, solved = solved_release(EXERCISE)
    standardise = cell(solved, "standardise").source
    short_training = cell(solved, "training").source.replace(*SHORT_TRAINING)
    assert short_training != cell(solved, "training").source
    flat = standardise.replace(
        "y_train = as_tensor((E_train - y_mean) / y_std).reshape(-1, 1)",
        "y_train = as_tensor((E_train - y_mean) / y_std)",
    )
    assert flat != standardise
    subs = {
        "reference": solved,
        "untouched": copy.deepcopy(release),
        "q_inputs": variant(
            solved,
            standardise=standardise.replace(
                "atom_centred_features(P_train)", "symmetry_coordinates(coords_train)"
            ).replace("atom_centred_features(P_val)", "symmetry_coordinates(coords_val)"),
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
        "flat_targets": variant(solved, standardise=flat, training=UNTRAINED),
        "relabeller": variant(solved, training=UNTRAINED + "\n" + RELABEL),
    }
    return {student: nbformat.writes(nb) for student, nb in subs.items()}


class TestPesRefit(pipeline.ExerciseTests):
    exercise = EXERCISE
    expected = EXPECTED
    tiers, tier_values = TIERS, PES_RMSE_TIERS
    tier_call = r"check_rmse_tier\(potential, ([0-9.]+)\)"
    # The per-cell limit stays at the course's 120 s: the reference trains in about 20 s CPU.
    feedback_says = {
        "reference": "the 150 meV tier is reached",
        "q_inputs": "Ten values suggest the symmetry coordinates",
        "leaky": "let information about those points leak",
        "untrained": "the training stopped early",
        "kj_per_mol": "Keep energies in eV",
        "wrong_shape": "but it returned shape (4000, 10)",
        "flat_targets": "y_train should have shape (4000, 1), but it has shape (4000,).",
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
        assert EVALUATORS["pes_refit"].tiers == TIERS

    def test_release_contains_no_solution_or_hidden_test(self):
        source = pipeline.check_release_hides_solutions(EXERCISE)
        assert 'load_pes_dataset("test"' not in cell(source, "training").source

    def test_the_export_cell_writes_what_the_grader_evaluates(self):
        source = nbformat.read(EXERCISE.source, as_version=4)
        export = cell(source, "export_model")
        assert export.metadata.nbgrader["locked"] and not export.metadata.nbgrader["grade"]
        assert f'"{EVALUATORS["pes_refit"].export}"' in export.source
        assert "torch.jit.trace(potential" in export.source

    @pytest.mark.slow
    def test_everyone_is_graded(self, graded):
        report, _ = graded
        assert sorted(r.student for r in report.results) == sorted(EXPECTED)
        assert not report.failed, [(r.student, r.error) for r in report.failed]
        assert report.grades_csv is not None and not report.problems

    @pytest.mark.slow
    def test_tampering_gains_nothing_on_the_trusted_tiers(self, graded):
        report, _ = graded
        assert {r.student for r in report.results if r.flags} >= FLAGGED
        assert not report.result("reference").flags
        flags = " ".join(report.result("relabeller").flags)
        for tier in TIERS:
            assert f"{tier}: its own tests gave 2 points, the grader's clean evaluation 0" in flags

    @pytest.mark.slow
    def test_validate_button_checks_the_visible_tests(self, tmp_path, monkeypatch):
        """Validate: an untrained notebook fails the visible training check (and nothing
        else), and a wrong answer is reported with its message too."""
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        monkeypatch.setenv("COURSE_PROGRESS", "0")
        untrained = nbformat.reads(self.submissions()["untrained"], 4)
        wrong = variant(untrained, **self.wrong_answer)
        results = validate(self.exercise, tmp_path, {"untrained": untrained, "wrong": wrong})
        stopped = "history holds the losses of 0 epochs: the training stopped early"
        failed = results["untrained"]["failed"]
        assert len(failed) == 1 and stopped in failed[0]["raw_error"]
        failed = results["wrong"]["failed"]
        assert len(failed) == 2
        assert self.wrong_answer_errors[0] in failed[0]["raw_error"]
        assert stopped in failed[1]["raw_error"]
