"""The server's layout holds: routes speak HTTP and call ``storage/`` for every SQL statement.

Read from the source (AST), so a statement slipped into a route fails here whether or not
a test reaches it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import trackwell_server

PACKAGE = Path(trackwell_server.__file__).parent
#: Modules that serve HTTP requests: no SQL of their own.
ROUTE_MODULES = [*sorted((PACKAGE / "routes").rglob("*.py")), PACKAGE / "dashboard" / "views.py"]
SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}


def _sql_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        if func.attr == "execute" or (
            func.attr in SQL_BUILDERS and isinstance(func.value, ast.Name) and func.value.id == "sa"
        ):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(func)}")
    return found


def test_routes_hold_no_sql() -> None:
    found = [call for path in ROUTE_MODULES for call in _sql_calls(path)]
    assert not found, "SQL in a route module (move it into storage/):\n" + "\n".join(found)


def test_the_check_sees_sql() -> None:
    assert _sql_calls(PACKAGE / "storage" / "uploads.py")  # guards the AST walk itself
