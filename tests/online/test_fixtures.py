"""The server fixtures trackwell ships (pytest11), and their example in docs/plugins.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
#: Only trackwell's pytest plugin: other installed ones (schemathesis, ...) take seconds to load.
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "trackwell.testing"]
ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def test_the_online_fixture_example_passes_as_written(tmp_path: Path) -> None:
    pytest.importorskip(
        "trackwell_server.testing", reason="the trackwell server (server-lite) is not installed"
    )
    section = DOC.read_text(encoding="utf-8").split("## Testing a plugin", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]
    (example,) = [code for code in blocks if "online_run" in code]
    (tmp_path / "test_example.py").write_text(example, encoding="utf-8")
    proc = subprocess.run(
        [*PYTEST, "-p", "trackwell_server.pytest_plugin", str(tmp_path / "test_example.py")],
        capture_output=True, text=True, cwd=tmp_path, env=ENV, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_the_server_fixtures_skip_with_a_reason_without_the_server(tmp_path: Path) -> None:
    (tmp_path / "test_needs_server.py").write_text(
        "def test_it(online_run):\n    raise AssertionError('must not run')\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.modules['trackwell_server'] = None  # as if not installed\n", encoding="utf-8"
    )
    proc = subprocess.run(
        [*PYTEST, "-rs", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=ENV, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout
    assert "the trackwell server is not installed" in proc.stdout
