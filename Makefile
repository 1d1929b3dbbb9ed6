# Two commands do everything:  `make book`  and  `make test`.
# Both create an isolated environment in .venv on first use and reuse it afterwards.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# PyTorch is installed first, on its own, so its build can be chosen:
#   make book TORCH_INDEX=https://download.pytorch.org/whl/cpu   (CPU-only wheels, ~200 MB)
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
ASSIGNMENTS := digit_classifier pes_refit
EDITION     ?= _build/student-edition

export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install book test test-fast lint lab formgrader release grade benchmark student-edition instructor-only clean help

help:
	@echo "make book     install (once) and build the website into _build/html"
	@echo "make test     install (once), lint, and run the whole test suite (what CI runs)"
	@echo "make test-fast  the unit tests only (no notebooks, no nbgrader pipeline)"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make lab      open the exercises in JupyterLab (students)"
	@echo "make formgrader  JupyterLab at the course root with nbgrader's Formgrader (instructors)"
	@echo "make release  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make grade A=<assignment> [JOBS=N]  autograde submitted/ (N at once, default: all cores) and write grades.csv"
	@echo "make benchmark  check the time budgets (chapters, book, autograding)"
	@echo "make student-edition  write the course without solutions and grading code to $(EDITION)"
	@echo "make clean    remove the build, keep the environment"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[grader,test,dev]"
	$(BIN)/python -m pip check
	@touch $(STAMP)

book: $(STAMP)
	# sphinxcontrib-bibtex does not re-read a cached bibliography page: rebuild every page
	# (execution stays cached) when references.bib is newer than the last build.
	COURSE_PROGRESS=0 $(BIN)/jupyter-book build . $(if $(shell test references.bib -nt _build/html/index.html && echo y),--all)
	@echo "Open _build/html/index.html in a browser."

test: instructor-only $(STAMP) lint
	$(BIN)/python -m pytest --durations=30

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Students and instructors get different Labs: JUPYTER_CONFIG_DIR=lab_config/<who> (see
# lab_config/README.md); JupyterLab's own settings and workspaces stay in ~/.jupyter/lab.
LAB_ENV = JUPYTERLAB_SETTINGS_DIR="$${JUPYTERLAB_SETTINGS_DIR:-$$HOME/.jupyter/lab/user-settings}" \
	JUPYTERLAB_WORKSPACES_DIR="$${JUPYTERLAB_WORKSPACES_DIR:-$$HOME/.jupyter/lab/workspaces}"

lab: $(STAMP)
	JUPYTER_CONFIG_DIR=$(CURDIR)/lab_config/student $(LAB_ENV) \
		$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)/exercises

formgrader: $(STAMP)
	JUPYTER_CONFIG_DIR=$(CURDIR)/lab_config/instructor $(LAB_ENV) \
		$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)

release: instructor-only $(STAMP)
	cd $(CURDIR) && for a in $(ASSIGNMENTS); do \
		$(BIN)/nbgrader generate_assignment $$a --force --no-db || exit 1; done

grade: instructor-only $(STAMP)
	@test -n "$(A)" || { echo "usage: make grade A=<assignment> [JOBS=N] [SCHEDULER=tcp://host:8786]"; exit 2; }
	$(BIN)/python -m course_grader $(A) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

benchmark: instructor-only $(STAMP)
	$(BIN)/python .ci/benchmark.py

# What students get: chapters, exercises, course_utils and the set-up, from the last commit.
student-edition: instructor-only $(STAMP)
	$(BIN)/python -m course_grader.edition $(EDITION) --force

# Targets that need the instructor's files (solutions/, the tests); the student edition has none.
instructor-only:
	@test -d solutions -a -d tests || { \
		echo "make $(MAKECMDGOALS) is for instructors: it needs the full course repository."; exit 2; }

clean:
	rm -rf _build
