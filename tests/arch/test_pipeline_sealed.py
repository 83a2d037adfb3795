"""The write pipeline (``trackwell._pipeline``) is sealed: it is handed what it encodes
and uploads (``_pipeline/ports.py``), and imports none of the layers built on it."""

from __future__ import annotations

from pathlib import Path

from tests.arch.test_import_graph import ROOT, _imported, _modules

FORBIDDEN = (
    "trackwell.artifacts",
    "trackwell.api",
    "trackwell.media",
    "trackwell.table",
    "trackwell.run",
    "trackwell.session",
)


def _pipeline_modules() -> dict[str, Path]:
    mods = _modules(ROOT / "core" / "src", "trackwell")
    return {name: path for name, path in mods.items() if name.split(".")[:2] == ["trackwell", "_pipeline"]}


def test_the_pipeline_imports_no_caller_side_layer() -> None:
    bad = [
        f"{name} imports {target}"
        for name, path in _pipeline_modules().items()
        for target in _imported(name, path)
        if any(target == f or target.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert not bad, "\n".join(sorted(set(bad)))


def test_op_codes_are_named_once() -> None:
    """The queue's op codes are spelled only in ``_pipeline/ops.py``: no module appends a
    tuple that starts with a string literal to a queue."""
    import ast

    core = ROOT / "core" / "src" / "trackwell"
    bad = []
    for path in core.rglob("*.py"):
        if path.name == "ops.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append"
                and "queue" in ast.unparse(node.func.value).lower()
                and node.args
                and isinstance(node.args[0], ast.Tuple)
                and node.args[0].elts
                and isinstance(node.args[0].elts[0], ast.Constant)
            ):
                bad.append(f"{path.relative_to(core)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    pkg = tmp_path / "trackwell" / "_pipeline"
    pkg.mkdir(parents=True)
    (tmp_path / "trackwell" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "w.py").write_text("def f():\n    from trackwell.media.base import Media\n")
    assert list(_imported("trackwell._pipeline.w", pkg / "w.py")) == ["trackwell.media.base"]
