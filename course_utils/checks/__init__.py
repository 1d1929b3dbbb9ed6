"""Checks that run inside a student's kernel, one module per nbgrader assignment.

``digit_classifier``, ``pes_refit``
    The functions the test cells of each exercise call, named after the
    assignment id.
``_guard``
    What they share: tamper detection, quiet execution, clear comparisons and
    read-only modules of checks.

Only student-facing checks live here; the instructor's grading tool is the
separate package ``course_grader``, which student kernels never import.
"""
