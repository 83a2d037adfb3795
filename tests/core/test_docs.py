"""The docs promise every hook: check docs/plugins.md against hookspecs.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from trackwell.plugins import hookspecs

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
