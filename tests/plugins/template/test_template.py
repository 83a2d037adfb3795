"""plugins/template and `trackwell plugins new`: a new plugin installs, is discovered by its
entry point, works in a real run, and passes its own tests out of the box.

The installs go into a throwaway environment layered over the test environment (it sees
every package of the test venv, plus the new plugin): installing into the shared venv
itself would make every other test run in it load the plugin.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trackwell.cli.plugins import register as register_plugins_command
from trackwell.plugins.scaffold import Names, create_plugin, template_dir

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "plugins" / "template"


def invoke(*args: str) -> click.testing.Result:
    group = click.Group("trackwell")
    register_plugins_command(group)
    return CliRunner().invoke(group, ["plugins", *args], catch_exceptions=False)


def test_the_template_is_found_in_the_source_checkout() -> None:
    assert template_dir() == TEMPLATE


@pytest.mark.parametrize(
    ("name", "dist", "module", "plugin"),
    [
        ("slack-digest", "trackwell-slack-digest", "trackwell_slack_digest", "slack_digest"),
        ("trackwell-gpu_watch", "trackwell-gpu-watch", "trackwell_gpu_watch", "gpu_watch"),
        ("Notify", "trackwell-notify", "trackwell_notify", "notify"),
    ],
)
def test_names(name: str, dist: str, module: str, plugin: str) -> None:
    assert Names.from_name(name) == Names(dist, module, plugin)


@pytest.mark.parametrize("bad", ["", "1st", "has space", "x!", "trackwell-", "x-"])
def test_bad_names_are_refused(bad: str, tmp_path: Path) -> None:
    result = invoke("new", bad, "--dir", str(tmp_path))
    assert result.exit_code == 1 and "must be lowercase letters" in result.output


def test_plugins_new_creates_a_renamed_copy_of_the_template(tmp_path: Path) -> None:
    result = invoke("new", "slack-digest", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    dest = tmp_path / "trackwell-slack-digest"
    assert f"created {dest}/" in result.output
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/trackwell_slack_digest/__init__.py",
        "src/trackwell_slack_digest/plugin.py",
        "src/trackwell_slack_digest/py.typed",
        "tests/test_plugin.py",
    ]
    pyproject = (dest / "pyproject.toml").read_text()
    assert 'name = "trackwell-slack-digest"' in pyproject
    assert '[project.entry-points.trackwell]\nslack_digest = "trackwell_slack_digest.plugin"' in pyproject
    for path in dest.rglob("*"):
        if path.is_file():
            assert "example" not in path.read_text().replace("for example", ""), path


def test_plugins_new_refuses_to_overwrite(tmp_path: Path) -> None:
    create_plugin("dup", tmp_path)
    result = invoke("new", "dup", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "already exists" in result.output


# -- installing and running it for real -------------------------------------------------


@pytest.fixture(scope="module")
def overlay_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv that also sees the test venv's packages (trackwell, pytest, hatchling)."""
    root = tmp_path_factory.mktemp("overlay")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # An `import` line in a .pth runs at start-up: addsitedir also runs the test venv's
    # own .pth files (the editable installs of trackwell and its plugins).
    parents = [p for p in {sysconfig.get_paths()["purelib"], *site.getsitepackages()} if os.path.isdir(p)]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    Path(purelib, "_trackwell_test_overlay.pth").write_text(lines)
    yield python


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # offline, and settings isolated from this machine's user (who may have logged in)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_", "PYTEST_"))}
    env.update(
        TRACKWELL_CONFIG_DIR=str(cwd / ".trackwell-config"),
        TRACKWELL_MODE="offline",
        TRACKWELL_SILENT="true",
        TRACKWELL_X_DISABLE_STATS="true",
    )
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _pip_install_editable(python: Path, project: Path) -> None:
    pytest.importorskip("hatchling", reason="the template builds with hatchling (requirements-plugins.txt)")
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(project),
        ],
        cwd=project,
    )


def test_a_new_plugin_installs_is_discovered_and_passes_its_own_tests(
    overlay_python: Path, tmp_path: Path
) -> None:
    project, names = create_plugin("final-state", tmp_path)
    _pip_install_editable(overlay_python, project)

    # discovered through its entry point, with its version and hooks
    listed = json.loads(
        _run([str(overlay_python), "-m", "trackwell", "plugins", "--json"], cwd=tmp_path).stdout
    )
    mine = next(p for p in listed if p["name"] == names.plugin)
    assert mine == {
        "name": "final_state",
        "version": "0.1.0",
        "package": "trackwell_final_state",
        "hooks": ["on_run_finish"],
    }

    # its hook runs in a real run of a user's script
    script = (
        "import trackwell\n"
        "run = trackwell.init(project='demo')\n"
        "run.log({'loss': 0.5})\n"
        "run.finish(exit_code=3)\n"
        "print(trackwell.Api().run(f'{run.project}/{run.id}').summary['final_state/final_state'])\n"
    )
    out = _run([str(overlay_python), "-c", script], cwd=tmp_path).stdout
    assert out.strip().splitlines()[-1] == "failed"

    # and the project's own tests pass as created
    proc = _run([str(overlay_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert "4 passed" in proc.stdout, proc.stdout


def test_the_template_itself_builds_a_wheel_with_its_entry_point(
    overlay_python: Path, tmp_path: Path
) -> None:
    pytest.importorskip("hatchling", reason="the template builds with hatchling (requirements-plugins.txt)")
    _run(
        [
            str(overlay_python),
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(TEMPLATE),
        ],
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("trackwell_example-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read("trackwell_example-0.1.0.dist-info/entry_points.txt").decode()
        names = zf.namelist()
    assert "[trackwell]\nexample = trackwell_example.plugin" in entry_points
    assert "trackwell_example/plugin.py" in names
