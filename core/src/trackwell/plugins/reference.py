"""The hook reference of ``docs/plugins.md``, generated from ``hookspecs.py``.

The docstrings in ``hookspecs.py`` are the single source: this module renders them as
Markdown between two marker lines of the guide, and a test fails when the guide and
the hookspecs differ. After changing a hook::

    python -m trackwell.plugins.reference docs/plugins.md          # rewrite the section
    python -m trackwell.plugins.reference --check docs/plugins.md  # exit 1 if stale
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackwell.plugins import hookspecs

BEGIN = (
    "<!-- BEGIN HOOK REFERENCE: generated from core/src/trackwell/plugins/hookspecs.py by "
    "`python -m trackwell.plugins.reference docs/plugins.md`; do not edit by hand -->"
)
END = "<!-- END HOOK REFERENCE -->"

_BANNER = re.compile(r"^# -{10,}\n# (?P<title>[^\n]+)\n# -{10,}$", re.M)
_DEF = re.compile(r"^def (?P<name>\w+)\(", re.M)
_FIELD = re.compile(r"^:(?P<kind>param|returns?)(?: (?P<name>\w+))?:\s*(?P<text>.*)$")


def hooks() -> list[tuple[str, Callable[..., Any]]]:
    """Every hookspec as (section title, function), in the order of ``hookspecs.py``."""
    source = inspect.getsource(hookspecs)
    marks: list[tuple[int, str, str]] = [(m.start(), "section", m["title"]) for m in _BANNER.finditer(source)]
    marks += [(m.start(), "def", m["name"]) for m in _DEF.finditer(source)]
    out = []
    section = ""
    for _, kind, value in sorted(marks):
        if kind == "section":
            section = value
            continue
        fn = getattr(hookspecs, value)
        if hasattr(fn, "trackwell_spec"):
            out.append((section, fn))
    return out


def signature(fn: Callable[..., Any]) -> str:
    """``name(arg: Type, ...) -> Return``, as written in ``hookspecs.py``."""
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{fn.__name__}({params}) -> {sig.return_annotation}"


def _inline(text: str) -> str:
    """reStructuredText inline markup to Markdown: ``code`` becomes `code`."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _paragraphs(doc: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in doc.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def render_docstring(doc: str) -> str:
    """A hookspec docstring as Markdown: prose, ``::`` code blocks, then the fields."""
    out: list[str] = []
    fields: list[tuple[str, str | None, str]] = []
    code: list[list[str]] | None = None  # the blocks of an indented ``::`` example
    for block in [*_paragraphs(doc), []]:
        if code is not None:
            if block and block[0].startswith(" "):
                code.append(block)
                continue
            lines = [line for b in code for line in [*b, ""]][:-1]
            indent = min(len(line) - len(line.lstrip()) for line in lines if line)
            out.append("```python\n" + "\n".join(line[indent:] for line in lines) + "\n```")
            code = None
        if not block:
            continue
        if _FIELD.match(block[0]):
            for line in block:
                m = _FIELD.match(line)
                if m:
                    fields.append((m["kind"], m["name"], m["text"]))
                elif fields:  # continuation of the previous field
                    kind, name, text = fields[-1]
                    fields[-1] = (kind, name, f"{text} {line.strip()}")
            continue
        text = " ".join(line.strip() for line in block)
        if text.endswith("::"):
            text = text[:-1]
            code = []
        out.append(_inline(text))
    params = [(name, text) for kind, name, text in fields if kind == "param"]
    returns = [text for kind, _, text in fields if kind.startswith("return")]
    if params:
        out.append("Arguments:\n\n" + "\n".join(f"- `{name}`: {_inline(text)}" for name, text in params))
    if returns:
        out.append("Returns: " + _inline(" ".join(returns)))
    return "\n\n".join(out)


def _options(fn: Callable[..., Any]) -> str:
    opts = getattr(fn, "trackwell_spec", {}) or {}
    notes = []
    if opts.get("firstresult"):
        notes.append("Stops at the first implementation that returns something other than `None`.")
    if opts.get("historic"):
        notes.append("Historic: a plugin registered late is still called with the earlier calls.")
    return " ".join(notes)


def render() -> str:
    """The whole generated section, markers included."""
    parts = [BEGIN, ""]
    section = None
    for title, fn in hooks():
        if title != section:
            parts += [f"### {title}", ""]
            section = title
        parts += [f"#### `{signature(fn)}`", ""]
        parts += [render_docstring(inspect.getdoc(fn) or ""), ""]
        extra = _options(fn)
        if extra:
            parts += [extra, ""]
    parts.append(END)
    return "\n".join(parts)


def generated_section(text: str) -> str | None:
    """The marked section of a guide, markers included; None when the markers are missing."""
    start = text.find(BEGIN)
    end = text.find(END, start)
    if start < 0 or end < 0:
        return None
    return text[start : end + len(END)]


def update(text: str) -> str:
    """The guide with its marked section replaced by a fresh rendering."""
    current = generated_section(text)
    if current is None:
        raise ValueError(f"the guide has no generated hook reference (add the lines {BEGIN!r} and {END!r})")
    return text.replace(current, render())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trackwell.plugins.reference", description=__doc__)
    parser.add_argument("guide", type=Path, help="the Markdown file holding the reference")
    parser.add_argument("--check", action="store_true", help="only check: exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = args.guide.read_text(encoding="utf-8")
    fresh = update(text)
    if args.check:
        if fresh != text:
            print(f"{args.guide}: the hook reference is stale; run without --check", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.guide.write_text(fresh, encoding="utf-8")
        print(f"{args.guide}: hook reference updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
