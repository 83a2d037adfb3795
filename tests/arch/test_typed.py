"""The public API is typed for users: every distribution ships ``py.typed`` in its wheel,
and a user's own mypy, run on a script against the installed package, sees real types.

Without the marker, a user's mypy skips the package ("missing library stubs or py.typed
marker") and ``trackwell.init(...)`` is ``Any``: no mistake in a call is ever reported.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _distributions() -> list[tuple[Path, list[str]]]:
    """(project folder, its top-level packages) of every distribution: those listed once in
    the root pyproject.toml's ``[tool.trackwell.distributions]``, and the plugin template
    (a project to copy: a plugin made from it is typed from the start)."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        listed = tomllib.load(fh)["tool"]["trackwell"]["distributions"]
    out = []
    for folder in [*listed.values(), "plugins/template"]:
        src = ROOT / folder / "src"
        out.append((ROOT / folder, sorted(p.name for p in src.iterdir() if (p / "__init__.py").is_file())))
    return sorted(out)


DISTRIBUTIONS = _distributions()


def test_the_repository_has_its_distributions() -> None:
    """The checks below see every distribution (core, server, integrations, plugins, template)."""
    names = {path.relative_to(ROOT).as_posix() for path, _ in DISTRIBUTIONS}
    assert {"core", "server-lite", "plugins/template", "integrations/torch"} <= names


@pytest.mark.parametrize(
    ("project", "packages"), DISTRIBUTIONS, ids=[p.relative_to(ROOT).as_posix() for p, _ in DISTRIBUTIONS]
)
def test_every_distribution_ships_py_typed(project: Path, packages: list[str], tmp_path: Path) -> None:
    """The marker is in the source tree and in the wheel built from it (hatchling, as pip would)."""
    for package in packages:
        assert (project / "src" / package / "py.typed").is_file(), f"{project.name}: {package}/py.typed"
    wheel_builder = pytest.importorskip("hatchling.builders.wheel")
    [wheel] = list(wheel_builder.WheelBuilder(str(project)).build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in packages:
        assert f"{package}/py.typed" in names, f"{Path(wheel).name} lacks {package}/py.typed"


USER_SCRIPT = """\
import trackwell

run = trackwell.init(project="typed", mode="offline")
reveal_type(run)
reveal_type(trackwell.Artifact("data", "dataset"))
run.log(1)
run.log({"loss": 0.5})
run.finish()
"""


def test_a_users_mypy_sees_the_types(tmp_path: Path) -> None:
    """mypy, in a folder of its own (no project config), checking a user's script against
    the trackwell installed in this interpreter: ``init`` returns ``Run`` (not ``Any``),
    a lazily exported class is its real class, and a wrong call is reported."""
    pytest.importorskip("mypy")
    script = tmp_path / "train.py"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--python-executable", sys.executable,
         "--cache-dir", str(tmp_path / "cache"), "--no-incremental", "--show-error-codes", script.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert "import-untyped" not in out, out
    assert 'train.py:4: note: Revealed type is "trackwell.run.Run"' in out, out
    assert 'train.py:5: note: Revealed type is "trackwell.artifacts.artifact.Artifact"' in out, out
    assert 'train.py:6: error: Argument 1 to "log" of "Run" has incompatible type "int"' in out, out
    assert "train.py:7" not in out, out  # the right call passes
    assert proc.returncode == 1, out
