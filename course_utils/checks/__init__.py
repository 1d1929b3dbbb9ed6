"""Checks that run inside a student's kernel, one module per nbgrader assignment.

``digit_classifier``, ``pes_refit``
    The functions the test cells of each exercise call, named after the
    assignment id.
``_guard``
    What they share: tamper detection, quiet execution, clear comparisons and
    read-only modules of checks.
``validate``
    The course's *Validate* (command line and JupyterLab button): nbgrader's
    validator with the course's settings from any folder, failing on a cell
    stopped at the time limit.  It runs outside the kernel.
``lab``
    The students' JupyterLab (``make lab``): a pre-save hook that keeps a
    notebook's ``language_info``, so opening an exercise does not modify it.

Only student-facing checks live here; the instructor's grading tool is the
separate package ``course_grader``, which student kernels never import.
"""
