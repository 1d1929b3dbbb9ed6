"""Helpers for the course *Neural networks for computational chemistry*.

The package is a set of small modules, each named by its purpose and
imported on its own:

``data``
    Offline data sets: MNIST digits, Lennard-Jones dimer curves.
``plotting``
    ``use_course_style`` and the course's recurring plots.
``explorers``
    Slider explorers precomputed when a notebook runs, working on the static website.
``training``
    A tqdm-instrumented training loop, ``seed_everything``, device choice.
``nn_basics``
    Activation functions, the lecture's worked example, hand-written
    forward and backward passes, optimiser test surfaces.
``models``, ``tuning``
    Models and hyperparameter searches for chapters 4 and 5 (Optuna).
``pes``
    The analytic O2@Pd(100) reference potential energy surface, its
    symmetry-adapted coordinates, data sets and an ASE calculator.
``descriptors``
    Behler-Parrinello atom-centred symmetry functions.
``dynamics``
    Vectorised velocity-Verlet trajectories of O2 hitting Pd(100).
``potentials``
    The contract of a fitted potential (a torch module, positions in Å ->
    energies in eV): ``energy_and_forces`` and the ASE calculator
    ``TorchPotentialCalculator``.
``molecules``, ``schnet``
    An ethanol data set computed with GFN2-xTB (``load_ethanol``) and a small
    SchNet-style message-passing network (chapter 8).
``grading``
    Robust nbgrader autograding for instructors.

Example::

    from course_utils.data import load_digits
    from course_utils.plotting import use_course_style, plot_history
    from course_utils.training import fit, seed_everything

Importing any of them changes no global state: no plot style, no random
seeds, no warning filters and no downloads.  A notebook opts in explicitly,
for example with :func:`course_utils.plotting.use_course_style`.
"""

__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)
