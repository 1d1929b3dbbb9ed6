"""pyproject.toml and environment.yml must ask for the same packages and versions."""

import re

import tomllib
import yaml
from conftest import ROOT
from packaging.requirements import Requirement

# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch", "tblite-python": "tblite"}


def _pyproject() -> dict[str, str]:
    """The runtime dependencies and every extra: environment.yml is the full developer set."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        deps += extra
    reqs = [Requirement(d) for d in deps]
    return {r.name.lower(): str(r.specifier) for r in reqs}


def test_test_and_dev_tools_are_extras_not_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {Requirement(d).name.lower() for d in project["dependencies"]}
    tools = {"pytest", "psycopg2-binary", "playwright", "ruff", "pre-commit", "nbstripout"}
    assert not runtime & tools, f"move {sorted(runtime & tools)} to an extra"
    assert {"test", "dev", "grader"} <= set(project["optional-dependencies"])


def _normalise(spec: str) -> str:
    parts = [p.strip() for p in spec.replace(" ", "").split(",") if p.strip()]
    return ",".join(sorted(parts))


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"], "environment.yml should use conda-forge only"
    found: dict[str, str] = {}
    entries = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            entries += [d for d in dep.get("pip", []) if not d.startswith("-")]
        else:
            entries.append(dep)
    for entry in entries:
        match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", entry)
        name, spec = match.group(1).lower(), match.group(2)
        if name in ("python", "pip"):
            continue
        found[CONDA_TO_PYPI.get(name, name)] = spec
    return found


def test_environment_yml_lists_the_same_packages_as_pyproject():
    py, conda = _pyproject(), _environment()
    assert sorted(py) == sorted(conda), (
        f"only in pyproject.toml: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}"
    )


def test_environment_yml_uses_the_same_version_ranges():
    py, conda = _pyproject(), _environment()
    different = {n: (py[n], conda[n]) for n in py if _normalise(py[n]) != _normalise(conda[n])}
    assert not different, f"version ranges differ (pyproject, environment.yml): {different}"


def test_every_dependency_has_an_upper_bound():
    unbounded = [n for n, s in _pyproject().items() if "<" not in s]
    assert not unbounded, f"pin an upper bound for {unbounded}"


def test_environment_yml_installs_the_course_package_and_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-e ." in pip_section
    assert "python=3.11" in env["dependencies"]
