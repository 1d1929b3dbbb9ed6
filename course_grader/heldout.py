"""Scores that do not trust the student's kernel: held-out evaluation in a clean process.

A hidden test in the notebook runs in the student's kernel, after the student's code, which
may have replaced the checks, NumPy, PyTorch or the data loaders.  For the scores that matter
(the held-out tiers), the notebook instead *exports* its model to a file (a read-only cell,
e.g. TorchScript), :func:`course_grader.sandbox.execute_in_sandbox` brings that file back,
and the grader evaluates it itself with :func:`evaluate_export`: a fresh sandbox in which no
student code has run, the grader's own script, the course's untouched checks and data, and a
seed the student never sees (for exercises that draw their test set at grading time).

:func:`apply_trusted_scores` then writes the trusted tier scores into the gradebook; where the
notebook's own tests claimed more, the submission is flagged (tampering gains nothing).

An exercise opts in with an :class:`Evaluator` in :data:`EVALUATORS` (its assignment name ->
evaluator) once its notebook has the export cell: the digit classifier (a fixed held-out
split that ships with the data) and the PES refit (its read-only cell traces the fitted
``potential`` to ``pes_model.pt``; the grader draws 500 fresh test configurations with the
seed only it knows, :func:`course_utils.checks.pes_refit.fresh_test_rmse`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from .sandbox import Limits, run_job


@dataclass(frozen=True)
class Evaluator:
    """How the grader scores an exported model itself.

    ``script`` is Python source that defines ``evaluate(path: str, seed: int) -> dict``
    mapping each tier's grade_id to True (reached) or False; it runs in a fresh sandbox
    with the exported file in its working folder.
    """

    export: str  #: file name the notebook's export cell writes
    script: str  #: the grader's evaluation (see above)
    tiers: tuple[str, ...] = field(default_factory=tuple)  #: grade_ids it scores


#: The digit classifier's evaluation: its read-only cell ``export_model`` writes
#: ``digit_model.pt`` (``torch.jit.trace(model, X_val[:1]).save("digit_model.pt")``).
DIGIT_EVALUATOR = Evaluator(
    export="digit_model.pt",
    script=(
        "def evaluate(path, seed):\n"
        "    import torch\n"
        "    from course_utils.checks.digit_classifier import DIGIT_TIERS, "
        "held_out_digit_accuracy\n"
        "    try:\n"
        "        accuracy = held_out_digit_accuracy(torch.jit.load(path))\n"
        "    except AssertionError:  # a model that breaks the contract reaches no tier\n"
        "        accuracy = 0.0\n"
        "    return {f'test_accuracy_{round(t * 100)}': accuracy >= t for t in DIGIT_TIERS}\n"
    ),
    tiers=("test_accuracy_85", "test_accuracy_90", "test_accuracy_94"),
)

#: The PES refit's evaluation: its read-only cell ``export_model`` traces the fitted
#: ``potential`` (positions (N, 2, 3) in Å -> energies (N,) in eV) to ``pes_model.pt``;
#: the energy RMSE is measured on 500 configurations drawn with the grader's ``seed``.
PES_EVALUATOR = Evaluator(
    export="pes_model.pt",
    script=(
        "def evaluate(path, seed):\n"
        "    import torch\n"
        "    from course_utils.checks.pes_refit import PES_RMSE_TIERS, fresh_test_rmse\n"
        "    try:\n"
        "        error = fresh_test_rmse(torch.jit.load(path), seed)\n"
        "    except AssertionError:  # a potential that breaks the contract reaches no tier\n"
        "        error = float('inf')\n"
        "    return {f'test_rmse_{t:.0f}': error <= t for t in PES_RMSE_TIERS}\n"
    ),
    tiers=("test_rmse_500", "test_rmse_250", "test_rmse_150"),
)

#: Assignment name -> evaluator (an exercise opts in once its notebook exports its model).
EVALUATORS: dict[str, Evaluator] = {
    "digit_classifier": DIGIT_EVALUATOR,
    "pes_refit": PES_EVALUATOR,
}


def evaluate_export(
    evaluator: Evaluator,
    exported: bytes,
    *,
    seed: int | None = None,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    unsafe: bool = False,
) -> tuple[dict[str, bool] | None, str | None]:
    """Run ``evaluator`` on the exported file in a fresh sandbox: ``(tiers, None)`` or
    ``(None, reason)``.  ``seed`` defaults to a fresh random one."""
    seed = secrets.randbits(32) if seed is None else seed
    job = {"script": evaluator.script, "args": [evaluator.export, seed]}
    result, reason, _ = run_job(
        job,
        files={evaluator.export: exported},
        wall_timeout=timeout,
        limits=limits,
        env=env,
        unsafe=unsafe,
    )
    if result is None:
        return None, reason
    if result.get("status") != "ok":
        return None, f"the grader's evaluation failed: {result.get('reason')}"
    value = result.get("value")
    if not isinstance(value, dict):
        return None, f"the grader's evaluation returned {type(value).__name__}, not a dict"
    return {str(k): bool(v) for k, v in value.items()}, None


def apply_trusted_scores(
    db_url: str, assignment: str, student: str, passed: dict[str, bool], why: str = ""
) -> list[str]:
    """Score the tier cells ``passed`` names from the grader's own evaluation; returns flags
    for the cells where the notebook's own tests had claimed more (``why`` added to them)."""
    from nbgrader.api import Gradebook

    flags = []
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.name not in passed:
                    continue
                trusted = float(grade.max_score) if passed[grade.name] else 0.0
                claimed = grade.auto_score
                if claimed is not None and claimed > trusted:
                    flags.append(
                        f"{grade.name}: its own tests gave {claimed:g} points, the grader's "
                        f"clean evaluation {trusted:g} ({why or 'tampered checks or data?'})"
                    )
                grade.auto_score = trusted
                grade.needs_manual_grade = False
        gb.db.commit()
    return flags
