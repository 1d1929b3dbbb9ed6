"""Helpers for the course *Neural networks for computational chemistry*.

The package is a set of small modules, each imported on its own::

    from course_utils.data import load_digits
    from course_utils.plotting import use_course_style, plot_history
    from course_utils.training import fit, seed_everything

Importing any of them changes no global state: no plot style, no random
seeds, no warning filters and no downloads.  A notebook opts in explicitly,
for example with :func:`course_utils.plotting.use_course_style`.
"""

__version__ = "0.1.0"
