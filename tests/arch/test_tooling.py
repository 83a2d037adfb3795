"""The distributions and test environments are listed once, and every tool agrees with that list.

The list is ``[tool.trackwell]`` in the root pyproject.toml (read through
scripts/distributions.py). tox and ruff cannot read it, so tox.ini and the tool settings
spell the same names out; these checks fail when one of them drifts, when a new
distribution or test directory is added without an environment, or when a script starts
listing distributions by hand again.
"""

from __future__ import annotations

import configparser
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_distributions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_tw_distributions", ROOT / "scripts" / "distributions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


dist = _load_distributions()
ENVS = {**dist.envs(), "lint": dist.lint()}
TOX = configparser.ConfigParser(interpolation=None)
TOX.read(ROOT / "tox.ini")
PYPROJECT = dist.tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_every_distribution_in_the_repository_is_listed() -> None:
    """A directory with a pyproject.toml and sources is a distribution: it must be in the table."""
    found = {}
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        rel = pyproject.parent.relative_to(ROOT)
        if rel.parts[0] in {".venv", ".tox", ".nox", "build"} or rel.as_posix() == "plugins/template":
            continue
        if "template" in rel.parts or not (pyproject.parent / "src").is_dir():
            continue
        for pkg in (pyproject.parent / "src").iterdir():
            if (pkg / "__init__.py").is_file():
                found[pkg.name] = rel.as_posix()
    assert found == dist.distributions()


def test_every_distribution_has_a_test_environment() -> None:
    tested = {path for env in dist.envs().values() for path in env.install}
    assert set(dist.distributions().values()) <= tested


def test_every_test_directory_belongs_to_exactly_one_environment() -> None:
    dirs = sorted(p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    owners = {d: [name for name, env in ENVS.items() if d in env.tests] for d in dirs}
    assert {d: o for d, o in owners.items() if len(o) != 1} == {}
    listed = {d for env in ENVS.values() for d in env.tests}
    assert listed <= set(dirs), f"environments name test directories that do not exist: {listed - set(dirs)}"


def test_tox_ini_has_an_environment_for_each_and_says_what_the_table_says() -> None:
    assert _lines(TOX["tox"]["env_list"].replace(",", "\n")) == list(ENVS)
    for name, env in ENVS.items():
        section = TOX[f"testenv:{name}"]
        deps = (["-c {tox_root}/" + env.constraints] if env.constraints else []) + env.packages
        deps += ["-e {tox_root}/" + path for path in env.install]
        deps += ["-r {tox_root}/" + req for req in env.requirements]
        assert _lines(section["deps"]) == deps, name
        assert section["description"] == env.description, name
        pytest_line = "pytest " + " ".join("tests/" + d for d in env.tests) + " {posargs}"
        assert pytest_line in _lines(section["commands"]), name


def test_the_tool_settings_name_every_distribution() -> None:
    """ruff's and mypy's lists of sources and first-party packages (they cannot read the table)."""
    dists = dist.distributions()
    srcs = {f"{path}/src" for path in dists.values()}
    ruff, mypy = PYPROJECT["tool"]["ruff"], PYPROJECT["tool"]["mypy"]
    assert set(ruff["src"]) - {"benchmarks", "tests"} == srcs
    assert set(ruff["lint"]["isort"]["known-first-party"]) == set(dists)
    assert set(mypy["files"]) == srcs
    assert set(mypy["mypy_path"].split(":")) == srcs


@pytest.mark.parametrize("path", ["noxfile.py", "scripts/_venv.sh", ".ci/run"])
def test_no_script_lists_distributions_by_hand(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    named = [d for d in dist.distributions().values() if d != "core" and d in text]
    assert named == [], f"{path} names {named}: read them from scripts/distributions.py"
