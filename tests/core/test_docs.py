"""The docs promise every hook: check docs/plugins.md against hookspecs.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from trackwell.plugins import hookspecs, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hooks() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "trackwell_spec")
    }


def _signature_text(name: str, sig: inspect.Signature) -> str:
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#### `(\w+)\(", text, flags=re.M))
    hooks = _hooks()
    assert documented == set(hooks), "docs/plugins.md and hookspecs.py list different hooks"
    for name, sig in hooks.items():
        assert f"#### `{_signature_text(name, sig)}`" in text, f"signature of {name} differs"


def test_the_hook_reference_is_generated_from_hookspecs() -> None:
    """The section is exactly what hookspecs.py renders to: it cannot drift."""
    section = reference.generated_section(DOC.read_text(encoding="utf-8"))
    assert section is not None, "docs/plugins.md lost its generated hook reference markers"
    assert section == reference.render(), (
        "docs/plugins.md is stale: run `python -m trackwell.plugins.reference docs/plugins.md`"
    )


def test_every_hook_is_in_the_reference_in_source_order() -> None:
    rendered = [fn.__name__ for _, fn in reference.hooks()]
    assert sorted(rendered) == sorted(_hooks())
    assert all(section for section, _ in reference.hooks()), "every hook sits under a banner"


def test_reference_check_command(tmp_path: Path) -> None:
    stale = tmp_path / "plugins.md"
    stale.write_text(f"# Guide\n\n{reference.BEGIN}\nold\n{reference.END}\n", encoding="utf-8")
    assert reference.main(["--check", str(stale)]) == 1
    assert reference.main([str(stale)]) == 0
    assert reference.main(["--check", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8").startswith("# Guide\n\n" + reference.BEGIN)


def test_the_plugin_testing_example_passes_as_written(tmp_path: Path) -> None:
    """The example in docs/plugins.md runs with the fixtures trackwell ships (pytest11)."""
    import subprocess
    import sys

    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Testing a plugin", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "test_example.py").write_text(example, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_example.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
